"""Bulk import of enterprises, equipment and operators: every row validated by the same rules as
the API, good rows upserted in chunks with bulk statements, bad rows reported with their row
number, field and reason. Re-running a file changes nothing and publishes nothing.

Upsert keys: enterprises by USCC, equipment by registration number (else by the enterprise's
own equipment code), operators by certificate number. Each chunk is one transaction holding its
rows and their events (outbox): a crash mid-file keeps the finished chunks, and re-running the
file completes the rest. This runner, like a job, owns its transactions: one
``shared.context.unit_of_work`` per chunk (``import_chunk_size`` rows, 2,000 by default).

Every row a chunk updates is read ``FOR UPDATE`` by one statement in a fixed order (key or id),
so two imports queue rather than deadlock; a chunk PostgreSQL still picks as a deadlock or
serialization victim (40P01, 40001), like one losing a key to a concurrent insert, is run again
in a fresh transaction. A PATCH landing between the read and the write waits for the chunk to commit
and then applies to the imported revision, so neither overwrites the other and a revision
names one snapshot only. SQLite's BEGIN IMMEDIATE already serialises writers."""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

import structlog
from sqlalchemy import bindparam, or_, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.config import Settings
from services.registry.domain.equipment import equipment_violations, status_change_violation
from services.registry.domain.facts import declare_facts_json
from services.registry.domain.kinds import kinds_tags, kinds_violation
from services.registry.domain.operators import hash_id_number, operator_violations
from services.registry.domain.placement import Node, node_of, place_enterprise
from services.registry.domain.supervision import key_supervision
from services.registry.domain.uscc import uscc_violation
from services.registry.events import (
    enterprise_snapshot_json,
    equipment_snapshot_json,
    item_moved,
    operator_snapshot_json,
)
from services.registry.imports.mapping import MappingError, SheetMapping
from services.registry.imports.readers import Sheet
from services.registry.imports.rows import IMPORT_KINDS, REQUIRED, RowReader, missing_required, row_reader
from services.registry.models import Enterprise, Equipment, Jurisdiction, ManagementFactRecord, Operator
from shared.app import ServiceRuntime
from shared.auth import Principal
from shared.context import unit_of_work
from shared.contracts.common import MANAGEMENT_KEYS
from shared.contracts.registry import (
    ENTERPRISE_KEY_SUPERVISION_CHANGED,
    ENTERPRISE_MANAGEMENT_FACTS_CHANGED,
    ENTERPRISE_REGISTERED,
    ENTERPRISE_UPDATED,
    EQUIPMENT_REGISTERED,
    EQUIPMENT_UPDATED,
    OPERATOR_REGISTERED,
    OPERATOR_REMOVED,
    OPERATOR_UPDATED,
)
from shared.db import new_uuid
from shared.locality import business_date, in_jurisdiction
from shared.queries import WriteBehind, among, insert_rows

log = structlog.get_logger(__name__)

T = TypeVar("T")
ENTERPRISES, EQUIPMENT, OPERATORS = Enterprise.__table__, Equipment.__table__, Operator.__table__
ENTERPRISE_COMPARED = ("name", "jurisdiction_code", "grid_code", "division_code", "address", "lat", "lon",
                       "location_verified_at", "venue_type", "kinds_tags", "general_credit_grade", "contacts",
                       "associations", "sandbox", "operating_status", "key_supervision", "key_supervision_causes",
                       "key_supervision_reason")
EQUIPMENT_COMPARED = ("uscc", "category", "registration_no", "equipment_code", "name", "place", "status",
                      "next_inspection_due", "last_inspection_date", "last_maintenance_date")
OPERATOR_COMPARED = ("uscc", "name", "id_number_hash", "certificate_no", "certificate_category",
                     "certificate_issued_date", "certificate_valid_until", "active")
# The profile columns a row sets when present, and what an empty cell sets them to.
PROFILE_DEFAULTS = (("name", None), ("address", None), ("venue_type", "other"), ("general_credit_grade", None),
                    ("sandbox", False), ("operating_status", "operating"))
