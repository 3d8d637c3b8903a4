"""HTTP endpoints of the risk map and its click-through (regulators, their subtree)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from services.portal.access import Ctx
from services.portal.map import service
from services.portal.map.schemas import FeatureCollection, OutlineCollection, UnitDetail
from shared.contracts.common import USCC_PATTERN
from shared.locality import DIVISION_CODE_PATTERN

router = APIRouter(prefix="/api/v1", tags=["map"])
NUMBER = r"-?\d{1,3}(\.\d{1,12})?"
BBOX = rf"^{NUMBER}(,{NUMBER}){{3}}$"
GradeFilter = Literal["A", "B", "C", "D", "ungraded"]
Jurisdiction = Annotated[str | None, Query(pattern=DIVISION_CODE_PATTERN, description=(
    "a node inside yours (default: yours)"))]


def _filters(
    jurisdiction: Jurisdiction = None,
    grade: Annotated[list[GradeFilter] | None, Query(max_length=5, description="one or more grades")] = None,
    category: Annotated[str | None, Query(pattern=r"^[1-9][0-9A-Z]00$", description=(
        "units with in-use equipment of this catalogue code; a family (3000) takes its sub-categories"))] = None,
    key_supervision: Annotated[bool | None, Query(description="only key-supervision units (or only others)")] = None,
) -> dict[str, Any]:
    return {"jurisdiction": jurisdiction, "grades": grade, "category": category, "key_supervision": key_supervision}


Filters = Annotated[dict[str, Any], Depends(_filters)]


@router.get("/map/units", summary="Units as GeoJSON points coloured by grade (WGS-84), with the filters")
async def units(ctx: Ctx, filters: Filters) -> FeatureCollection:
    return FeatureCollection.model_validate(await service.features(ctx, filters))


@router.get("/map/outlines", summary=(
    "Jurisdiction outlines as GeoJSON polygons: each district's (or grid's) units, hulled and padded"))
async def outlines(ctx: Ctx, jurisdiction: Jurisdiction = None,
                   level: Annotated[Literal["jurisdiction", "grid"], Query(description=(
                       "districts and counties, or the grids (units without a grid are in none)"))] = "jurisdiction",
                   ) -> OutlineCollection:
    return OutlineCollection.model_validate(await service.outline_features(ctx, level, jurisdiction))


@router.get("/map.svg", response_class=Response, summary=(
    "The risk map as SVG: points by grade, clustered, over their jurisdictions' outlines"),
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}})
async def picture(ctx: Ctx, filters: Filters,
                  bbox: Annotated[str | None, Query(max_length=100, pattern=BBOX, description=(
                      "min_lon,min_lat,max_lon,max_lat (WGS-84) to zoom in; default: around the units"))] = None,
                  width: Annotated[int, Query(ge=200, le=4000, description="picture width in pixels")] = 800,
                  cluster_px: Annotated[int, Query(ge=0, le=200, description=(
                      "cluster size in pixels: points closer than this merge (0: never)"))] = 24,
                  outlines: Annotated[Literal["auto", "jurisdiction", "grid", "none"], Query(description=(
                      "which outlines to draw under the points; auto: the grids in a view under 15 km across, "
                      "else the districts"))] = "auto") -> Response:
    svg = await service.picture(ctx, filters, bbox=bbox, width=width, cell_px=cluster_px, outline_level=outlines)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@router.get("/units/{uscc}", summary="One unit for the map's click-through: grade history, open alerts")
async def unit(ctx: Ctx, uscc: Annotated[str, Path(pattern=USCC_PATTERN)]) -> UnitDetail:
    return UnitDetail.model_validate(await service.unit(ctx, uscc))
