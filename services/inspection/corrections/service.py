"""Use case of filling-record corrections (更正): a new version of a fill, stored beside the one it
corrects and sealed as a link of its own in the enterprise's chain; and what verification checks
of those links.

Under the enterprise's chain-head lock (the lock every append and the cut-off take) the corrected
version must still be the current one: of two corrections racing for one version, the second
finds it replaced and gets 409 naming the winner. The corrected content goes through ingest's
rules again: an anomaly it newly shows is published as ingest would (each kind once per fill).

The daily cut-off looks at the records as they stand when it runs: a correction that moves a fill
to another business date covers that date, and leaves the old one uncovered if no other current
record is left on it. What a cut-off already published stands: a correction neither reports a
late arrival nor withdraws a filling_records.missing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection import access
from services.inspection.chain import repository as chain_repo
from services.inspection.chain import service as chain
from services.inspection.chain.service import ContentCheck
from services.inspection.context import InspectionContext
from services.inspection.corrections import repository as repo
from services.inspection.corrections.schemas import FillingCorrectionIn
from services.inspection.domain import anomalies as rules
from services.inspection.domain.chain import Broken, Link, payload_text
from services.inspection.domain.corrections import (
    FILL_KEY,
    FILLING_CORRECTION,
    anomaly_kinds,
    changed_fields,
    cleared_kinds,
    corrected,
    correction_content,
    lines_to_raise,
    raised_by_version,
)
from services.inspection.domain.records import rejection
from services.inspection.errors import (
    conflict,
    enterprise_not_found,
    field_error,
    not_allowed_now,
    not_found,
    superseded_record,
)
from services.inspection.ledger import repository as ledger
from services.inspection.records import repository as records_repo
from services.inspection.records.service import anomaly_event, anomaly_lines, day_bounds, filling_out
from services.inspection.repository import audit
from shared.contracts.inspection import FILLING_RECORD_CORRECTED, FillingRecordCorrected
from shared.locality import business_date


async def correct_filling_record(ctx: InspectionContext, record_id: int, body: FillingCorrectionIn
                                 ) -> dict[str, Any]:
    """Store the correction of one version of a filling record: 404 unknown, 403 unless the
    caller may write the enterprise's records, 422 when it changes nothing, 409 when the version
    was corrected already, filled_at lies in the future, or another fill holds the corrected key."""
    session, now = ctx.session, ctx.now()
    held = await records_repo.get_filling_record(session, record_id)
    if held is None:
        raise not_found("filling record", str(record_id))
    uscc = held["enterprise_uscc"]
    enterprise = await ledger.get_enterprise(session, uscc)
    if enterprise is None:
        raise enterprise_not_found(uscc)
    access.ensure_may_write_for(ctx.principal, uscc, enterprise["jurisdiction_code"])
    values = corrected(held, body.changes())
    changed = _refuse_bad_values(ctx, held, values)

    head = await chain_repo.lock_head(session, uscc, now)
    versions = await _current_versions(ctx, held, values, changed)
    found = await _anomalies(ctx, uscc, values)
    row = {**values, "enterprise_uscc": uscc, "filled_at": values["filled_at"].astimezone(UTC),
           "business_date": business_date(values["filled_at"]), "filled_mass_kg": float(values["filled_mass_kg"]),
           "batch_id": str(uuid.uuid4()), "received_at": now, "anomalies": found,
           "chain_sequence": head["sequence"] + 1, "version": held["version"] + 1, "corrects_id": held["id"],
           "original_id": versions[0]["id"], "correction_reason": body.reason, "corrected_by": ctx.actor}
    row["id"] = await repo.insert_correction(session, row)
    [link] = await chain.append(ctx, uscc, FILLING_CORRECTION, [correction_content(row)], [held["chain_sequence"]],
                                head=head)
    assert link.sequence == row["chain_sequence"]

    raised, cleared = await _publish(ctx, held, row, changed, versions)
    await _move_day(ctx, uscc, held, row)
    await audit(session, actor=ctx.actor, action="filling_record.corrected", subject=uscc, detail={
        "record_id": str(row["id"]), "corrects_id": str(held["id"]), "changed": changed, "reason": body.reason})
    return {**filling_out(row), "changed": changed, "raised_anomalies": raised, "cleared_anomalies": cleared,
            "chain": {"enterprise_uscc": uscc, "sequence": link.sequence, "link_hash": link.link_hash}}


def _refuse_bad_values(ctx: InspectionContext, held: RowMapping, values: dict[str, Any]) -> list[str]:
    """The fields the correction changes; 422 for none, and for values ingest would not store
    (409 for a filled_at in the future, as for equipment records: the moment, not the form)."""
    changed = changed_fields(held, values)
    if not changed:
        raise field_error("body", f"changes nothing: record {held['id']} holds these values already; send each "
                                  "field to correct with its corrected value")
    refused = rejection(known_enterprise=True, filled_at=values["filled_at"], filled_mass_kg=values["filled_mass_kg"],
                        now=ctx.now(), max_skew=timedelta(seconds=ctx.settings.max_clock_skew_s),
                        cylinder_no=values["cylinder_no"])
    if refused and refused[0] == "filled_at":
        raise not_allowed_now(f"filled_at {refused[1]}", "filled_at")
    if refused:
        raise field_error(*refused)
    return changed


async def _current_versions(ctx: InspectionContext, held: RowMapping, values: dict[str, Any],
                            changed: list[str]) -> list[RowMapping]:
    """Under the chain-head lock: the fill's versions, ``held`` the current one (else 409 naming
    it), and no other fill's current version recorded with the corrected cylinder and filled_at."""
    original_id = held["original_id"] or held["id"]
    versions = await repo.versions_of(ctx.session, original_id)
    if versions[-1]["id"] != held["id"]:
        raise superseded_record(held["id"], versions[-1]["id"])
    if any(name in changed for name in FILL_KEY):
        other = await repo.current_holder_of_fill(ctx.session, held["enterprise_uscc"], values["cylinder_no"],
                                                  values["filled_at"], original_id)
        if other is not None:
            raise conflict(f"filling record {other} already records cylinder {values['cylinder_no']} filled at "
                           f"{values['filled_at'].isoformat()}: one fill, one record", other_record_id=str(other))
    return versions


