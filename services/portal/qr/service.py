"""Resolving a scanned token and building what it shows.

Registry publishes no QR-token events, so a token is resolved through its public API
(``GET /api/v1/public/qr/{token}``) and kept with its answer for ``qr_recheck_s``; after that
registry is asked again, so a revoked label stops resolving within that time. When registry
cannot be reached a token seen before still resolves from what was kept; an unseen one is a 503.
Unknown and revoked tokens answer the same friendly 404, and each counts as a probe: a client
past ``probe_misses_per_window`` is answered 429 with Retry-After, as is one past
``lookups_per_minute``. What the page shows comes from the read model (grade, equipment,
ratings), never personal data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

import httpx
import segno
import structlog

from services.portal import access
from services.portal.context import Limits, PortalContext, Resources
from services.portal.domain import labels
from services.portal.domain.grades import inspection_valid, public_grade
from services.portal.errors import registry_unavailable, token_not_found, too_many
from services.portal.models import QrTokenRow
from services.portal.qr import repository as repo
from services.portal.qr.schemas import (
    CategoryOut,
    CommentOut,
    EquipmentOut,
    GradeOut,
    PublicView,
    RatingSummary,
)
from shared.app import ServiceRuntime
from shared.contracts.vocabulary import CATEGORIES, ELEVATOR_EMERGENCY_PHONE, category_family
from shared.locality import business_date
from shared.queries import insert_missing

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Resolved:
    token: str
    kind: str
    uscc: str
    name: str
    equipment: dict[str, Any] | None


@dataclass(frozen=True)
class Shown:
    """What a scanned token shows, as the page reads it and as the JSON answer's bytes: encoded
    once when the entry is cached, not on every lookup; ``pages``: its page as rendered (by
    whether it thanks for a rating), once per entry too."""

    view: PublicView
    json: bytes
    pages: dict[bool, bytes] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, view: PublicView) -> Shown:
        return cls(view, view.model_dump_json().encode())


def _throttle(limits: Limits, now: float, client: str) -> None:
    wait = limits.probe_misses.retry_after(client, now)
    if wait is not None:
        raise too_many("too many unknown QR codes looked up from here; try again later", wait)
    wait = limits.lookups.hit(client, now)
    if wait is not None:
        raise too_many("too many QR codes looked up from here; try again shortly", wait)


def _miss(ctx: PortalContext, client: str) -> Exception:
    ctx.limits.probe_misses.hit(client, ctx.now().timestamp())
    return token_not_found()


async def _ask_registry(ctx: PortalContext, token: str) -> tuple[str, dict[str, Any] | None]:
    """("found", info) | ("unknown", None) | ("revoked", None) | ("unavailable", None)."""
    try:
        async with ctx.registry_client() as client:
            response = await client.get(f"/api/v1/public/qr/{token}")
    except httpx.HTTPError as exc:
        log.warning("portal.registry_unreachable", error=str(exc))
        return "unavailable", None
    if response.status_code == 200:
        return "found", response.json()
    if response.status_code == 404:
        return "unknown", None
    if response.status_code == 410:
        return "revoked", None
    log.warning("portal.registry_answer", status=response.status_code)
    return "unavailable", None


async def _keep(ctx: PortalContext, token: str, info: dict[str, Any] | None, revoked: bool) -> QrTokenRow:
    await insert_missing(ctx.session, QrTokenRow.__table__, [{  # type: ignore[arg-type]
        "token": token, "kind": (info or {}).get("kind", "enterprise"), "uscc": (info or {}).get("uscc", ""),
        "name": (info or {}).get("name", ""), "revoked": revoked, "checked_at": ctx.now()}], key=["token"])
    row = await repo.get_token(ctx.session, token)
    assert row is not None
    if info is not None:
        row.kind, row.uscc, row.name, row.equipment = info["kind"], info["uscc"], info["name"], info.get("equipment")
    row.revoked, row.checked_at = revoked, ctx.now()
    await ctx.session.flush()
    return row


async def resolve(ctx: PortalContext, token: str, client: str | None, *, miss_of: str | None = None) -> Resolved:
    """The subject of a scanned token, or the friendly 404 (unknown or revoked) / 429 / 503.
    ``client`` None: throttled already, or a signed-in caller (printing labels); ``miss_of``
    names the client a miss counts against then."""
    if client is not None:
        _throttle(ctx.limits, ctx.now().timestamp(), client)
    miss_of = miss_of or client
    row = await repo.get_token(ctx.session, token)
    fresh = row is not None and ctx.now() - row.checked_at < timedelta(seconds=ctx.settings.qr_recheck_s)
    if row is None or not fresh:
        outcome, info = await _ask_registry(ctx, token)
        if outcome == "found":
            row = await _keep(ctx, token, info, revoked=False)
        elif outcome == "revoked":
            row = await _keep(ctx, token, None, revoked=True) if row is not None else None
        elif outcome == "unknown":
            if row is not None:
                await ctx.session.delete(row)
            row = None
        elif row is None:
            raise registry_unavailable()
    if row is None or row.revoked:
        raise _miss(ctx, miss_of) if miss_of is not None else token_not_found()
    return Resolved(token=token, kind=row.kind, uscc=row.uscc, name=row.name, equipment=row.equipment)


def remembered(runtime: ServiceRuntime, token: str, client: str) -> Shown | None:
    """The first step of every lookup of a scanned token, in memory only: count it against the
    client's limits (429 past them), then what the token shows if this process remembers it (see
    domain/cache.py), else None: ``remember`` it then, in a unit of work."""
    resources = cast(Resources, runtime.resources)
    now = runtime.clock().timestamp()
    _throttle(resources.limits, now, client)
    return resources.views.get(token, now)


def throttle(runtime: ServiceRuntime, client: str) -> None:
    """Count one lookup against the client's limits (429 past them): ``remembered`` without the
    cache, for a caller that found the view there itself."""
    _throttle(cast(Resources, runtime.resources).limits, runtime.clock().timestamp(), client)


async def remember(ctx: PortalContext, token: str, client: str) -> Shown:
    """What a token ``remembered`` did not hold shows, from the read model (resolving may keep or
    drop the token's row: a miss counts against ``client``), remembered for ``page_cache_s``."""
    resolved = await resolve(ctx, token, None, miss_of=client)
    shown = Shown.of(await view(ctx, resolved))
    ctx.views.put(token, resolved.uscc, shown, ctx.now().timestamp())
    return shown


async def cached_view(ctx: PortalContext, token: str, client: str) -> Shown:
    """Both steps, inside a unit of work the caller holds already (the pages)."""
    return remembered(ctx.runtime, token, client) or await cast(Resources, ctx.runtime.resources).remembering.run(
        token, lambda: remember(ctx, token, client))


async def view(ctx: PortalContext, resolved: Resolved) -> PublicView:
    """What the page and its JSON show, from the read model (and registry's answer for a piece
    of equipment, whose id its public resolution does not give)."""
    session, today = ctx.session, ctx.today()
    unit = await repo.get_enterprise(session, resolved.uscc)
    since = business_date(unit.grade_since) if unit is not None and unit.grade_since else None
    grade = public_grade(unit.grade if unit else None, since, ctx.settings.public_grade_display)
    average, count = await repo.rating_summary(session, resolved.uscc)
    comments = [CommentOut(stars=r.stars, comment=r.comment or "", submitted_date=business_date(r.submitted_at))
                for r in await repo.latest_comments(session, resolved.uscc)]
    out = PublicView(
        kind=resolved.kind,  # type: ignore[arg-type]
        name=(unit.name if unit is not None and unit.name else resolved.name),
        key_supervision=bool(unit.key_supervision) if unit is not None else False,
        grade=GradeOut(display=grade.display, grade=grade.grade, label=grade.label,  # type: ignore[arg-type]
                       meaning=grade.meaning, grade_date=grade.grade_date),
        rating=RatingSummary(average=round(average, 1) if average is not None else None, count=count),
        comments=comments)
    if resolved.kind == "equipment" and resolved.equipment:
        out.equipment = _equipment(resolved.equipment, today)
        if category_family(out.equipment.category) == "3000":
            out.emergency_phone = ELEVATOR_EMERGENCY_PHONE
        return out
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for piece in await repo.equipment_of(session, resolved.uscc):
        totals[piece.category][0] += 1
        totals[piece.category][1] += inspection_valid(piece.status, piece.next_inspection_due, today)
    out.equipment_by_category = [
        CategoryOut(category=code, category_name=CATEGORIES.get(code, ("", ""))[0], count=n, inspection_valid=valid)
        for code, (n, valid) in sorted(totals.items())]
    return out


def _equipment(info: dict[str, Any], today: date) -> EquipmentOut:
    due = date.fromisoformat(info["next_inspection_due"]) if info.get("next_inspection_due") else None
    maintained = info.get("last_maintenance_date")
    return EquipmentOut(
        category=info.get("category", ""),
        category_name=CATEGORIES.get(info.get("category", ""), ("", ""))[0] or info.get("category_name", ""),
        registration_no=info.get("registration_no"), status=info.get("status", ""), next_inspection_due=due,
        inspection_valid=inspection_valid(info.get("status", ""), due, today),
        last_maintenance_date=date.fromisoformat(maintained) if maintained else None)


LABEL_NOTE = "扫码查看该单位信用风险等级与设备检验状态，可评价、反映问题"


async def label(ctx: PortalContext, token: str, size: str) -> labels.Label:
    """The printable label of a code (A6 or sticker), placed, for a regulator covering the unit:
    title, code, name, what scanning shows, 96333 where there are lifts. The SVG and the PDF
    both draw it."""
    access.ensure_label_printer(ctx.principal)
    resolved = await resolve(ctx, token, None)
    unit = await repo.get_enterprise(ctx.session, resolved.uscc)
    access.ensure_covers(ctx.principal, unit.jurisdiction_code if unit else None)
    name = unit.name if unit is not None and unit.name else resolved.name
    per_line = 12 if size == "a6" else 9
    lines, emergency = labels.wrap(name, per_line, 2), None
    if resolved.kind == "equipment" and resolved.equipment:
        category = resolved.equipment.get("category", "")
        lines += [CATEGORIES.get(category, ("", ""))[0] or category]
        lines += [resolved.equipment.get("registration_no") or "未登记"]  # mostly ASCII: one line
        emergency = ELEVATOR_EMERGENCY_PHONE if category_family(category) == "3000" else None
    elif any(category_family(p.category) == "3000" for p in await repo.equipment_of(ctx.session, resolved.uscc)):
        emergency = ELEVATOR_EMERGENCY_PHONE
    code = segno.make_qr(public_url(ctx.settings.public_base_url, token), error="m")
    title = "风险防控码" if resolved.kind == "equipment" else "一企一码"
    return labels.compose(size, title, name, lines, labels.wrap(LABEL_NOTE, per_line + 4, 2), emergency, code.matrix)


def label_svg(ctx: PortalContext, label: labels.Label) -> str:
    """The label as SVG in millimetres."""
    return ctx.render("label.svg", l=label.box, title=label.title, name=label.name, lines=label.lines,
                      code=labels.modules_path(label))


def public_url(base_url: str, token: str) -> str:
    """Where a label's code points: the page registry's URLs name (``/q/{token}``)."""
    return f"{base_url.rstrip('/')}/q/{token}"