ENTERPRISE_UPDATE = update(ENTERPRISES).where(ENTERPRISES.c.uscc == bindparam("b_uscc"))
FACT_RECORDS = ManagementFactRecord.__table__
WRITE_PART = 500  # rows built between two writes of a chunk
KEY_COLUMNS = {"enterprises": ("uscc",), "equipment": ("uscc", "category"), "operators": ("uscc", "certificate_no")}
ProgressCallback = Callable[[str, int, int | None], None]  # kind, rows done in the sheet, rows in the sheet
RowsReadHook = Callable[[str], Awaitable[None]]  # kind; awaited between a chunk's read and its write


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int
    field: str
    message: str


@dataclass
class KindCounts:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


@dataclass
class ImportResult:
    counts: dict[str, KindCounts] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    events: int = 0

    def totals(self) -> dict[str, int]:
        totals = {"rows": 0, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        for counts in self.counts.values():
            for key in totals:
                totals[key] += getattr(counts, key)
        totals["events"] = self.events
        return totals

    def by_kind(self) -> dict[str, dict[str, int]]:
        return {kind: dict(vars(counts)) for kind, counts in self.counts.items()}

    def report_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["sheet", "row", "field", "message"])
        writer.writerows([e.sheet, e.row, e.field, e.message] for e in self.errors)
        return buffer.getvalue()


@dataclass
class Candidate:
    """A row that parsed; it may still be rejected against the database."""

    sheet: str
    row: int
    values: dict[str, Any]


_pauses = 0  # collector_paused() blocks running (imports on one event loop may overlap)
_resume = False  # whether the collector ran before the first of them


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a chunk is read, checked and written. A chunk
    makes some 30 containers a row that live until it commits, so the collector's full passes
    (which each walk every object of the process, a quarter of a million in a service) came
    every chunk and took a third of the import's time; the chunk's objects are freed by their
    reference counts when it ends, and the collector resumes as it was."""
    global _pauses, _resume
    if _pauses == 0:
        _resume = gc.isenabled()
        gc.disable()
    _pauses += 1
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0 and _resume:
            gc.enable()


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def _retryable(exc: DBAPIError) -> bool:
    """Whether a chunk that failed with ``exc`` may simply run again in a new transaction."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


def _changed(old: dict[str, Any], new: dict[str, Any], columns: Sequence[str]) -> bool:
    return any(old.get(c) != new.get(c) for c in columns)


