"""Who may do what in inspection, and the typed dependencies routers declare. Each check raises
a 403 problem (contract.md §2) before the use case runs.

- enterprise users: their own enterprise only: upload its filling and equipment records, read
  them, verify its chain, declare its closed days ahead of time;
- regulators: read everything of the enterprises in their jurisdiction subtree, record closed
  days there (also after the fact), run the cut-off for their subtree;
- integrators (filling-scale systems, city platforms): by scope, ``inspection:write`` to upload
  records and ``inspection:read`` to read them (a token without scopes may do both), within
  their jurisdiction claim if they carry one;
- admin: everything, including the daily jobs on demand. Associations see nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query
from sqlalchemy.engine import RowMapping

from services.inspection.context import InspectionContext
from services.inspection.errors import enterprise_not_found, field_error, forbidden
from services.inspection.ledger import repository as ledger
from shared.app import request_context
from shared.auth import Principal
from shared.http.pagination import PageParams, page_params
from shared.http.parameters import UsccPath
from shared.locality import jurisdiction_prefix

READ_SCOPE = "inspection:read"
WRITE_SCOPE = "inspection:write"

Ctx = Annotated[InspectionContext, Depends(request_context)]
Uscc = UsccPath
Paging = Annotated[PageParams, Depends(page_params)]


def _require_scope(principal: Principal, *scopes: str) -> None:
    if principal.lacks_integrator_scope(*scopes):
        raise forbidden(f"this integrator token lacks the {' or '.join(scopes)} scope")


def ensure_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles and not principal.is_admin:
        raise forbidden(f"role {principal.role} may not do this; needs one of {', '.join(roles)}")


def ensure_may_read(principal: Principal, uscc: str, jurisdiction_code: str | None) -> None:
    """The enterprise itself, regulators and integrators (read scope) covering it, admin."""
    if principal.role == "association":
        raise forbidden("associations see their members through the association endpoints, not inspection")
    _require_scope(principal, READ_SCOPE, WRITE_SCOPE)
    if not principal.can_access_enterprise(uscc, jurisdiction_code):
        if principal.role == "enterprise":
            raise forbidden(f"{principal.describe()} may see only its own records, not {uscc}")
        raise forbidden(f"{principal.describe()} may not see {uscc}: it lies in {jurisdiction_code}, "
                        "outside its jurisdiction")


def ensure_may_write_records(principal: Principal) -> None:
    """Before the batch is looked at: who uploads records at all."""
    ensure_role(principal, "enterprise", "integrator")
    _require_scope(principal, WRITE_SCOPE)


def ensure_may_write_for(principal: Principal, uscc: str, jurisdiction_code: str | None) -> None:
    """Records of this enterprise: the enterprise itself, an integrator (write scope) covering it."""
    ensure_may_write_records(principal)
    if principal.role == "enterprise" and principal.enterprise != uscc:
        raise forbidden(f"{principal.describe()} may upload only its own records, not {uscc}")
    if principal.role == "integrator" and not principal.covers(jurisdiction_code):
        raise forbidden(f"{principal.describe()} may not upload records of {uscc}: it lies in {jurisdiction_code}, "
                        "outside its jurisdiction")


def ensure_may_declare_closure(principal: Principal, uscc: str, jurisdiction_code: str | None) -> None:
    """The enterprise itself (ahead of time: the use case checks the date), a regulator covering it."""
    ensure_role(principal, "enterprise", "regulator")
    if not principal.can_access_enterprise(uscc, jurisdiction_code):
        raise forbidden(f"{principal.describe()} may not declare closed days of {uscc}")


def cutoff_scope(principal: Principal, jurisdiction_code: str | None = None) -> str | None:
    """The subtree a cut-off run covers: an admin's (and the scheduler's) every unit, a regulator's
    its jurisdiction (as a division-code prefix); narrowed to ``jurisdiction_code`` when named,
    which the principal must cover."""
    ensure_role(principal, "regulator")
    if jurisdiction_code is not None:
        if not principal.covers(jurisdiction_code):
            raise forbidden(f"{principal.describe()} may not run the cut-off of {jurisdiction_code}: outside its "
                            "jurisdiction")
        return jurisdiction_prefix(jurisdiction_code)
    if principal.is_admin:
        return None
    return jurisdiction_prefix(principal.jurisdiction or "")


async def readable_enterprise(ctx: InspectionContext, uscc: str) -> RowMapping:
    """The enterprise if the caller may read its records: 403 before 404, so that an enterprise
    user learns nothing of others; 404 when the ledger does not know it."""
    principal = ctx.principal
    if principal.role == "enterprise" and principal.enterprise != uscc:
        raise forbidden(f"{principal.describe()} may see only its own records, not {uscc}")
    if principal.role == "association":
        raise forbidden("associations see their members through the association endpoints, not inspection")
    _require_scope(principal, READ_SCOPE, WRITE_SCOPE)
    row = await ledger.get_enterprise(ctx.session, uscc)
    if row is None:
        raise enterprise_not_found(uscc)
    ensure_may_read(principal, uscc, row["jurisdiction_code"])
    return row


async def _readable(ctx: Ctx, uscc: Uscc) -> RowMapping:
    return await readable_enterprise(ctx, uscc)


async def _closable(ctx: Ctx, uscc: Uscc) -> RowMapping:
    ensure_role(ctx.principal, "enterprise", "regulator")
    if ctx.principal.role == "enterprise" and ctx.principal.enterprise != uscc:
        raise forbidden(f"{ctx.principal.describe()} may declare closed days only of its own enterprise")
    row = await ledger.get_enterprise(ctx.session, uscc)
    if row is None:
        raise enterprise_not_found(uscc)
    ensure_may_declare_closure(ctx.principal, uscc, row["jurisdiction_code"])
    return row


def _admin(ctx: Ctx) -> InspectionContext:
    ensure_role(ctx.principal, "admin")
    return ctx


def _cutoff_runner(ctx: Ctx) -> InspectionContext:
    cutoff_scope(ctx.principal)
    return ctx


Readable = Annotated[RowMapping, Depends(_readable)]
Closable = Annotated[RowMapping, Depends(_closable)]
AdminCtx = Annotated[InspectionContext, Depends(_admin)]
CutoffCtx = Annotated[InspectionContext, Depends(_cutoff_runner)]


# --- pages ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Paged:
    """A page asked for: its size, and the sort key of the last item already seen (None: first page)."""

    params: PageParams
    after: Any


def _not_issued() -> Exception:
    return field_error("cursor", "not a cursor this API issued")


def _by_time_and_id(params: Paging) -> Paged:
    """Records: (moment, id) of the last one listed."""
    if not params.after:
        return Paged(params, None)
    if len(params.after) != 2 or not isinstance(params.after[0], str) or type(params.after[1]) is not int:
        raise _not_issued()
    try:
        moment = datetime.fromisoformat(params.after[0])
    except ValueError as exc:
        raise _not_issued() from exc
    if moment.tzinfo is None:
        raise _not_issued()
    return Paged(params, (moment, params.after[1]))


def _by_date(params: Paging) -> Paged:
    if not params.after:
        return Paged(params, None)
    if len(params.after) != 1 or not isinstance(params.after[0], str):
        raise _not_issued()
    try:
        return Paged(params, date.fromisoformat(params.after[0]))
    except ValueError as exc:
        raise _not_issued() from exc


def _by_sequence(params: Paging) -> Paged:
    if not params.after:
        return Paged(params, None)
    if len(params.after) != 1 or type(params.after[0]) is not int:
        raise _not_issued()
    return Paged(params, params.after[0])


PageByTime = Annotated[Paged, Depends(_by_time_and_id)]
PageByDate = Annotated[Paged, Depends(_by_date)]
PageBySequence = Annotated[Paged, Depends(_by_sequence)]


def date_range(start: date | None, end: date | None) -> tuple[date | None, date | None]:
    if start and end and end < start:
        raise field_error("to", f"must not be before from ({start})")
    return start, end


FromDate = Annotated[date | None, Query(alias="from", description="first business date (inclusive)")]
ToDate = Annotated[date | None, Query(alias="to", description="last business date (inclusive)")]
RecordId = Annotated[str, Path(pattern=r"^[1-9][0-9]{0,17}$", description="a filling record's id (any version)")]
Versions = Annotated[Literal["current", "all"], Query(description=(
    "current: each fill's latest version (a corrected record appears as its correction); all: every "
    "version stored, the replaced ones with superseded_by_id"))]


# --- self-inspection tasks, hazards, blobs ------------------------------------------------------
# regulators issue tasks and verify hazards within their subtree; the enterprise itself submits,
# assigns its tasks, uploads photos and evidence; readers as for records (ensure_may_read).

def ensure_may_issue(principal: Principal, jurisdiction_code: str) -> None:
    """Tasks and templates: a regulator within its own jurisdiction subtree, admin."""
    ensure_role(principal, "regulator")
    if not principal.covers(jurisdiction_code):
        raise forbidden(f"{principal.describe()} may not issue tasks in {jurisdiction_code}: outside its jurisdiction")


def ensure_may_list(principal: Principal) -> None:
    """Lists are scoped in the repository; these callers may list at all."""
    if principal.role == "association":
        raise forbidden("associations see their members through the association endpoints, not inspection")
    _require_scope(principal, READ_SCOPE, WRITE_SCOPE)


def ensure_enterprise_acts(principal: Principal, uscc: str, what: str) -> None:
    """What only the enterprise itself does (submit a task, upload photos and evidence), or admin."""
    ensure_role(principal, "enterprise")
    if principal.role == "enterprise" and principal.enterprise != uscc:
        raise forbidden(f"{principal.describe()} may {what} only for its own enterprise, not {uscc}")


def ensure_may_verify(principal: Principal, jurisdiction_code: str) -> None:
    ensure_role(principal, "regulator")
    if not principal.covers(jurisdiction_code):
        raise forbidden(f"{principal.describe()} may not verify hazards in {jurisdiction_code}: outside its "
                        "jurisdiction")


async def _uploader(ctx: Ctx, uscc: Uscc) -> RowMapping:
    ensure_enterprise_acts(ctx.principal, uscc, "upload photos")
    row = await ledger.get_enterprise(ctx.session, uscc)
    if row is None:
        raise enterprise_not_found(uscc)
    return row


def _issuer(ctx: Ctx) -> InspectionContext:
    ensure_role(ctx.principal, "regulator")
    return ctx


Uploader = Annotated[RowMapping, Depends(_uploader)]
IssuerCtx = Annotated[InspectionContext, Depends(_issuer)]


def _by_time_and_text(params: Paging) -> Paged:
    """Tasks, templates, hazards, submissions: (moment, id) of the last one listed."""
    if not params.after:
        return Paged(params, None)
    if len(params.after) != 2 or not all(isinstance(v, str) for v in params.after):
        raise _not_issued()
    try:
        moment = datetime.fromisoformat(params.after[0])
    except ValueError as exc:
        raise _not_issued() from exc
    if moment.tzinfo is None:
        raise _not_issued()
    return Paged(params, (moment, params.after[1]))


PageByTimeAndId = Annotated[Paged, Depends(_by_time_and_text)]

