"""Cases (立案) and decisions, orders to correct (责令改正).

A case is opened from a patrol finding, an alert or a public report under an offence of the
legal-basis catalogue in effect (``case.opened``); evidence is added; the platform proposes the
outcome from the facts the regulator records (three lists, sandbox, grace period: see
``domain/legal_basis.py``); the regulator decides and signs (``case.decided`` for every outcome,
``penalty.decided`` for a fine; an order to correct it carries is issued with it); the case is
closed. Every step is a row of the case's history and of the audit log, with who and when.

An order to correct is published when issued (``order.issued``) and when a regulator verifies
its rectification (``order.rectified``); the enterprise reports its rectification first, which
starts the re-check window (``inspection.recheck_working_days`` working days, holidays and 调休
from ``chinese-calendar``). Every change runs with the row locked and bumps its ``version``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict
from datetime import date
from typing import Any

from services.enforcement import events
from services.enforcement.access import (
    Scope,
    ensure_own_enterprise,
    ensure_reads,
    ensure_regulates,
    read_scope,
)
from services.enforcement.alerts import repository as alerts_repo
from services.enforcement.cases import repository as repo
from services.enforcement.context import EnforcementContext
from services.enforcement.domain import cases, legal_basis
from services.enforcement.domain.cases import InvalidStep
from services.enforcement.domain.legal_basis import CaseFacts, DecisionRefused, Offence
from services.enforcement.errors import field_error, forbidden, invalid_transition, not_found
from services.enforcement.models import Case, CaseEvidence, CaseStep, OrderToCorrectRow
from services.enforcement.patrols import repository as patrols_repo
from services.enforcement.projection import repository as projection
from services.enforcement.repository import audit
from shared.contracts.enforcement import CASE_DECIDED, CASE_OPENED, ORDER_ISSUED, ORDER_RECTIFIED, PENALTY_DECIDED
from shared.events.context import current_cause
from shared.http.pagination import PageParams, make_page
from shared.http.problems import TYPE_BASE, Problem
from shared.locality import in_jurisdiction
from shared.workdays import add_working_days


async def _enterprise(ctx: EnforcementContext, uscc: str, field_name: str) -> Any:
    row = await projection.get_enterprise(ctx.session, uscc)
    if row is None or row.revision == 0:
        raise field_error(field_name, f"no enterprise {uscc} is known to enforcement (registry has not published it)")
    return row


def _offence(ctx: EnforcementContext, code: str, field_name: str = "offence_code") -> Offence:
    offence = ctx.catalogue().offence(code)
    if offence is None:
        raise field_error(field_name, f"{code} is not in the legal-basis catalogue {ctx.catalogue().version} "
                                      f"(known: {', '.join(sorted(ctx.catalogue().offences))})")
    return offence


# --- opening and the workflow -------------------------------------------------------------------

async def open_case(ctx: EnforcementContext, uscc: str, offence_code: str, source_kind: str, source_id: str,
                    summary: str, *, field_prefix: str = "") -> Case:
    unit = await _enterprise(ctx, uscc, f"{field_prefix}enterprise_uscc")
    location = unit.grid_code or unit.jurisdiction_code
    ensure_regulates(ctx.principal, location, "open cases against this enterprise")
    _offence(ctx, offence_code, f"{field_prefix}offence_code")
    if source_kind == "finding":
        finding = await patrols_repo.get_finding(ctx.session, source_id)
        if finding is None or finding.enterprise_uscc != uscc:
            raise field_error(f"{field_prefix}source.id", f"no patrol finding {source_id} of enterprise {uscc}")
    elif source_kind == "alert":
        alert = await alerts_repo.get(ctx.session, source_id)
        if alert is None or alert.enterprise_uscc != uscc:
            raise field_error(f"{field_prefix}source.id", f"no alert {source_id} of enterprise {uscc}")
    now = ctx.now()
    case = Case(id=str(uuid.uuid4()), enterprise_uscc=uscc, jurisdiction_code=unit.jurisdiction_code,
                grid_code=unit.grid_code, location_code=location, offence_code=offence_code,
                catalogue_version=ctx.catalogue().version, source_kind=source_kind, source_id=source_id,
                summary=summary, status="opened", opened_at=now, opened_by=ctx.actor, updated_at=now, version=1)
    ctx.session.add(case)
    await ctx.session.flush()
    _step(ctx, case, "opened", None, {"source": {"kind": source_kind, "id": source_id}, "offence_code": offence_code})
    await ctx.outbox.publish(ctx.session, CASE_OPENED, subject=uscc, data=events.case_opened(case))
    await audit(ctx.session, actor=ctx.actor, action="case.opened", subject=case.id,
                detail={"enterprise_uscc": uscc, "offence_code": offence_code, "source_kind": source_kind,
                        "source_id": source_id})
    return case


async def _locked(ctx: EnforcementContext, case_id: str, verb: str) -> Case:
    case = await repo.get_case(ctx.session, case_id, for_update=True)
    if case is None:
        raise not_found("case", case_id)
    ensure_regulates(ctx.principal, case.location_code, verb)
    return case


def _advance(ctx: EnforcementContext, case: Case, verb: str, detail: dict[str, Any]) -> None:
    try:
        after = cases.case_step(case.status, verb)
    except InvalidStep as exc:
        raise invalid_transition(str(exc), case.status) from exc
    before = case.status
    case.status, case.updated_at = after, ctx.now()
    case.version += 1
    _step(ctx, case, verb, before, detail)


async def add_evidence(ctx: EnforcementContext, case_id: str, kind: str, description: str,
                       blob_sha256: str | None) -> tuple[Case, CaseEvidence]:
    case = await _locked(ctx, case_id, "add evidence to this case")
    _advance(ctx, case, "add_evidence", {"kind": kind, "blob_sha256": blob_sha256})
    row = CaseEvidence(case_id=case_id, kind=kind, description=description, blob_sha256=blob_sha256,
                       added_at=ctx.now(), added_by=ctx.actor)
    ctx.session.add(row)
    await ctx.session.flush()
    return case, row


def _facts(values: dict[str, Any]) -> CaseFacts:
    return CaseFacts(**{**values, "must_mitigate_grounds": tuple(values.get("must_mitigate_grounds") or ()),
                        "may_mitigate_grounds": tuple(values.get("may_mitigate_grounds") or ())})


async def propose(ctx: EnforcementContext, case_id: str, facts: dict[str, Any]) -> Case:
    """The platform's proposal, with its reasons, from the facts established."""
    case = await _locked(ctx, case_id, "propose a decision for this case")
    offence = _offence(ctx, case.offence_code)
    unit = await projection.get_enterprise(ctx.session, case.enterprise_uscc)
    proposal = legal_basis.propose(offence, _facts(facts), sandbox=bool(unit and unit.sandbox))
    _advance(ctx, case, "propose", {"outcome": proposal.outcome})
    case.facts = facts
    case.proposal = _proposal_json(proposal)
    await ctx.session.flush()
    return case