class Importer:
    """One file's run on the service's runtime, acting as ``principal``: each chunk is one
    ``unit_of_work``, committed with its events before the next is read."""

    def __init__(self, runtime: ServiceRuntime, principal: Principal, *, today: date | None = None,
                 allow_invalid_check_digit: bool = False, progress: ProgressCallback | None = None,
                 rows_read: RowsReadHook | None = None) -> None:
        self.runtime = runtime
        self.settings = cast(Settings, runtime.settings)
        self.principal = principal
        self.today = today or business_date(runtime.clock())
        self.now = runtime.clock()
        self.stamp = self.now.isoformat()
        self.allow_invalid_check_digit = allow_invalid_check_digit and principal.is_admin
        self.progress = progress
        self.rows_read = rows_read  # tests interleave a concurrent writer here
        self.result = ImportResult()
        self.nodes: dict[str, Node] = {}
        self._grids: dict[str, list[Node]] = {}
        # Keys seen in this file → the row that used them first (a repeat is a row error).
        self.seen: dict[tuple[str, str], int] = {}
        self._supervisions: dict[tuple[str, date | None, str | None], tuple[bool, tuple[str, ...], str | None]] = {}

    # --- the run ---------------------------------------------------------------------------

    async def run(self, sheets: Sequence[tuple[Sheet, str, SheetMapping]]) -> ImportResult:
        async with unit_of_work(self.runtime, self.principal) as ctx:
            rows = (await ctx.session.execute(select(Jurisdiction))).scalars().all()
            self.nodes = {row.code: node for row in rows if (node := node_of(row))}
        ordered = sorted(sheets, key=lambda s: IMPORT_KINDS.index(s[1]))
        for sheet, kind, mapping in ordered:
            await self._run_sheet(sheet, kind, mapping)
        position = {sheet.name: index for index, (sheet, _, _) in enumerate(ordered)}
        self.result.errors.sort(key=lambda e: (position.get(e.sheet, -1), e.row))  # stable: fields keep order
        return self.result

    async def _run_sheet(self, sheet: Sheet, kind: str, mapping: SheetMapping) -> None:
        counts = self.result.counts.setdefault(kind, KindCounts())
        columns: list[tuple[int, str]] = []
        for index, header in enumerate(sheet.headers):
            name = mapping.field_of(header)
            if name is None:
                continue
            if any(name == taken for _, taken in columns):
                raise MappingError(f"sheet {sheet.name}: two columns map to {name}")
            columns.append((index, name))
        mapped = {name for _, name in columns}
        missing = [c for c in KEY_COLUMNS[kind] if c not in mapped]
        if kind == "equipment" and not mapped & {"registration_no", "equipment_code"}:
            missing.append("registration_no")
        if missing:
            for name in missing:
                self.result.errors.append(RowError(sheet.name, 1, name, "column missing: rows cannot be matched "
                                                                        "or validated without it"))
            return
        done = 0
        read = row_reader(kind, columns, mapping.values)
        # Equipment and operator rows need their keys always; an enterprise row only its USCC
        # when it updates (a new one is checked for the rest once we know it is new).
        required = ("uscc",) if kind == "enterprises" else REQUIRED[kind]
        for chunk in chunked(sheet.rows, self.settings.import_chunk_size):
            with collector_paused():
                await self._run_chunk(sheet.name, kind, chunk, read, required, counts)
            done += len(chunk)
            if self.progress:
                self.progress(kind, done, sheet.row_count)

    async def _run_chunk(self, sheet: str, kind: str, chunk: list[tuple[int, list[Any]]], read: RowReader,
                         required: Sequence[str], counts: KindCounts) -> None:
        candidates: list[Candidate] = []
        for number, cells in chunk:
            values, errors = read(cells)
            for name in required:
                if values.get(name) in (None, ""):
                    errors.append((name, "required"))
            if errors:
                self._reject(counts, sheet, number, errors)
            else:
                candidates.append(Candidate(sheet, number, values))
        counts.rows += len(chunk)
        if candidates:
            await self._load_chunk(kind, candidates, counts)

    def _reject(self, counts: KindCounts, sheet: str, row: int, errors: Iterable[tuple[str, str]]) -> None:
        counts.rejected += 1
        self.result.errors.extend(RowError(sheet, row, f, m) for f, m in errors)

    async def _load_chunk(self, kind: str, candidates: list[Candidate], counts: KindCounts) -> None:
        loader = {"enterprises": self._enterprises, "equipment": self._equipment, "operators": self._operators}[kind]
        for attempt in range(3):
            outcome = ChunkOutcome()
            try:
                async with unit_of_work(self.runtime, self.principal) as ctx, WriteBehind(ctx.session) as writes:
                    await loader(ctx.session, candidates, outcome, writes)
                    await self._publish(ctx.session, outcome, writes)
                self.result.events += outcome.published  # once committed: a chunk run again counts once
                break
            except DBAPIError as exc:
                if not _retryable(exc):
                    raise
                # A concurrent writer took a key (the retry sees its row), or PostgreSQL chose this
                # chunk's transaction as a deadlock or serialization victim (the retry queues).
                log.warning("registry.import_chunk_conflict", attempt=attempt, error=str(exc.orig))
        else:
            outcome = ChunkOutcome(rejected=[(c, "row", "conflicted with concurrent writes; re-run the import")
                                             for c in candidates])
        for candidate, name, message in outcome.rejected:
            self.result.errors.append(RowError(candidate.sheet, candidate.row, name, message))
        rejected_rows = {id(c) for c, _, _ in outcome.rejected}
        counts.rejected += len(rejected_rows)
        counts.inserted += outcome.inserted
        counts.updated += outcome.updated
        counts.unchanged += outcome.unchanged

    async def _publish(self, session: AsyncSession, out: ChunkOutcome, writes: WriteBehind) -> None:
        """Stage the events built so far (behind the rows they describe)."""
        if out.events:
            events, out.events = out.events, []
            out.published += len(events)
            await writes.put(self.runtime.outbox.publish_many, session, events)

    def _first_use(self, key: tuple[str, str], row: int) -> int | None:
        """None when this row is the first to use ``key`` in the file, else that row."""
        first = self.seen.setdefault(key, row)
        return None if first == row else first

    def _covers(self, division_code: str) -> bool:
        return self.principal.covers(division_code)

    def _grids_under(self, code: str) -> list[Node]:
        if code not in self._grids:
            self._grids[code] = [n for n in self.nodes.values() if n.level == "grid" and in_jurisdiction(code, n.code)]
        return self._grids[code]

    # --- enterprises ---------------------------------------------------------------------------

    async def _enterprises(self, session: AsyncSession, candidates: list[Candidate], out: ChunkOutcome,
                           writes: WriteBehind) -> None:
        keys = [c.values["uscc"] for c in candidates]
        existing = {r["uscc"]: dict(r) for r in (await session.execute(
            select(ENTERPRISES).where(among(session, ENTERPRISES.c.uscc, keys)).order_by(ENTERPRISES.c.uscc)
            .with_for_update())).mappings()}
        if self.rows_read:
            await self.rows_read("enterprises")
        # Written a part at a time: PostgreSQL stores one part while the next is built.
        for start in range(0, len(candidates), WRITE_PART):
            inserts, updates, records = self._enterprise_rows(candidates[start:start + WRITE_PART], existing, out)
            await writes.put(insert_rows, session, ENTERPRISES, inserts)
            if updates:
                await writes.put(session.execute, ENTERPRISE_UPDATE,
                                 [{**{k: v for k, v in row.items() if k != "uscc"}, "b_uscc": row["uscc"]}
                                  for row in updates])
            await writes.put(insert_rows, session, FACT_RECORDS, records)
            await self._publish(session, out, writes)

    def _enterprise_rows(self, candidates: list[Candidate], existing: dict[str, dict[str, Any]],
                         out: ChunkOutcome) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows to insert, to update and the fact records of these candidates; their events
        go to ``out``."""
        inserts, updates, records = [], [], []
        for candidate in candidates:
            outcome = self._enterprise_row(candidate, existing.get(candidate.values["uscc"]), out)
            if outcome is None:
                continue
            new, old, facts_changed, record = outcome
            if record is not None:
                records.append(record)
            if old is None:
                inserts.append(new)
                out.inserted += 1
                out.events.append((ENTERPRISE_REGISTERED, new["uscc"], self._snapshot(new)))
                continue
            profile_changed = _changed(old, new, ENTERPRISE_COMPARED)
            designation_changed = _changed(old, new, ("key_supervision", "key_supervision_causes",
                                                      "key_supervision_reason"))
            # A new declaration is stored even while a newer patrol finding stands (then without an event).
            if not (profile_changed or facts_changed or record):
                out.unchanged += 1
                continue
            specs = ([ENTERPRISE_UPDATED] if profile_changed else []) + (
                [ENTERPRISE_MANAGEMENT_FACTS_CHANGED] if facts_changed else []) + (
                [ENTERPRISE_KEY_SUPERVISION_CHANGED] if designation_changed else [])
            for spec in specs:
                new["revision"] += 1
                out.events.append((spec, new["uscc"], self._snapshot(new)))
            new["updated_at"] = self.now
            updates.append(new)
            out.updated += 1
        return inserts, updates, records

    @staticmethod
    def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
        return enterprise_snapshot_json(values)

    def _enterprise_row(self, c: Candidate, old: dict[str, Any] | None, out: ChunkOutcome) -> tuple[
            dict[str, Any], dict[str, Any] | None, bool, dict[str, Any] | None] | None:
        v = c.values
        uscc = v["uscc"]
        errors: list[tuple[str, str]] = []
        violation = uscc_violation(uscc, allow_invalid_check_digit=self.allow_invalid_check_digit)
        if violation:
            return out.reject(c, [(violation.field, violation.message)])
        repeated = self._first_use(("uscc", uscc), c.row)
        if repeated:
            return out.reject(c, [("uscc", f"repeats row {repeated}")])
        if old is None:
            errors.extend(missing_required("enterprises", v))
        if errors:
            return out.reject(c, errors)
        new: dict[str, Any] = dict(old) if old else {
            "uscc": uscc, "revision": 1, "address": None, "lat": None, "lon": None, "location_verified_at": None,
            "location_verified_by": None, "venue_type": "other", "kinds_tags": "", "general_credit_grade": None,
            "management": {}, "declared_management": {}, "contacts": [], "associations": [], "sandbox": False,
            "operating_status": "operating", "designation_reason": None, "designated_by": None,
            "designated_at": None, "last_accident_date": None, "registered_by": self.principal.sub,
            "created_at": self.now, "updated_at": self.now, "grid_code": None,
        }
        for name, default in PROFILE_DEFAULTS:
            if name in v:
                value = v[name]
                new[name] = value if value is not None else default
        if new.get("name") is None:
            errors.append(("name", "required"))
        if "kinds" in v:
            kinds_error = kinds_violation(v["kinds"])
            if kinds_error:
                errors.append((kinds_error.field, kinds_error.message))
            new["kinds_tags"] = kinds_tags(v["kinds"])
        if "associations" in v:
            new["associations"] = list(dict.fromkeys(v["associations"]))
        if "contact_name" in v or "contact_role" in v or "contact_phone" in v:
            new["contacts"] = [{"name": v.get("contact_name"), "role": v.get("contact_role"),
                                "phone": v.get("contact_phone")}] if v.get("contact_name") else []
        if old is not None and not self._covers(old["division_code"]):
            errors.append(("uscc", f"{uscc} lies in {old['division_code']}, outside your jurisdiction"))
        if "jurisdiction_code" in v or "grid_code" in v or "lat" in v or "lon" in v:
            errors.extend(self._place(v, new, old))
        if errors:
            return out.reject(c, errors)
        declared = new.get("declared_management") or {}
        # Re-running declares nothing new.
        fresh = {k: v[k] for k in MANAGEMENT_KEYS if k in v and declared.get(k) != v[k]}
        facts_changed, record = False, None
        if fresh:
            new["management"], facts_changed = declare_facts_json(new.get("management") or {}, fresh, self.now,
                                                                  stamp=self.stamp)
            new["declared_management"] = {**declared, **fresh}
            record = {"uscc": uscc, "source": "declared", "facts": fresh, "as_of": self.now,
                      "recorded_at": self.now, "recorded_by": self.principal.sub, "patrol_id": None,
                      "note": f"import row {c.row}"}
        new["key_supervision"], new["key_supervision_causes"], new["key_supervision_reason"] = self._supervision(
            new["venue_type"], new.get("last_accident_date"), new.get("designation_reason"))
        return new, old, facts_changed, record

    def _supervision(self, venue_type: str, last_accident: date | None,
                     designation_reason: str | None) -> tuple[bool, list[str], str | None]:
        """The key-supervision columns, computed once per distinct input (a file holds a handful)."""
        key = (venue_type, last_accident, designation_reason)
        found = self._supervisions.get(key)
        if found is None:
            result = key_supervision(venue_type, last_accident, designation_reason, self.today,
                                     self.settings.key_supervision_accident_years)
            found = self._supervisions[key] = (result.designated, tuple(result.causes), result.reason)
        return found[0], list(found[1]), found[2]

    def _place(self, v: dict[str, Any], new: dict[str, Any], old: dict[str, Any] | None) -> list[tuple[str, str]]:
        lat = v["lat"] if "lat" in v else new.get("lat")
        lon = v["lon"] if "lon" in v else new.get("lon")
        if (lat is None) != (lon is None):
            return [("lat" if lat is None else "lon", "lat and lon come together")]
        if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return [("lat", f"({lat}, {lon}) is not a WGS 84 coordinate")]
        jurisdiction_code = v.get("jurisdiction_code") or new.get("jurisdiction_code") or ""
        moved = "jurisdiction_code" in v or "lat" in v or "lon" in v
        grid_code = v.get("grid_code") if "grid_code" in v else (None if moved else new.get("grid_code"))
        location = (lat, lon) if lat is not None else None
        jurisdiction = self.nodes.get(jurisdiction_code)
        placement, violations = place_enterprise(
            jurisdiction, self.nodes.get(grid_code) if grid_code else None, grid_code, location,
            self._grids_under(jurisdiction_code) if jurisdiction and grid_code is None and location else ())
        if violations or placement is None:
            return [(x.field, x.message) for x in violations]
        if not self._covers(placement.division_code):
            return [("jurisdiction_code", f"{placement.division_code} lies outside your jurisdiction")]
        new["jurisdiction_code"], new["grid_code"] = placement.jurisdiction_code, placement.grid_code
        new["division_code"] = placement.division_code
        if old is None or (old.get("lat"), old.get("lon")) != (lat, lon):
            new["location_verified_at"] = new["location_verified_by"] = None
        new["lat"], new["lon"] = lat, lon
        return []

    # --- equipment -----------------------------------------------------------------------------

    async def _divisions(self, session: AsyncSession, usccs: Iterable[str]) -> dict[str, str]:
        rows = await session.execute(select(ENTERPRISES.c.uscc, ENTERPRISES.c.division_code)
                                     .where(among(session, ENTERPRISES.c.uscc, sorted(set(usccs)))))
        return {uscc: division for uscc, division in rows.all()}

    def _owner_errors(self, uscc: str, divisions: dict[str, str]) -> list[tuple[str, str]]:
        if uscc not in divisions:
            return [("uscc", f"no enterprise {uscc} in the registry; import enterprises first")]
        if not self._covers(divisions[uscc]):
            return [("uscc", f"{uscc} lies in {divisions[uscc]}, outside your jurisdiction")]
        return []

    async def _equipment(self, session: AsyncSession, candidates: list[Candidate], out: ChunkOutcome,
                         writes: WriteBehind) -> None:
        divisions = await self._divisions(session, (c.values["uscc"] for c in candidates))
        numbers = [c.values["registration_no"] for c in candidates if c.values.get("registration_no")]
        codes = [(c.values["uscc"], c.values["equipment_code"]) for c in candidates if c.values.get("equipment_code")]
        # One statement locks every row matched by either key, in id order: locking by number and
        # then by code (each pass in order) lets two files naming X and Y by crossed keys deadlock.
        matches = ([among(session, EQUIPMENT.c.registration_no, numbers)] if numbers else []) + (
            [tuple_(EQUIPMENT.c.uscc, EQUIPMENT.c.equipment_code).in_(codes)] if codes else [])
        locked = [dict(r) for r in (await session.execute(
            select(EQUIPMENT).where(or_(*matches)).order_by(EQUIPMENT.c.id).with_for_update())).mappings()]
        by_number = {r["registration_no"]: r for r in locked if r["registration_no"] is not None}
        by_code = {(r["uscc"], r["equipment_code"]): r for r in locked if r["equipment_code"] is not None}
        if self.rows_read:
            await self.rows_read("equipment")
        inserts, updates = [], []
        for c in candidates:
            v = c.values
            uscc, number, code = v["uscc"], v.get("registration_no"), v.get("equipment_code")
            errors = self._owner_errors(uscc, divisions)
            if not number and not code:
                errors.append(("registration_no", "a row needs registration_no or equipment_code so that "
                                                  "re-running the file finds it again"))
            for key, value in (("registration_no", number), ("equipment_code", f"{uscc}/{code}" if code else None)):
                repeated = self._first_use((key, value), c.row) if value else None
                if repeated:
                    errors.append((key, f"repeats row {repeated}"))
            if errors:
                out.reject(c, errors)
                continue
            old = by_number.get(number) if number else None
            if old is None and code:
                old = by_code.get((uscc, code))
            if old is not None and old["uscc"] != uscc:
                out.reject(c, [("registration_no", f"{number} is registered to another enterprise")])
                continue
            holder = by_number.get(number) if number else None
            if holder is not None and old is not None and holder["id"] != old["id"]:
                out.reject(c, [("registration_no", f"{number} is already registered to other equipment")])
                continue
            new = dict(old) if old else {"id": new_uuid(), "uscc": uscc, "revision": 1, "registration_no": None,
                                         "equipment_code": None, "name": None, "place": None, "status": "in_use",
                                         "next_inspection_due": None, "last_inspection_date": None,
                                         "last_inspection_result": None, "last_maintenance_date": None,
                                         "safety_accessories": [], "overdue_reported_for": None,
                                         "created_at": self.now, "updated_at": self.now}
            new.update({k: val for k, val in v.items()})
            if new["status"] is None:
                new["status"] = "in_use"
            found = [x for x in equipment_violations(new, self.today) if x]
            if old is not None and (x := status_change_violation(old["status"], new["status"])):
                found.append(x)
            if found:
                out.reject(c, [(x.field, x.message) for x in found])
                continue
            if old is None:
                inserts.append(new)
                out.inserted += 1
                out.events.append((EQUIPMENT_REGISTERED, uscc, equipment_snapshot_json(new)))
            elif _changed(old, new, EQUIPMENT_COMPARED):
                new["revision"] += 1
                new["updated_at"] = self.now
                updates.append(new)
                out.updated += 1
                out.events.append((EQUIPMENT_UPDATED, uscc, equipment_snapshot_json(new)))
            else:
                out.unchanged += 1
        await insert_rows(session, EQUIPMENT, inserts)
        if updates:
            await session.execute(update(EQUIPMENT).where(EQUIPMENT.c.id == bindparam("b_id")),
                                  [{**{k: v for k, v in row.items() if k != "id"}, "b_id": row["id"]}
                                   for row in updates])

    # --- operators -----------------------------------------------------------------------------

    async def _operators(self, session: AsyncSession, candidates: list[Candidate], out: ChunkOutcome,
                         writes: WriteBehind) -> None:
        divisions = await self._divisions(session, (c.values["uscc"] for c in candidates))
        numbers = [c.values["certificate_no"] for c in candidates]
        existing = {r["certificate_no"]: dict(r) for r in (await session.execute(
            select(OPERATORS).where(among(session, OPERATORS.c.certificate_no, numbers)).order_by(OPERATORS.c.id)
            .with_for_update())).mappings()}
        moved_from = await self._divisions(session, (r["uscc"] for r in existing.values()))
        if self.rows_read:
            await self.rows_read("operators")
        inserts, updates = [], []
        for c in candidates:
            v = c.values
            uscc, number = v["uscc"], v["certificate_no"]
            errors = self._owner_errors(uscc, divisions)
            repeated = self._first_use(("certificate_no", number), c.row)
            if repeated:
                errors.append(("certificate_no", f"repeats row {repeated}"))
            old = existing.get(number)
            if old is not None and old["uscc"] != uscc and not self._covers(moved_from.get(old["uscc"], "")):
                errors.append(("certificate_no", f"{number} belongs to an operator of an enterprise outside "
                                                 "your jurisdiction"))
            if errors:
                out.reject(c, errors)
                continue
            new = dict(old) if old else {"id": new_uuid(), "revision": 1, "id_number_hash": None,
                                         "certificate_category": None, "certificate_issued_date": None,
                                         "certificate_valid_until": None, "active": True,
                                         "expiry_reported_for": None, "created_at": self.now,
                                         "updated_at": self.now}
            new.update({k: val for k, val in v.items() if k != "id_number"})
            if new.get("active") is None:
                new["active"] = True
            found = [x for x in operator_violations({**new, "id_number": v.get("id_number")}, self.today) if x]
            if found:
                out.reject(c, [(x.field, x.message) for x in found])
                continue
            if "id_number" in v:
                new["id_number_hash"] = hash_id_number(v["id_number"], self.settings.id_hash_key) if v[
                    "id_number"] else None
            if old is None:
                inserts.append(new)
                out.inserted += 1
                out.events.append((OPERATOR_REGISTERED, uscc, operator_snapshot_json(new)))
            elif _changed(old, new, OPERATOR_COMPARED):
                new["revision"] += 1
                new["updated_at"] = self.now
                updates.append(new)
                out.updated += 1
                if old["uscc"] != uscc:  # moved: the old owner hears first, on its own key
                    out.events.append((OPERATOR_REMOVED, old["uscc"],
                                       item_moved(old["uscc"], new["id"], new["revision"], uscc)))
                out.events.append((OPERATOR_UPDATED, uscc, operator_snapshot_json(new)))
            else:
                out.unchanged += 1
        await insert_rows(session, OPERATORS, inserts)
        if updates:
            await session.execute(update(OPERATORS).where(OPERATORS.c.id == bindparam("b_id")),
                                  [{**{k: v for k, v in row.items() if k != "id"}, "b_id": row["id"]}
                                   for row in updates])


@dataclass
class ChunkOutcome:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    events: list[Any] = field(default_factory=list)  # built, not yet staged
    published: int = 0  # events staged in the outbox
    rejected: list[tuple[Candidate, str, str]] = field(default_factory=list)

    def reject(self, candidate: Candidate, errors: Iterable[tuple[str, str]]) -> None:
        self.rejected.extend((candidate, f, m) for f, m in errors)

