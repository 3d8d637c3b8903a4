"""Use cases of hazards (隐患): raised from failed checklist items with a rectification deadline
(by severity); the enterprise uploads evidence (photos, a note), which sets the re-check due
within 10 working days; a regulator verifies it (accepted: rectified, hazard.rectified; rejected:
open again). The daily check reports each hazard past its deadline once (hazard.overdue), and each
piece of evidence left unverified past its re-check due date once (hazard.recheck_overdue). Every
hazard, evidence and verdict is a link of the enterprise's record chain."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from sqlalchemy.engine import RowMapping

from services.inspection import access
from services.inspection.blobs import service as blobs
from services.inspection.chain import service as chain
from services.inspection.context import InspectionContext
from services.inspection.domain import tasks as rules
from services.inspection.domain.chain import Broken
from services.inspection.errors import conflict, field_error, not_found
from services.inspection.hazards import repository as repo
from services.inspection.repository import audit
from services.inspection.tasks.repository import visible
from shared.contracts.inspection import (
    HAZARD_OVERDUE,
    HAZARD_RAISED,
    HAZARD_RECHECK_OVERDUE,
    HAZARD_RECTIFIED,
    HazardOverdue,
    HazardRaised,
    HazardRecheckOverdue,
    HazardRectified,
)
from shared.http.pagination import PageParams, make_page

HAZARD, EVIDENCE, VERIFICATION = "hazard", "hazard_evidence", "hazard_verification"


def hazard_out(row: RowMapping | dict[str, Any], evidence: list[RowMapping] | None = None) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "enterprise_uscc", "jurisdiction_code", "task_id", "submission_id", "item_code",
                               "description", "severity", "raised_at", "deadline_date", "status", "recheck_due_date",
                               "rectified_date", "verified_by", "chain_sequence")}
    out["overdue_reported"] = row["overdue_event_id"] is not None
    if evidence is not None:
        out["evidence"] = [evidence_out(e) for e in evidence]
    return out


def evidence_out(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "hazard_id", "note", "photos", "submitted_by", "submitted_at", "chain_sequence",
                               "verdict", "verdict_note", "verdict_by", "verdict_at")}
    return {**out, "recheck_overdue_reported": row.get("recheck_overdue_event_id") is not None}


async def raise_for(ctx: InspectionContext, task: RowMapping, submission: dict[str, Any],
                    failed: list[dict[str, Any]]) -> list[str]:
    """One hazard per failed item (none for an item whose hazard is still unrectified), each a
    chain link after its submission's, each with hazard.raised; their ids."""
    already = await repo.open_items(ctx.session, task["id"])
    now, today = ctx.now(), ctx.today()
    matters = {m["code"]: m for m in task["matters"]}
    raised = []
    for result in failed:
        if result["code"] in already:
            continue
        matter = matters[result["code"]]
        hazard_id = str(uuid.uuid4())
        deadline = rules.rectification_deadline(today, matter["severity"], ctx.settings.hazard_deadline_days)
        description = matter["text"] + (f": {result['note']}" if result.get("note") else "")
        payload = {"hazard_id": hazard_id, "task_id": task["id"], "submission_id": submission["id"],
                   "submission_sequence": submission["chain_sequence"], "item_code": result["code"],
                   "description": description, "severity": matter["severity"], "raised_at": now.isoformat(),
                   "deadline_date": deadline.isoformat()}
        [link] = await chain.append(ctx, task["enterprise_uscc"], HAZARD, [payload])
        await repo.insert_hazard(ctx.session, {
            "id": hazard_id, "enterprise_uscc": task["enterprise_uscc"], "jurisdiction_code": task["jurisdiction_code"],
            "task_id": task["id"], "submission_id": submission["id"], "item_code": result["code"],
            "description": description, "severity": matter["severity"], "raised_at": now, "deadline_date": deadline,
            "status": "open", "chain_sequence": link.sequence, "version": 1})
        await ctx.outbox.publish(ctx.session, HAZARD_RAISED, subject=task["enterprise_uscc"], data=HazardRaised(
            hazard_id=hazard_id, enterprise_uscc=task["enterprise_uscc"], deadline_date=deadline,
            severity=matter["severity"], description=description))
        raised.append(hazard_id)
    return raised


async def readable(ctx: InspectionContext, hazard_id: str, *, lock: bool = False) -> RowMapping:
    row = await repo.get_hazard(ctx.session, hazard_id, lock=lock)
    if row is None:
        raise not_found("hazard", hazard_id)
    access.ensure_may_read(ctx.principal, row["enterprise_uscc"], row["jurisdiction_code"])
    return row


async def get(ctx: InspectionContext, hazard_id: str) -> dict[str, Any]:
    row = await readable(ctx, hazard_id)
    return hazard_out(row, await repo.evidence_of(ctx.session, hazard_id))