async def _publish(ctx: InspectionContext, held: RowMapping, row: dict[str, Any], changed: list[str],
                   versions: list[RowMapping]) -> tuple[list[str], list[str]]:
    """filling_record.corrected, and anomaly_detected for each kind the replaced version did not
    show; the kinds raised and those cleared."""
    uscc, found = row["enterprise_uscc"], row["anomalies"]
    to_raise = lines_to_raise(found, held["anomalies"])
    cleared = cleared_kinds(held["anomalies"], found)
    raised_by = {kind: str(raiser) for kind in cleared if (raiser := raised_by_version(versions, kind)) is not None}
    event = FillingRecordCorrected.model_validate({
        "enterprise_uscc": uscc, "record_id": str(row["id"]), "corrects_id": str(held["id"]),
        "original_id": str(row["original_id"]), "version": row["version"], "reason": row["correction_reason"],
        "changed": changed, "anomalies": anomaly_kinds(found), "cleared": cleared, "raised_by": raised_by,
        "business_date": row["business_date"], "corrected_at": row["received_at"]})
    await ctx.outbox.publish(ctx.session, FILLING_RECORD_CORRECTED, subject=uscc, data=event)
    await ctx.outbox.publish_many(ctx.session, [anomaly_event(uscc, row, line) for line in to_raise])
    return anomaly_kinds("\n".join(to_raise)), cleared


async def _anomalies(ctx: InspectionContext, uscc: str, values: dict[str, Any]) -> str:
    """The corrected content through ingest's rules, against the ledger as it stands now."""
    cylinders, operators = await ctx.ledger_facts.lookup(ctx.session, uscc, None, [values["cylinder_no"]],
                                                         [values["operator_cert_no"]])
    return anomaly_lines(rules.record_anomalies(
        cylinder_no=values["cylinder_no"], filled_at=values["filled_at"], pre_check_passed=values["pre_check_passed"],
        post_check_passed=values["post_check_passed"], operator_cert_no=values["operator_cert_no"],
        cylinder=cylinders.get(values["cylinder_no"]), operator=operators.get(values["operator_cert_no"] or "")))


async def _move_day(ctx: InspectionContext, uscc: str, held: RowMapping, row: dict[str, Any]) -> None:
    """The cut-off's days follow the current records: the new date is covered; the old one only
    while another current record is left on it. No finding is reported or withdrawn here."""
    old_day, new_day = held["business_date"], row["business_date"]
    await records_repo.mark_days(ctx.session, uscc, [new_day], ctx.now())
    if old_day == new_day:
        return
    start, end = day_bounds(old_day, old_day)
    assert start is not None and end is not None
    if not await repo.has_current_records(ctx.session, uscc, start, end):
        await repo.unmark_day(ctx.session, uscc, old_day)


# --- what verification compares with the links (chain.service.verify) ------------------------

class FillingCorrectionCheck:
    """Each filling_correction link's record is still there as sealed; no correction is unsealed."""

    kind = FILLING_CORRECTION

    def __init__(self) -> None:
        self.sealed = 0

    async def check(self, session: AsyncSession, uscc: str, links: Sequence[Link]) -> Broken | None:
        named = {link.sequence: _record_id(link) for link in links}
        held = await repo.records_by_id(session, uscc, [i for i in named.values() if i is not None])
        for link in links:
            self.sealed += 1
            record_id = named[link.sequence]
            row = held.get(record_id) if record_id is not None else None
            if row is None:
                return Broken(link.sequence, f"the filling-record correction link {link.sequence} sealed was deleted")
            if row["chain_sequence"] != link.sequence or payload_text(correction_content(row)) != link.payload:
                return Broken(link.sequence, f"the filling-record correction link {link.sequence} sealed was edited")
        return None

    async def finish(self, session: AsyncSession, uscc: str, length: int) -> Broken | None:
        held = await repo.count_corrections(session, uscc)
        if held != self.sealed:
            return Broken(length + 1, f"{held} filling-record corrections are stored but the chain sealed "
                                      f"{self.sealed}")
        return None


def _record_id(link: Link) -> int | None:
    """The record a correction link names (None when its payload is not a correction's)."""
    try:
        record_id = json.loads(link.payload).get("id")
    except (ValueError, AttributeError):
        return None
    return record_id if type(record_id) is int else None


def content_checks() -> list[ContentCheck]:
    """A fresh set of checks for one verification."""
    return [FillingCorrectionCheck()]
