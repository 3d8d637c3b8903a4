"""HTTP endpoints of cases (open, evidence, proposal, decision, close), orders to correct
(report, verify) and the legal-basis catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.enforcement.access import CaseId, Ctx, Jurisdiction, OrderId, PageByTime
from services.enforcement.cases import service
from services.enforcement.cases.schemas import (
    CaseCreate,
    CaseDetail,
    CaseOut,
    CatalogueOut,
    CloseRequest,
    DecisionCreate,
    EvidenceCreate,
    Facts,
    OffenceOut,
    OrderOut,
    ReportRequest,
    VerifyRequest,
)
from services.enforcement.domain.cases import CaseStatus, OrderStatus
from services.enforcement.domain.legal_basis import OFFENCE_CODE_PATTERN
from shared.contracts.common import USCC_PATTERN
from shared.http.openapi import problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["cases"])
STEP = problem_responses(409, s409="the case's status does not allow this step")
Enterprise = Annotated[str | None, Query(pattern=USCC_PATTERN, description="one enterprise's")]


@router.get("/legal-basis", summary="The legal-basis catalogue in effect: offences, articles, fine ranges, lists")
async def catalogue(ctx: Ctx) -> CatalogueOut:
    current = ctx.catalogue()
    return CatalogueOut(version=current.version, effective_from=current.effective_from,
                        offences=[OffenceOut.of(c, o) for c, o in sorted(current.offences.items())])


@router.post("/cases", status_code=status.HTTP_201_CREATED,
             summary="Open a case (立案) from a finding, an alert or a report (publishes case.opened)")
async def open_case(body: CaseCreate, ctx: Ctx) -> CaseOut:
    return CaseOut.of(await service.open_case(ctx, body.enterprise_uscc, body.offence_code, body.source.kind,
                                              body.source.id, body.summary))


@router.get("/cases", summary="Cases the caller may see, newest first")
async def list_cases(
    ctx: Ctx, page: PageByTime, jurisdiction: Jurisdiction = None, enterprise: Enterprise = None,
    status: CaseStatus | None = None,
    offence_code: Annotated[str | None, Query(pattern=OFFENCE_CODE_PATTERN, max_length=40)] = None,
) -> Page[CaseOut]:
    filters = {"jurisdiction": jurisdiction, "enterprise": enterprise, "status": status, "offence_code": offence_code}
    found = await service.list_cases(ctx, filters, page.params, page.after)
    return Page[CaseOut](items=[CaseOut.of(c) for c in found["items"]], next_cursor=found["next_cursor"])


@router.get("/cases/{case_id}", summary="One case with its evidence and history")
async def read_case(case_id: CaseId, ctx: Ctx) -> CaseDetail:
    return CaseDetail.build(*await service.read_case(ctx, case_id))


@router.post("/cases/{case_id}/evidence", status_code=status.HTTP_201_CREATED, responses=STEP,
             summary="Add evidence (调查取证)")
async def add_evidence(case_id: CaseId, body: EvidenceCreate, ctx: Ctx) -> CaseDetail:
    await service.add_evidence(ctx, case_id, body.kind, body.description, body.blob_sha256)
    return CaseDetail.build(*await service.read_case(ctx, case_id))


@router.post("/cases/{case_id}/proposal", responses=STEP,
             summary="Record the facts; the platform proposes the outcome with its reasons (三张清单)")
async def propose(case_id: CaseId, body: Facts, ctx: Ctx) -> CaseOut:
    return CaseOut.of(await service.propose(ctx, case_id, body.model_dump()))


@router.post("/cases/{case_id}/decision", responses=problem_responses(
    409, s409="the case has no proposal yet, or is decided already"),
    summary="Decide and sign (a fine outside the article's range is a 422 naming it; publishes penalty.decided)")
async def decide(case_id: CaseId, body: DecisionCreate, ctx: Ctx) -> CaseOut:
    return CaseOut.of(await service.decide(ctx, case_id, body.model_dump()))


@router.post("/cases/{case_id}/close", responses=STEP, summary="Close a decided case (结案)")
async def close(case_id: CaseId, body: CloseRequest, ctx: Ctx) -> CaseOut:
    return CaseOut.of(await service.close(ctx, case_id, body.note))


@router.get("/orders", summary="Orders to correct the caller may see, newest first")
async def list_orders(ctx: Ctx, page: PageByTime, jurisdiction: Jurisdiction = None, enterprise: Enterprise = None,
                      status: OrderStatus | None = None) -> Page[OrderOut]:
    found = await service.list_orders(ctx, {"jurisdiction": jurisdiction, "enterprise": enterprise,
                                            "status": status}, page.params, page.after)
    return Page[OrderOut](items=[OrderOut.of(o) for o in found["items"]], next_cursor=found["next_cursor"])


@router.get("/orders/{order_id}", summary="One order to correct")
async def read_order(order_id: OrderId, ctx: Ctx) -> OrderOut:
    return OrderOut.of(await service.read_order(ctx, order_id))


@router.post("/orders/{order_id}/rectification", responses=problem_responses(
    409, s409="the order is not open"), summary="The enterprise reports it corrected (starts the re-check window)")
async def report(order_id: OrderId, body: ReportRequest, ctx: Ctx) -> OrderOut:
    return OrderOut.of(await service.report_rectified(ctx, order_id, body.note))


@router.post("/orders/{order_id}/verification", responses=problem_responses(
    409, s409="the order is rectified already, or failed verification without a new report"),
    summary="A regulator's re-check: rectified (publishes order.rectified) or back to open")
async def verify(order_id: OrderId, body: VerifyRequest, ctx: Ctx) -> OrderOut:
    return OrderOut.of(await service.verify(ctx, order_id, body.passed, body.note))
