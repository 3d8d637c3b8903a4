"""HTTP endpoints of the dashboards: each statistic as JSON for charts and as CSV for export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.portal.access import Ctx
from services.portal.dashboards import service
from services.portal.dashboards.schemas import AlertSummary, Completion, GradeDistribution, GradeTrend
from services.portal.domain.statistics import GRADE_KEYS
from shared.http.parameters import day_of
from shared.locality import DIVISION_CODE_PATTERN

router = APIRouter(prefix="/api/v1/statistics", tags=["dashboards"])
Jurisdiction = Annotated[str | None, Query(pattern=DIVISION_CODE_PATTERN, description=(
    "a node inside your jurisdiction (default: yours)"))]
Months = Annotated[int, Query(ge=1, le=36, description="how many months back, this one included")]
DAY = r"^\d{4}-\d{2}-\d{2}$"
From = Annotated[str | None, Query(alias="from", pattern=DAY, json_schema_extra={"format": "date"},
                                   description="first due date counted (default: 30 days before to)")]
To = Annotated[str | None, Query(alias="to", pattern=DAY, json_schema_extra={"format": "date"},
                                 description="last due date counted (default: today); before from: nothing counted")]
CSV = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "the same figures as CSV"}}



def _csv(header: list[str], rows: Iterable[Iterable[Any]], name: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",  # BOM: Excel reads UTF-8
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/grades", summary="Grade distribution per child jurisdiction")
async def grades(ctx: Ctx, jurisdiction: Jurisdiction = None) -> GradeDistribution:
    return GradeDistribution.model_validate(await service.grade_distribution(ctx, jurisdiction))


@router.get("/grades.csv", response_class=Response, responses=CSV, summary="Grade distribution as CSV")
async def grades_csv(ctx: Ctx, jurisdiction: Jurisdiction = None) -> Response:
    found = await service.grade_distribution(ctx, jurisdiction)
    return _csv(["jurisdiction_code", *GRADE_KEYS, "total"],
                ([n["jurisdiction_code"], *(n["counts"][k] for k in (*GRADE_KEYS, "total"))] for n in found["nodes"]),
                "grades")


@router.get("/grade-trend", summary="Units per grade at each month's end")
async def trend(ctx: Ctx, jurisdiction: Jurisdiction = None, months: Months = 12) -> GradeTrend:
    return GradeTrend.model_validate(await service.grade_trend(ctx, jurisdiction, months))


@router.get("/grade-trend.csv", response_class=Response, responses=CSV, summary="The grade trend as CSV")
async def trend_csv(ctx: Ctx, jurisdiction: Jurisdiction = None, months: Months = 12) -> Response:
    found = await service.grade_trend(ctx, jurisdiction, months)
    return _csv(["month", "on_date", *GRADE_KEYS, "total"],
                ([p["month"], p["on_date"], *(p["counts"][k] for k in (*GRADE_KEYS, "total"))]
                 for p in found["points"]), "grade-trend")


@router.get("/alerts", summary="Alerts by kind and status")
async def alerts(ctx: Ctx, jurisdiction: Jurisdiction = None) -> AlertSummary:
    return AlertSummary.model_validate(await service.alert_summary(ctx, jurisdiction))


@router.get("/alerts.csv", response_class=Response, responses=CSV, summary="Alerts by kind and status as CSV")
async def alerts_csv(ctx: Ctx, jurisdiction: Jurisdiction = None) -> Response:
    found = await service.alert_summary(ctx, jurisdiction)
    return _csv(["kind", "status", "count"], ([i["kind"], i["status"], i["count"]] for i in found["items"]), "alerts")


@router.get("/self-inspection", summary="Self-inspection completion (tasks whose window closed) per child node")
async def self_inspection(ctx: Ctx, jurisdiction: Jurisdiction = None, start: From = None,
                          end: To = None) -> Completion:
    return Completion.model_validate(await service.self_inspection(ctx, jurisdiction, day_of("from", start),
                                                                   day_of("to", end)))


@router.get("/self-inspection.csv", response_class=Response, responses=CSV, summary="Self-inspection completion as CSV")
async def self_inspection_csv(ctx: Ctx, jurisdiction: Jurisdiction = None, start: From = None,
                              end: To = None) -> Response:
    found = await service.self_inspection(ctx, jurisdiction, day_of("from", start), day_of("to", end))
    return _csv(["jurisdiction_code", "due", "completed", "rate"],
                ([n["jurisdiction_code"], n["due"], n["completed"], n["rate"]] for n in found["nodes"]),
                "self-inspection")
