"""QR codes: one per enterprise (一企一码) and one per piece of equipment (风险防控码).

A token is 192 random bits (``secrets.token_urlsafe``): the URL printed on a label cannot be
guessed from a USCC or a registration number. Tokens are issued on first request, revoked
(a lost or defaced label) and reissued; a revoked token answers 410 forever after."""

from __future__ import annotations

import io
import secrets
from collections import defaultdict
from datetime import date
from typing import Literal

import segno
from sqlalchemy.exc import IntegrityError

from services.registry import access
from services.registry.context import RegistryContext
from services.registry.enterprises.service import get_enterprise, read_enterprise
from services.registry.equipment import repository as equipment_repo
from services.registry.errors import conflict, gone, not_found
from services.registry.models import Equipment, QrToken
from services.registry.qr import repository as repo
from services.registry.qr.schemas import PublicCategorySummary, PublicEquipmentInfo, PublicQrInfo, QrOut
from shared.contracts.vocabulary import CATEGORIES, ELEVATOR_EMERGENCY_PHONE, category_family
from shared.db import utcnow

TOKEN_BYTES = 24
ISSUE_ATTEMPTS = 3
QrKind = Literal["enterprise", "equipment"]
LabelFormat = Literal["png", "svg", "pdf"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


def subject_of(kind: QrKind, uscc: str, equipment_id: str | None) -> str:
    return f"equipment:{equipment_id}" if kind == "equipment" else f"enterprise:{uscc}"


def public_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/q/{token}"


def qr_out(ctx: RegistryContext, row: QrToken) -> QrOut:
    return QrOut(token=row.token, url=public_url(ctx.settings.public_base_url, row.token), kind=row.kind,  # type: ignore[arg-type]
                 issued_at=row.issued_at)


async def _issue(ctx: RegistryContext, kind: QrKind, uscc: str, equipment_id: str | None) -> QrToken | None:
    """A new active token, or None when a concurrent request gave the subject one first (the
    unique active subject refuses the second; its savepoint keeps our transaction usable)."""
    row = QrToken(token=secrets.token_urlsafe(TOKEN_BYTES), kind=kind, uscc=uscc, equipment_id=equipment_id,
                  active_subject=subject_of(kind, uscc, equipment_id), issued_at=utcnow(), issued_by=ctx.actor)
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(row)
    except IntegrityError:
        return None
    return row


def _revoke(ctx: RegistryContext, row: QrToken) -> None:
    row.active_subject, row.revoked_at, row.revoked_by = None, utcnow(), ctx.actor


async def _subject(ctx: RegistryContext, kind: QrKind, key: str, *, write: bool) -> tuple[str, str | None]:
    """(uscc, equipment_id) of what the code stands for, after the access check. A write locks
    the subject's row first, so that two reissues or revokes of one code queue."""
    if write:
        await repo.lock_subject(ctx.session, kind, key)
    if kind == "equipment":
        equipment = await equipment_repo.get_equipment(ctx.session, key)
        if equipment is None:
            raise not_found("equipment", key)
        uscc, equipment_id = equipment.uscc, equipment.id
    else:
        uscc, equipment_id = key, None
    enterprise = await get_enterprise(ctx, uscc)
    if write:
        access.ensure_can_keep_ledger(ctx.principal, uscc, enterprise.division_code)
    else:
        await read_enterprise(ctx, uscc)
    return uscc, equipment_id


async def current_token(ctx: RegistryContext, kind: QrKind, key: str) -> QrToken:
    """The active token, issued now if the subject has none."""
    uscc, equipment_id = await _subject(ctx, kind, key, write=False)
    for _ in range(ISSUE_ATTEMPTS):
        row = await repo.active_token(ctx.session, subject_of(kind, uscc, equipment_id))
        if row is None:
            row = await _issue(ctx, kind, uscc, equipment_id)
        if row is not None:
            return row
    raise conflict(f"the QR token of {key} is being issued concurrently; try again")


async def revoke(ctx: RegistryContext, kind: QrKind, key: str) -> QrToken:
    uscc, equipment_id = await _subject(ctx, kind, key, write=True)
    row = await repo.active_token(ctx.session, subject_of(kind, uscc, equipment_id), for_update=True)
    if row is None:
        raise not_found("active QR token of", key)
    _revoke(ctx, row)
    await ctx.session.flush()
    return row


async def reissue(ctx: RegistryContext, kind: QrKind, key: str) -> QrToken:
    """Revoke the current token (if any) and issue a new one: old labels stop working."""
    uscc, equipment_id = await _subject(ctx, kind, key, write=True)
    for _ in range(ISSUE_ATTEMPTS):  # a concurrent reissue's new token is revoked in turn
        current = await repo.active_token(ctx.session, subject_of(kind, uscc, equipment_id), for_update=True)
        if current is not None:
            _revoke(ctx, current)
            await ctx.session.flush()
        row = await _issue(ctx, kind, uscc, equipment_id)
        if row is not None:
            return row
    raise conflict(f"the QR token of {key} is being reissued concurrently; try again")


async def label(ctx: RegistryContext, kind: QrKind, key: str, fmt: LabelFormat) -> bytes:
    """The printable label of the subject's current token (issued now if it has none)."""
    token = await current_token(ctx, kind, key)
    return render_label(public_url(ctx.settings.public_base_url, token.token), fmt, title=f"{kind} {key}")


def render_label(url: str, fmt: LabelFormat, title: str) -> bytes:
    """The printable code (error correction M survives a scuffed sticker)."""
    code = segno.make_qr(url, error="m")
    buffer = io.BytesIO()
    if fmt == "svg":
        code.save(buffer, kind="svg", scale=8, border=4, title=title, desc=url)
    elif fmt == "pdf":
        code.save(buffer, kind="pdf", scale=6, border=4)
    else:
        code.save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


# --- public resolution ---------------------------------------------------------------------------

def _inspection_valid(equipment: Equipment, today: date) -> bool:
    return (equipment.status == "in_use" and equipment.next_inspection_due is not None
            and equipment.next_inspection_due >= today)


async def resolve_public(ctx: RegistryContext, token: str) -> PublicQrInfo:
    """What a scan shows anyone: the unit, its equipment and inspection validity (as of the
    business date); never contacts or personal data. Unknown token → 404, revoked → 410."""
    session, today = ctx.session, ctx.today()
    row = await repo.get_token(session, token)
    if row is None:
        raise not_found("QR token", "")
    if row.revoked_at is not None:
        raise gone("this QR code was revoked; ask the unit for its current label")
    enterprise = await get_enterprise(ctx, row.uscc)
    info = PublicQrInfo(kind=row.kind, uscc=enterprise.uscc, name=enterprise.name,  # type: ignore[arg-type]
                        jurisdiction_code=enterprise.jurisdiction_code, key_supervision=enterprise.key_supervision)
    if row.kind == "equipment":
        equipment = await equipment_repo.get_equipment(session, row.equipment_id or "")
        if equipment is None:
            raise not_found("QR token", "")
        info.equipment = PublicEquipmentInfo(
            category=equipment.category, category_name=CATEGORIES.get(equipment.category, ("", ""))[0],
            registration_no=equipment.registration_no, status=equipment.status,
            next_inspection_due=equipment.next_inspection_due,
            inspection_valid=_inspection_valid(equipment, today),
            last_maintenance_date=equipment.last_maintenance_date)
        if category_family(equipment.category) == "3000":
            info.emergency_phone = ELEVATOR_EMERGENCY_PHONE
        return info
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for equipment in await equipment_repo.equipment_in_use(session, enterprise.uscc):
        totals[equipment.category][0] += 1
        totals[equipment.category][1] += _inspection_valid(equipment, today)
    info.equipment_by_category = [
        PublicCategorySummary(category=code, category_name=CATEGORIES.get(code, ("", ""))[0], count=count,
                              inspection_valid=valid)
        for code, (count, valid) in sorted(totals.items())]
    return info