def _proposal_json(proposal: legal_basis.Proposal) -> dict[str, Any]:
    values = asdict(proposal)
    values["legal_range"] = proposal.legal_range.model_dump()
    values["suggested_fine"] = proposal.suggested_fine.model_dump() if proposal.suggested_fine else None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


async def decide(ctx: EnforcementContext, case_id: str, decision: dict[str, Any]) -> Case:
    """The regulator decides and signs; a fine outside the article's range is refused (422 with
    the range), an exemption of an offence that leaves a hazard too. Nothing changes on a refusal."""
    case = await _locked(ctx, case_id, "decide this case")
    if case.status != "proposed" or case.facts is None:
        raise invalid_transition(f"a case that is {case.status} cannot be decided (only once proposed)", case.status)
    offence = _offence(ctx, case.offence_code)
    try:
        legal_basis.check_decision(offence, _facts(case.facts), decision["outcome"], decision.get("fine_yuan"),
                                   decision.get("revoke_permit", False))
    except DecisionRefused as exc:
        raise Problem(422, "Decision refused", f"{exc.field}: {exc}", type=TYPE_BASE + "decision-refused",
                      errors=[{"field": exc.field, "message": str(exc)}], **exc.extra) from exc
    order = decision.get("order")
    if decision["outcome"] == "order_to_correct" and order is None:
        raise field_error("order", "a decision to order correction names the requirement and the deadline")
    now = ctx.now()
    signed = {k: v for k, v in decision.items() if k != "order"}
    signed.update(fine_yuan=decision.get("fine_yuan") or 0, case_id=case.id, offence_code=case.offence_code,
                  article=offence.article, signed_by=ctx.actor, signed_at=now.isoformat(),
                  followed_proposal=(case.proposal or {}).get("outcome") == decision["outcome"])
    signed["digest"] = hashlib.sha256(json.dumps(signed, sort_keys=True, ensure_ascii=False,
                                                 default=str).encode()).hexdigest()
    if order is not None:
        issued = await issue_order(ctx, case.enterprise_uscc, order["requirement"], order["deadline_date"],
                                   case_id=case.id, field_prefix="order.")
        signed["order_id"] = issued.id
    _advance(ctx, case, "decide", {"outcome": decision["outcome"], "fine_yuan": signed["fine_yuan"],
                                   "digest": signed["digest"]})
    case.decision, case.decided_at, case.decided_by = signed, now, ctx.actor
    if decision["outcome"] == "fine":
        case.penalty_id = str(uuid.uuid4())
        await ctx.outbox.publish(ctx.session, PENALTY_DECIDED, subject=case.enterprise_uscc,
                                 data=events.penalty_decided(case))
    await ctx.outbox.publish(ctx.session, CASE_DECIDED, subject=case.enterprise_uscc, data=events.case_decided(case))
    await ctx.session.flush()
    await audit(ctx.session, actor=ctx.actor, action="case.decided", subject=case.id, detail=signed)
    return case