async def list_hazards(ctx: InspectionContext, *, enterprise: str | None, status: str | None,
                       overdue: bool | None, page: PageParams, after: Any) -> dict[str, Any]:
    access.ensure_may_list(ctx.principal)
    table = repo.hazards
    conditions = visible(table, ctx.principal)
    if enterprise:
        conditions.append(table.c.enterprise_uscc == enterprise)
    if status:
        conditions.append(table.c.status == status)
    if overdue is not None:
        past = (table.c.status == "open") & (table.c.deadline_date < ctx.today())  # rules.is_overdue
        conditions.append(past if overdue else ~past)
    rows = await repo.list_hazards(ctx.session, conditions, after, page.limit + 1)
    return make_page(rows, page, lambda r: [r["raised_at"].isoformat(), r["id"]], hazard_out)


async def submit_evidence(ctx: InspectionContext, hazard_id: str, note: str, photos: list[str]) -> dict[str, Any]:
    """The enterprise's evidence of rectification: the hazard awaits verification, its re-check
    due within ``hazard_recheck_working_days`` working days."""
    hazard = await readable(ctx, hazard_id, lock=True)
    access.ensure_enterprise_acts(ctx.principal, hazard["enterprise_uscc"], "submit evidence")
    if hazard["status"] != "open":
        raise conflict(f"hazard {hazard_id} is {hazard['status']}: evidence is taken while it is open")
    await blobs.ensure_held(ctx, hazard["enterprise_uscc"], photos)
    now, today = ctx.now(), ctx.today()
    due = rules.recheck_due(today, ctx.settings.hazard_recheck_working_days)
    evidence_id = str(uuid.uuid4())
    [link] = await chain.append(ctx, hazard["enterprise_uscc"], EVIDENCE, [{
        "evidence_id": evidence_id, "hazard_id": hazard_id, "hazard_sequence": hazard["chain_sequence"], "note": note,
        "photos": photos, "submitted_by": ctx.actor, "submitted_at": now.isoformat(),
        "recheck_due_date": due.isoformat()}])
    if not await repo.change(ctx.session, hazard_id, hazard["version"], status="evidence_submitted",
                             recheck_due_date=due):
        raise conflict(f"hazard {hazard_id} changed meanwhile; read it and try again")
    values = {"id": evidence_id, "hazard_id": hazard_id, "enterprise_uscc": hazard["enterprise_uscc"], "note": note,
              "photos": photos, "submitted_by": ctx.actor, "submitted_at": now, "chain_sequence": link.sequence,
              "verdict": None, "verdict_note": None, "verdict_by": None, "verdict_at": None, "verdict_sequence": None,
              "recheck_overdue_event_id": None}
    await repo.insert_evidence(ctx.session, values)
    await audit(ctx.session, actor=ctx.actor, action="hazard.evidence_submitted", subject=hazard["enterprise_uscc"],
                detail={"hazard_id": hazard_id, "evidence_id": evidence_id, "recheck_due_date": due.isoformat()})
    return await get(ctx, hazard_id)


async def verify(ctx: InspectionContext, hazard_id: str, verdict: str, note: str) -> dict[str, Any]:
    """A regulator's verdict on the pending evidence: accepted → rectified (hazard.rectified);
    rejected → open again (its deadline unchanged)."""
    hazard = await readable(ctx, hazard_id, lock=True)
    access.ensure_may_verify(ctx.principal, hazard["jurisdiction_code"])
    pending = await repo.pending_evidence(ctx.session, hazard_id)
    if hazard["status"] != "evidence_submitted" or pending is None:
        raise conflict(f"hazard {hazard_id} is {hazard['status']}: there is no evidence awaiting verification")
    if verdict == "rejected" and not note:
        raise field_error("note", "say why the evidence is rejected")
    now, today = ctx.now(), ctx.today()
    rectified: date | None = today if verdict == "accepted" else None
    [link] = await chain.append(ctx, hazard["enterprise_uscc"], VERIFICATION, [{
        "hazard_id": hazard_id, "evidence_id": pending["id"], "evidence_sequence": pending["chain_sequence"],
        "verdict": verdict, "note": note, "verified_by": ctx.actor, "verified_at": now.isoformat(),
        "rectified_date": rectified.isoformat() if rectified else None}])
    changes: dict[str, Any] = ({"status": "rectified", "rectified_date": rectified, "verified_by": ctx.actor}
                               if rectified else {"status": "open", "recheck_due_date": None})
    if not await repo.change(ctx.session, hazard_id, hazard["version"], **changes):
        raise conflict(f"hazard {hazard_id} changed meanwhile; read it and try again")
    await repo.set_verdict(ctx.session, pending["id"], verdict=verdict, verdict_note=note, verdict_by=ctx.actor,
                           verdict_at=now, verdict_sequence=link.sequence)
    if rectified:
        await ctx.outbox.publish(ctx.session, HAZARD_RECTIFIED, subject=hazard["enterprise_uscc"],
                                 data=HazardRectified(hazard_id=hazard_id, enterprise_uscc=hazard["enterprise_uscc"],
                                                      rectified_date=rectified))
    await audit(ctx.session, actor=ctx.actor, action=f"hazard.evidence_{verdict}", subject=hazard["enterprise_uscc"],
                detail={"hazard_id": hazard_id, "evidence_id": pending["id"], "note": note})
    return await get(ctx, hazard_id)


