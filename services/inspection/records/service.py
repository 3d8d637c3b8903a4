"""Use cases of records (一记录): filling-record ingest (idempotent per record, anomalies flagged,
each enterprise's stored records sealed by one chain link, late arrivals reported), queries and
CSV export (each fill's current version, or every version: corrections are in ``corrections/``);
equipment usage and maintenance records; the maintenance-lapse check.

Ingest works on whole batches: one lookup of the ledger per enterprise, one of what it stored
already, one bulk insert of the rest, one chain link, one statement for the events."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection import access
from services.inspection.chain import repository as chain_repo
from services.inspection.chain import service as chain
from services.inspection.chain.service import ContentCheck
from services.inspection.context import InspectionContext
from services.inspection.domain import anomalies as rules
from services.inspection.domain import maintenance
from services.inspection.domain.chain import Broken, Link, payload_text
from services.inspection.domain.records import (
    EQUIPMENT_RECORD,
    FILLING_BATCH,
    equipment_content,
    record_key,
    records_hash,
    rejection,
)
from services.inspection.errors import not_allowed_now, not_found
from services.inspection.ledger import repository as ledger
from services.inspection.records import repository as repo
from services.inspection.records.schemas import EquipmentRecordIn, FillingRecordIn
from services.inspection.repository import audit
from shared.contracts.inspection import (
    FILLING_ANOMALY_DETECTED,
    FILLING_RECORDS_ARRIVED_LATE,
    MAINTENANCE_LAPSED,
    FillingRecordsArrivedLate,
    MaintenanceLapsed,
)
from shared.events.spec import EventSpec
from shared.http.pagination import PageParams, make_page
from shared.locality import BUSINESS_TIMEZONE, business_date

PENDING = "pending"  # an event id column's value until the event is staged, in the same transaction

# --- filling records ------------------------------------------------------------------------


async def ingest_filling_records(ctx: InspectionContext, records: Sequence[FillingRecordIn]) -> dict[str, Any]:
    """Store a batch: every record the rules accept, once; 403 (storing nothing) when the caller
    may not write for one of the enterprises it names."""
    principal, now, session = ctx.principal, ctx.now(), ctx.session
    access.ensure_may_write_records(principal)
    usccs = sorted({r.enterprise_uscc for r in records})
    if principal.role == "enterprise":
        for uscc in usccs:
            access.ensure_may_write_for(principal, uscc, None)
    known = await ledger.enterprises_by_uscc(session, usccs)
    for uscc, row in known.items():
        access.ensure_may_write_for(principal, uscc, row["jurisdiction_code"])

    batch_id = str(uuid.uuid4())
    skew = timedelta(seconds=ctx.settings.max_clock_skew_s)
    rejections: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    in_batch_duplicates = 0
    by_enterprise: dict[str, list[FillingRecordIn]] = defaultdict(list)
    for index, record in enumerate(records):
        refused = rejection(known_enterprise=record.enterprise_uscc in known, filled_at=record.filled_at,
                            filled_mass_kg=record.filled_mass_kg, now=now, max_skew=skew,
                            cylinder_no=record.cylinder_no)
        if refused:
            rejections.append({"index": index, "field": refused[0], "reason": refused[1]})
            continue
        key = record_key(record.enterprise_uscc, record.cylinder_no, record.filled_at)
        if key in seen:
            in_batch_duplicates += 1
            continue
        seen.add(key)
        by_enterprise[record.enterprise_uscc].append(record)

    # Lock every chain head first, in USCC order: two batches naming the same enterprises queue
    # instead of deadlocking, and the cut-off (which takes the same lock) sees all or nothing.
    heads = {uscc: await chain_repo.lock_head(session, uscc, now) for uscc in sorted(by_enterprise)}
    stored = anomaly_count = 0
    sealed = []
    for uscc in sorted(by_enterprise):
        sequence = heads[uscc]["sequence"] + 1
        rows = await _store(ctx, uscc, by_enterprise[uscc], batch_id, now, sequence)
        if not rows:
            continue
        stored += len(rows)
        [link] = await chain.append(ctx, uscc, FILLING_BATCH, [{
            "batch_id": batch_id, "records": len(rows), "records_hash": records_hash(rows),
            "first_record_id": rows[0]["id"], "last_record_id": rows[-1]["id"]}], head=heads[uscc])
        assert link.sequence == sequence
        sealed.append({"enterprise_uscc": uscc, "sequence": link.sequence, "link_hash": link.link_hash})
        anomaly_count += await _flag_anomalies(ctx, uscc, rows)
        await _mark_days(ctx, uscc, rows, now)
    received = len(records)
    return {"batch_id": batch_id, "received": received, "stored": stored,
            "duplicate": received - stored - len(rejections), "rejected": len(rejections),
            "rejections": rejections, "anomalies": anomaly_count, "chain": sealed,
            "in_batch_duplicates": in_batch_duplicates}


async def _store(ctx: InspectionContext, uscc: str, records: list[FillingRecordIn], batch_id: str,
                 now: datetime, sequence: int) -> list[dict[str, Any]]:
    """Insert the enterprise's records not stored yet, with their anomalies, each naming
    ``sequence``, the link about to seal them; what this batch stored, as stored (the values
    written, with their ids), in id order. The caller holds the enterprise's chain-head lock, so
    what is stored cannot change between the lookup and the insert."""
    session = ctx.session
    stored = await repo.uploaded_fills(session, uscc, sorted({r.cylinder_no for r in records}),
                                       min(r.filled_at for r in records), max(r.filled_at for r in records))
    if stored:
        records = [r for r in records if (r.cylinder_no, r.filled_at) not in stored]
    if not records:
        return []
    # The stamp is read now, under the lock and right before the facts: a ledger change committed
    # while this batch waited for the lock is seen, as a query of the facts themselves would see it.
    stamp = await ledger.facts_stamp(session, uscc)
    cylinder_facts, operator_facts = await ctx.ledger_facts.lookup(
        session, uscc, stamp, [r.cylinder_no for r in records], [r.operator_cert_no for r in records])
    rows = []
    days: dict[date, date] = {}  # one object per date: the bulk insert converts a value repeated as one object once
    for record_id, r in zip(await repo.next_filling_ids(session, len(records)), records, strict=True):
        local = r.filled_at.astimezone(BUSINESS_TIMEZONE)  # once: the rules take it as it is (astimezone returns it)
        found = rules.record_anomalies(
            cylinder_no=r.cylinder_no, filled_at=local, pre_check_passed=r.pre_check_passed,
            post_check_passed=r.post_check_passed, operator_cert_no=r.operator_cert_no,
            cylinder=cylinder_facts.get(r.cylinder_no), operator=operator_facts.get(r.operator_cert_no or ""))
        rows.append({
            "id": record_id, "enterprise_uscc": uscc, "cylinder_no": r.cylinder_no, "medium": r.medium,
            "filled_at": r.filled_at.astimezone(UTC),
            "business_date": days.setdefault(day := local.date(), day),
            "pre_check_passed": r.pre_check_passed, "post_check_passed": r.post_check_passed,
            "operator_cert_no": r.operator_cert_no, "checker_cert_no": r.checker_cert_no,
            "filled_mass_kg": float(r.filled_mass_kg), "scale_id": r.scale_id, "batch_id": batch_id,
            "received_at": now, "anomalies": anomaly_lines(found), "chain_sequence": sequence})
    await repo.insert_filling_records(session, rows)
    return rows


def anomaly_lines(found: Iterable[rules.Anomaly]) -> str:
    """How a record's anomalies are stored (``FillingRecord.anomalies``)."""
    return "\n".join(f"{a.kind}:{a.severity}:{a.detail}" for a in found)