async def close(ctx: EnforcementContext, case_id: str, note: str) -> Case:
    case = await _locked(ctx, case_id, "close this case")
    _advance(ctx, case, "close", {"note": note})
    case.closed_at = ctx.now()
    await ctx.session.flush()
    await audit(ctx.session, actor=ctx.actor, action="case.closed", subject=case.id, detail={"note": note})
    return case


def _step(ctx: EnforcementContext, case: Case, step: str, before: str | None, detail: dict[str, Any]) -> None:
    ctx.session.add(CaseStep(case_id=case.id, at=ctx.now(), actor=ctx.actor, step=step, from_status=before,
                             to_status=case.status, detail=detail, request_id=current_cause.get().request_id))


# --- orders to correct --------------------------------------------------------------------------

async def issue_order(ctx: EnforcementContext, uscc: str, requirement: str, deadline: date, *,
                      case_id: str | None = None, finding_id: str | None = None,
                      field_prefix: str = "") -> OrderToCorrectRow:
    unit = await _enterprise(ctx, uscc, f"{field_prefix}enterprise_uscc")
    location = unit.grid_code or unit.jurisdiction_code
    ensure_regulates(ctx.principal, location, "order this enterprise to correct")
    today = ctx.today()
    if deadline <= today:
        raise field_error(f"{field_prefix}deadline_date", f"the deadline must lie after today ({today})")
    now = ctx.now()
    order = OrderToCorrectRow(
        id=str(uuid.uuid4()), enterprise_uscc=uscc, jurisdiction_code=unit.jurisdiction_code,
        grid_code=unit.grid_code, location_code=location, case_id=case_id, finding_id=finding_id,
        requirement=requirement, status="open", issued_at=now, issued_by=ctx.actor, issued_date=today,
        deadline_date=deadline, updated_at=now, version=1)
    ctx.session.add(order)
    await ctx.session.flush()
    await ctx.outbox.publish(ctx.session, ORDER_ISSUED, subject=uscc, data=events.order(order))
    await audit(ctx.session, actor=ctx.actor, action="order.issued", subject=order.id, detail={
        "enterprise_uscc": uscc, "deadline_date": deadline.isoformat(), "case_id": case_id, "finding_id": finding_id})
    return order