async def report_overdue(ctx: InspectionContext, today: date, limit: int = 500) -> list[dict[str, Any]]:
    """hazard.overdue once per hazard whose deadline passed while open (evidence awaiting a verdict
    stops the clock; rejected evidence restarts it). Safe to repeat and to run on every replica."""
    reported = []
    for hazard_id in await repo.overdue_candidates(ctx.session, today, limit):
        row = await repo.claim_overdue(ctx.session, hazard_id, today)
        if row is None:
            continue
        event = await ctx.outbox.publish(ctx.session, HAZARD_OVERDUE, subject=row["enterprise_uscc"],
                                         data=HazardOverdue(hazard_id=hazard_id, enterprise_uscc=row["enterprise_uscc"],
                                                            deadline_date=row["deadline_date"], detected_on=today))
        await repo.set_overdue_event(ctx.session, hazard_id, event.id)
        reported.append({"hazard_id": hazard_id, "enterprise_uscc": row["enterprise_uscc"], "event_id": event.id})
    return reported


async def report_recheck_overdue(ctx: InspectionContext, today: date, limit: int = 500) -> list[dict[str, Any]]:
    """hazard.recheck_overdue once per piece of evidence still unverified after its hazard's
    re-check due date (``hazard_recheck_working_days`` working days after it was submitted; the
    due date itself still counts). New evidence after a rejection has a due date, and an event,
    of its own. Safe to repeat and to run on every replica."""
    reported = []
    for row in await repo.recheck_overdue_candidates(ctx.session, today, limit):
        if not await repo.claim_recheck_overdue(ctx.session, row["id"]):
            continue
        event = await ctx.outbox.publish(ctx.session, HAZARD_RECHECK_OVERDUE, subject=row["enterprise_uscc"],
                                         data=HazardRecheckOverdue(
                                             hazard_id=row["hazard_id"], enterprise_uscc=row["enterprise_uscc"],
                                             evidence_id=row["id"], recheck_due_date=row["recheck_due_date"],
                                             detected_on=today))
        await repo.set_recheck_overdue_event(ctx.session, row["id"], event.id)
        reported.append({"hazard_id": row["hazard_id"], "evidence_id": row["id"],
                         "enterprise_uscc": row["enterprise_uscc"], "event_id": event.id})
    return reported


# --- what verification compares with the links (chain.service.verify) ---------------------------

class HazardCheck:
    """Each hazard link's hazard is still there as raised (item, severity, deadline, description),
    each hazard_evidence link's evidence as submitted (note, photos); none unsealed."""

    kind = HAZARD

    def __init__(self) -> None:
        self.sealed = 0

    async def check(self, session: Any, uscc: str, links: Any) -> Broken | None:
        held = await repo.hazards_at(session, uscc, [link.sequence for link in links])
        for link in links:
            self.sealed += 1
            p, row = json.loads(link.payload), held.get(link.sequence)
            if row is None or (row["id"], row["item_code"], row["severity"], row["deadline_date"].isoformat(),
                               row["description"]) != (p["hazard_id"], p["item_code"], p["severity"],
                                                       p["deadline_date"], p["description"]):
                return Broken(link.sequence, f"the hazard link {link.sequence} sealed was "
                                             f"{'deleted' if row is None else 'edited'}")
        return None

    async def finish(self, session: Any, uscc: str, length: int) -> Broken | None:
        held = await repo.count_hazards(session, uscc)
        if held != self.sealed:
            return Broken(length + 1, f"{held} hazards are stored but the chain sealed {self.sealed}")
        return None


class EvidenceCheck:
    kind = EVIDENCE

    def __init__(self) -> None:
        self.sealed = 0

    async def check(self, session: Any, uscc: str, links: Any) -> Broken | None:
        held = await repo.evidence_at(session, uscc, [link.sequence for link in links])
        for link in links:
            self.sealed += 1
            p, row = json.loads(link.payload), held.get(link.sequence)
            if row is None or (row["id"], row["hazard_id"], row["note"], list(row["photos"])) != (
                    p["evidence_id"], p["hazard_id"], p["note"], p["photos"]):
                return Broken(link.sequence, f"the evidence link {link.sequence} sealed was "
                                             f"{'deleted' if row is None else 'edited'}")
        return None

    async def finish(self, session: Any, uscc: str, length: int) -> Broken | None:
        held = await repo.count_evidence(session, uscc)
        if held != self.sealed:
            return Broken(length + 1, f"{held} pieces of evidence are stored but the chain sealed {self.sealed}")
        return None


def content_checks() -> list[Any]:
    """Fresh checks of self-inspection's record families for one verification."""
    from services.inspection.tasks.service import SubmissionCheck

    return [SubmissionCheck(), HazardCheck(), EvidenceCheck()]
