"""API shapes of the risk map and its click-through."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.locality import JurisdictionLevel


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] = Field(description='{"type": "Point", "coordinates": [lon, lat]} (WGS-84)')
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    """GeoJSON (RFC 7946); ``tile_url`` is the configured tile source, if any (none by default)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
    tile_url: str | None = None
    unlocated: int = Field(description="units matching the filters that have no coordinates yet")


class Polygon(BaseModel):
    type: Literal["Polygon"] = "Polygon"
    coordinates: list[list[list[float]]] = Field(description=(
        "one exterior ring of [lon, lat] (WGS-84), closed (first = last) and counter-clockwise"))


class OutlineProperties(BaseModel):
    code: str = Field(description="the district's or grid's division code")
    name: str | None = Field(description="the name registry gives the node (null until its tree reached the portal)")
    level: JurisdictionLevel = Field(description="the node's level in the tree (a county is a district)")
    units: int = Field(ge=1, description="the located units the outline is drawn around")
    label_point: list[float] = Field(description="[lon, lat] where its name goes: its units' mean, inside it")


class OutlineFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: Polygon
    properties: OutlineProperties


class OutlineCollection(BaseModel):
    """GeoJSON (RFC 7946): one polygon per district (or grid) holding located units: their convex
    hull padded on the ground, an outline of where its units lie rather than its legal boundary
    (registry's nodes carry none)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    level: Literal["jurisdiction", "grid"]
    features: list[OutlineFeature]


class GradeStep(BaseModel):
    grade: str
    since: datetime


class AlertBrief(BaseModel):
    alert_id: str
    kind: str
    action: str
    status: str
    raised_at: datetime


class UnitDetail(BaseModel):
    uscc: str
    name: str | None
    jurisdiction_code: str | None
    grid_code: str | None
    venue_type: str | None
    kinds: list[str]
    key_supervision: bool
    location: dict[str, float] | None
    grade: str | None
    score: float | None
    scored_at: datetime | None
    grade_history: list[GradeStep] = Field(description="newest first (the breakdown is scoring's: its score API)")
    open_alerts: list[AlertBrief]
    equipment_categories: list[str]