def _order_step(order: OrderToCorrectRow, verb: str) -> str:
    try:
        return cases.order_step(order.status, verb)
    except InvalidStep as exc:
        raise invalid_transition(str(exc), order.status) from exc


async def report_rectified(ctx: EnforcementContext, order_id: str, note: str) -> OrderToCorrectRow:
    """The enterprise says it corrected: the re-check is due within the policy's working days."""
    order = await repo.get_order(ctx.session, order_id, for_update=True)
    if order is None:
        raise not_found("order to correct", order_id)
    ensure_own_enterprise(ctx.principal, order.enterprise_uscc, "report this order's rectification")
    order.status = _order_step(order, "report")
    today = ctx.today()
    order.reported_at, order.report_note = ctx.now(), note
    order.recheck_due_date = add_working_days(today, ctx.supervision().inspection.recheck_working_days)
    order.updated_at = ctx.now()
    order.version += 1
    await ctx.session.flush()
    await audit(ctx.session, actor=ctx.actor, action="order.reported", subject=order.id,
                detail={"note": note, "recheck_due_date": order.recheck_due_date.isoformat()})
    return order


async def verify(ctx: EnforcementContext, order_id: str, passed: bool, note: str) -> OrderToCorrectRow:
    """A regulator's re-check: rectified (``order.rectified``), or back to open."""
    order = await repo.get_order(ctx.session, order_id, for_update=True)
    if order is None:
        raise not_found("order to correct", order_id)
    ensure_regulates(ctx.principal, order.location_code, "verify this order's rectification")
    order.status = _order_step(order, "verify_passed" if passed else "verify_failed")
    order.verified_by, order.verification_note, order.updated_at = ctx.actor, note, ctx.now()
    order.version += 1
    if passed:
        order.rectified_date = ctx.today()
        await ctx.outbox.publish(ctx.session, ORDER_RECTIFIED, subject=order.enterprise_uscc, data=events.order(order))
    else:
        order.recheck_due_date = None
    await ctx.session.flush()
    await audit(ctx.session, actor=ctx.actor, action="order.verified", subject=order.id,
                detail={"passed": passed, "note": note})
    return order


# --- reads --------------------------------------------------------------------------------------

def _list_scope(ctx: EnforcementContext, what: str, filters: dict[str, Any]) -> Scope:
    scope = read_scope(ctx.principal, what, enterprise_reads=True)
    if filters.get("jurisdiction") and scope.node and not in_jurisdiction(scope.node, filters["jurisdiction"]):
        raise forbidden(f"jurisdiction {filters['jurisdiction']} lies outside yours ({scope.node})")
    return scope


async def list_cases(ctx: EnforcementContext, filters: dict[str, Any], params: PageParams,
                     after: Any) -> dict[str, Any]:
    rows = await repo.search_cases(ctx.session, _list_scope(ctx, "cases", filters), filters, limit=params.limit,
                                   after=after)
    return make_page(rows, params, lambda c: [c.opened_at.isoformat(), c.id])


async def read_case(ctx: EnforcementContext, case_id: str) -> tuple[Case, list[CaseEvidence], list[CaseStep]]:
    case = await repo.get_case(ctx.session, case_id)
    if case is None:
        raise not_found("case", case_id)
    ensure_reads(ctx.principal, "case", case.location_code, case.enterprise_uscc)
    return case, await repo.evidence(ctx.session, case_id), await repo.history(ctx.session, case_id)


async def list_orders(ctx: EnforcementContext, filters: dict[str, Any], params: PageParams,
                      after: Any) -> dict[str, Any]:
    rows = await repo.search_orders(ctx.session, _list_scope(ctx, "orders to correct", filters), filters,
                                    limit=params.limit, after=after)
    return make_page(rows, params, lambda o: [o.issued_at.isoformat(), o.id])


async def read_order(ctx: EnforcementContext, order_id: str) -> OrderToCorrectRow:
    order = await repo.get_order(ctx.session, order_id)
    if order is None:
        raise not_found("order to correct", order_id)
    ensure_reads(ctx.principal, "order to correct", order.location_code, order.enterprise_uscc)
    return order
