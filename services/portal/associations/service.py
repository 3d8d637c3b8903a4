"""Use cases of the association pages: members with their grade and open alerts, notices sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.portal.associations import repository as repo
from services.portal.associations.schemas import MemberOut, NoticeIn, NoticeOut
from services.portal.context import PortalContext
from services.portal.errors import field_error, forbidden
from services.portal.models import Notice, NoticeRecipient
from shared.db import new_uuid
from shared.http.pagination import PageParams, make_page
from shared.locality import business_date


def _association(ctx: PortalContext) -> str:
    """The caller's association: the token's ``sub`` names it (as registry's memberships do)."""
    if ctx.principal.role != "association":
        raise forbidden(f"only an industry association has members here, not a {ctx.principal.describe()}")
    return ctx.principal.sub


async def members(ctx: PortalContext, params: PageParams, after: str | None) -> dict[str, Any]:
    association = _association(ctx)
    rows = await repo.members(ctx.session, association, after, params.limit)
    alerts = await repo.open_alerts(ctx.session, [r.uscc for r in rows[: params.limit]])
    return make_page(rows, params, key_of=lambda r: [r.uscc], to_item=lambda r: MemberOut(
        uscc=r.uscc, name=r.name, jurisdiction_code=r.jurisdiction_code, grade=r.grade,
        grade_date=business_date(r.grade_since) if r.grade_since else None, key_supervision=r.key_supervision,
        open_alerts=len(alerts.get(r.uscc, [])), open_alert_kinds=sorted(set(alerts.get(r.uscc, [])))))


async def send_notice(ctx: PortalContext, notice: NoticeIn) -> NoticeOut:
    """A notice to every member, or to the members named (a non-member named is a 422)."""
    association = _association(ctx)
    current = await repo.member_usccs(ctx.session, association)
    if notice.members is not None:
        strangers = sorted(set(notice.members) - current)
        if strangers:
            raise field_error("members", f"not members of {association}: {', '.join(strangers[:5])}")
        recipients = set(notice.members)
    else:
        recipients = current
    if not recipients:
        raise field_error("members", f"{association} has no members to notify")
    row = Notice(id=new_uuid(), association=association, title=notice.title.strip(), body=notice.body.strip(),
                 sent_at=ctx.now())
    ctx.session.add(row)
    await ctx.session.flush()
    ctx.session.add_all(NoticeRecipient(notice_id=row.id, uscc=u) for u in sorted(recipients))
    await ctx.session.flush()
    return NoticeOut(id=row.id, association=association, title=row.title, body=row.body, sent_at=row.sent_at,
                     recipients=len(recipients))


async def my_notices(ctx: PortalContext, params: PageParams, after: tuple[datetime, str] | None) -> dict[str, Any]:
    """The notices sent to the caller's enterprise, newest first."""
    if ctx.principal.role != "enterprise" or not ctx.principal.enterprise:
        raise forbidden("notices are read by the enterprise they were sent to")
    rows = await repo.notices_for(ctx.session, ctx.principal.enterprise, after, params.limit)
    return make_page(rows, params, key_of=lambda r: [r[0].sent_at.isoformat(), r[0].id], to_item=lambda r: NoticeOut(
        id=r[0].id, association=r[0].association, title=r[0].title, body=r[0].body, sent_at=r[0].sent_at,
        recipients=r[1]))