def anomaly_event(uscc: str, row: Mapping[str, Any], line: str) -> tuple[EventSpec[Any], str, dict[str, Any]]:
    """The filling_record.anomaly_detected of one stored anomaly line of ``row``."""
    kind, severity, detail = line.split(":", 2)
    return (FILLING_ANOMALY_DETECTED, uscc, {
        "enterprise_uscc": uscc, "record_id": str(row["id"]), "kind": kind, "severity": severity,
        "cylinder_no": row["cylinder_no"], "filled_at": row["filled_at"].isoformat(), "detail": detail})


async def _flag_anomalies(ctx: InspectionContext, uscc: str, rows: Sequence[Mapping[str, Any]]) -> int:
    events = [anomaly_event(uscc, row, line) for row in rows for line in row["anomalies"].splitlines()]
    return await ctx.outbox.publish_many(ctx.session, events)


async def _mark_days(ctx: InspectionContext, uscc: str, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """The days these records cover have records now; a day the cut-off had found missing gets
    its filling_records.arrived_late, once."""
    per_day: dict[date, int] = defaultdict(int)
    for row in rows:
        per_day[row["business_date"]] += 1
    dates = sorted(per_day)
    await repo.mark_days(ctx.session, uscc, dates, now)
    for finding in await repo.unreported_findings(ctx.session, uscc, dates):
        day = finding["business_date"]
        data = FillingRecordsArrivedLate(enterprise_uscc=uscc, business_date=day,
                                         missing_event_id=finding["event_id"], records=per_day[day], received_at=now)
        event = await ctx.outbox.publish(ctx.session, FILLING_RECORDS_ARRIVED_LATE, subject=uscc, data=data)
        if not await repo.claim_late_report(ctx.session, uscc, day, event.id, now):
            raise RuntimeError(f"late arrival of {uscc} {day} claimed twice under one chain lock")


def day_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Business dates (inclusive) as the moments that bound them."""
    lower = datetime.combine(start, time(0), tzinfo=BUSINESS_TIMEZONE) if start else None
    upper = datetime.combine(end + timedelta(days=1), time(0), tzinfo=BUSINESS_TIMEZONE) if end else None
    return lower, upper


def _id_text(value: int | None) -> str | None:
    return None if value is None else str(value)


def filling_out(row: Mapping[str, Any]) -> dict[str, Any]:
    """One version of a record as the API shows it (``superseded_by_id`` when the query joined it)."""
    return {**{k: row[k] for k in (
        "enterprise_uscc", "cylinder_no", "medium", "filled_at", "business_date", "pre_check_passed",
        "post_check_passed", "operator_cert_no", "checker_cert_no", "filled_mass_kg", "scale_id", "batch_id",
        "received_at", "version", "correction_reason", "corrected_by", "chain_sequence")},
        "id": str(row["id"]), "original_id": str(row["original_id"] or row["id"]),
        "corrects_id": _id_text(row["corrects_id"]), "superseded_by_id": _id_text(row.get("superseded_by_id")),
        "anomalies": [a.split(":", 1)[0] for a in row["anomalies"].splitlines()]}


async def get_filling_record(ctx: InspectionContext, record_id: int) -> dict[str, Any]:
    """One version of a record, current or not: 404 unless it exists, 403 unless the caller may read it."""
    row = await repo.get_filling_record(ctx.session, record_id)
    if row is None:
        raise not_found("filling record", str(record_id))
    await access.readable_enterprise(ctx, row["enterprise_uscc"])
    return filling_out(row)


async def list_filling_records(ctx: InspectionContext, uscc: str, *, cylinder_no: str | None, start: date | None,
                               end: date | None, all_versions: bool, page: PageParams, after: Any
                               ) -> dict[str, Any]:
    lower, upper = day_bounds(start, end)
    rows = await repo.list_filling_records(ctx.session, uscc, cylinder_no=cylinder_no, start=lower, end=upper,
                                           all_versions=all_versions, after=after, limit=page.limit + 1)
    return make_page(rows, page, lambda r: [r["filled_at"].isoformat(), r["id"]], filling_out)


# the columns before ``version`` are the export's first shape: a reader by position keeps working
CSV_COLUMNS = ("id", "enterprise_uscc", "cylinder_no", "medium", "filled_at", "business_date", "pre_check_passed",
               "post_check_passed", "operator_cert_no", "checker_cert_no", "filled_mass_kg", "scale_id",
               "batch_id", "received_at", "anomalies", "version", "original_id", "corrects_id", "superseded_by_id",
               "correction_reason", "corrected_by", "chain_sequence")


async def filling_records_csv(ctx: InspectionContext, uscc: str, *, cylinder_no: str | None, start: date | None,
                              end: date | None, all_versions: bool) -> AsyncIterator[str]:
    """The records as CSV, streamed chunk by chunk (UTF-8; a spreadsheet reads the BOM)."""
    lower, upper = day_bounds(start, end)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    async for rows in repo.stream_filling_records(ctx.session, uscc, cylinder_no=cylinder_no, start=lower,
                                                  end=upper, all_versions=all_versions):
        for row in rows:
            out = filling_out(row)
            writer.writerow([_cell(out[c]) for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else value
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):  # no formulas in a spreadsheet
        return "'" + text
    return text


# --- equipment records ----------------------------------------------------------------------


def equipment_record_out(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    return {**{k: row[k] for k in ("enterprise_uscc", "equipment_id", "kind", "occurred_at", "business_date",
                                   "performed_by", "note", "recorded_at", "recorded_by", "chain_sequence")},
            "id": str(row["id"]), "corrects_id": None if row["corrects_id"] is None else str(row["corrects_id"])}


async def record_equipment_use(ctx: InspectionContext, enterprise: RowMapping, body: EquipmentRecordIn
                               ) -> dict[str, Any]:
    uscc, now, session = enterprise["uscc"], ctx.now(), ctx.session
    access.ensure_may_write_for(ctx.principal, uscc, enterprise["jurisdiction_code"])
    if await ledger.get_equipment(session, uscc, body.equipment_id) is None:
        raise not_found("equipment", f"{body.equipment_id} of {uscc}")
    if body.occurred_at > now + timedelta(seconds=ctx.settings.max_clock_skew_s):
        raise not_allowed_now(f"occurred_at lies in the future ({body.occurred_at.isoformat()})", "occurred_at")
    head = await chain_repo.lock_head(session, uscc, now)
    corrects_id = corrects_sequence = None
    if body.corrects_id is not None:
        corrected = await repo.get_equipment_record(session, uscc, int(body.corrects_id))
        if corrected is None or corrected["equipment_id"] != body.equipment_id:
            raise not_found("equipment record", f"{body.corrects_id} of {body.equipment_id}")
        corrects_id, corrects_sequence = corrected["id"], corrected["chain_sequence"]
    values = {"enterprise_uscc": uscc, "equipment_id": body.equipment_id, "kind": body.kind,
              "occurred_at": body.occurred_at.astimezone(UTC), "business_date": business_date(body.occurred_at),
              "performed_by": body.performed_by, "note": body.note, "corrects_id": corrects_id, "recorded_at": now,
              "recorded_by": ctx.actor, "chain_sequence": head["sequence"] + 1}
    values["id"] = await repo.insert_equipment_record(session, values)
    [link] = await chain.append(ctx, uscc, EQUIPMENT_RECORD, [equipment_content(values)], [corrects_sequence])
    assert link.sequence == values["chain_sequence"]
    return equipment_record_out(values)


async def list_equipment_records(ctx: InspectionContext, uscc: str, *, equipment_id: str | None, kind: str | None,
                                 start: date | None, end: date | None, page: PageParams, after: Any
                                 ) -> dict[str, Any]:
    lower, upper = day_bounds(start, end)
    rows = await repo.list_equipment_records(ctx.session, uscc, equipment_id=equipment_id, kind=kind, start=lower,
                                             end=upper, after=after, limit=page.limit + 1)
    return make_page(rows, page, lambda r: [r["occurred_at"].isoformat(), r["id"]], equipment_record_out)


# --- the maintenance-lapse check ------------------------------------------------------------


async def check_maintenance(ctx: InspectionContext, today: date, chunk: int = 1000) -> dict[str, Any]:
    """Every in-use piece of equipment whose category has an interval and whose last maintenance
    (or, with none, the day inspection first knew it) is older than that: one
    maintenance.lapsed per equipment and due date, however often this runs."""
    policy = ctx.maintenance_policy
    after, checked, lapsed = ("", ""), 0, []
    while True:
        rows = await ledger.equipment_after(ctx.session, after, chunk)
        if not rows:
            break
        after = (rows[-1]["uscc"], rows[-1]["equipment_id"])
        due_rows = [r for r in rows if policy.interval_days(r["category"])]
        checked += len(due_rows)
        last = await repo.last_maintenance(ctx.session, sorted({r["uscc"] for r in due_rows}))
        for row in due_rows:
            interval = policy.interval_days(row["category"])
            assert interval is not None
            previous = last.get((row["uscc"], row["equipment_id"]))
            due = maintenance.due_date(previous, business_date(row["first_seen_at"]), interval)
            if not maintenance.lapsed(due, today):
                continue
            data = MaintenanceLapsed(enterprise_uscc=row["uscc"], equipment_id=row["equipment_id"],
                                     category=row["category"], last_maintenance_date=previous, due_date=due,
                                     detected_on=today)
            if not await repo.record_lapse(ctx.session, {"uscc": row["uscc"], "equipment_id": row["equipment_id"],
                                                         "due_date": due, "detected_on": today,
                                                         "event_id": PENDING}):
                continue  # reported before (or by a concurrent run, which holds the row until it commits)
            event = await ctx.outbox.publish(ctx.session, MAINTENANCE_LAPSED, subject=row["uscc"], data=data)
            await repo.set_lapse_event(ctx.session, row["uscc"], row["equipment_id"], due, event.id)
            lapsed.append({**data.model_dump(exclude={"detected_on"}), "event_id": event.id})
    await audit(ctx.session, actor=ctx.actor, action="maintenance.checked", subject=None,
                detail={"date": today.isoformat(), "checked": checked, "lapsed": len(lapsed),
                        "policy_version": policy.version})
    return {"date": today, "policy_version": policy.version, "checked": checked, "lapsed": lapsed}


# --- what verification compares with the links (chain.service.verify) ------------------------


class FillingBatchCheck:
    """The records each filling_batch link sealed are still there, unchanged; and no record is
    stored that no link sealed."""

    kind = FILLING_BATCH

    def __init__(self) -> None:
        self.sealed = 0

    async def check(self, session: AsyncSession, uscc: str, links: Sequence[Link]) -> Broken | None:
        payloads = {link.sequence: json.loads(link.payload) for link in links}
        for n in range(0, len(links), 20):
            part = links[n:n + 20]
            held = await repo.records_of_batches(session, uscc, [payloads[link.sequence]["batch_id"] for link in part])
            for link in part:
                payload = payloads[link.sequence]
                rows = held.get(payload["batch_id"], [])
                self.sealed += payload["records"]
                if len(rows) != payload["records"] or records_hash(rows) != payload["records_hash"]:
                    return Broken(link.sequence, f"the filling records of batch {payload['batch_id']} differ from "
                                                 f"what link {link.sequence} sealed ({len(rows)} stored, "
                                                 f"{payload['records']} sealed)")
                # what the hash does not cover: a row passed off as a correction would hide the fill
                for row in rows:
                    if row["corrects_id"] is not None or row["chain_sequence"] != link.sequence:
                        return Broken(link.sequence, f"filling record {row['id']} of batch {payload['batch_id']} "
                                                     f"no longer reads as the upload link {link.sequence} sealed")
        return None

    async def finish(self, session: AsyncSession, uscc: str, length: int) -> Broken | None:
        held = await repo.count_uploaded_records(session, uscc)
        if held != self.sealed:
            return Broken(length + 1, f"{held} filling records are stored as uploaded but the chain sealed "
                                      f"{self.sealed}")
        return None


class EquipmentRecordCheck:
    """Each equipment_record link's record is still there as sealed; no record is unsealed."""

    kind = EQUIPMENT_RECORD

    def __init__(self) -> None:
        self.sealed = 0

    async def check(self, session: AsyncSession, uscc: str, links: Sequence[Link]) -> Broken | None:
        held = await repo.equipment_records_at(session, uscc, [link.sequence for link in links])
        for link in links:
            self.sealed += 1
            row = held.get(link.sequence)
            if row is None or payload_text(equipment_content(row)) != link.payload:
                return Broken(link.sequence, f"the equipment record link {link.sequence} sealed was "
                                             f"{'deleted' if row is None else 'edited'}")
        return None

    async def finish(self, session: AsyncSession, uscc: str, length: int) -> Broken | None:
        held = await repo.count_equipment_records(session, uscc)
        if held != self.sealed:
            return Broken(length + 1, f"{held} equipment records are stored but the chain sealed {self.sealed}")
        return None


def content_checks() -> list[ContentCheck]:
    """A fresh set of checks for one verification."""
    return [FillingBatchCheck(), EquipmentRecordCheck()]
