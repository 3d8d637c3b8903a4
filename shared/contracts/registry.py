"""Events the registry publishes. Snapshots carry a per-aggregate ``revision`` so that readers
can apply them in any order: a snapshot older than what they hold is ignored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.contracts.common import EventData, Grade, ManagementKey, Uscc
from shared.contracts.vocabulary import (
    AccidentSeverity,
    CylinderStatus,
    EquipmentStatus,
    InspectionResult,
    KeySupervisionCause,
    OperatingStatus,
    VenueType,
)
from shared.events.spec import EventSpec
from shared.locality import JurisdictionLevel


class ManagementFactState(EventData):
    in_place: bool
    source: Literal["declared", "observed"]
    as_of: datetime


class EnterpriseSnapshot(EventData):
    """An enterprise (使用单位) as the registry holds it now, without personal data."""

    uscc: Uscc
    revision: int = Field(ge=1)
    name: str
    jurisdiction_code: str
    grid_code: str | None = None
    venue_type: VenueType
    kinds: list[str] = []
    general_credit_grade: Grade | None = None
    management: dict[ManagementKey, ManagementFactState] = {}
    key_supervision: bool = False
    key_supervision_reason: str | None = None
    key_supervision_causes: list[KeySupervisionCause] = []
    sandbox: bool = False
    operating: bool = True
    operating_status: OperatingStatus = "operating"
    location: dict[str, float] | None = None
    location_verified: bool = False
    associations: list[str] = []
    last_accident_date: date | None = None


class EquipmentSnapshot(EventData):
    uscc: Uscc
    equipment_id: str
    revision: int = Field(ge=1)
    category: str = Field(description="special-equipment catalogue code, e.g. 2300 gas cylinder")
    registration_no: str | None = None
    status: EquipmentStatus
    next_inspection_due: date | None = None
    last_inspection_date: date | None = None
    last_inspection_result: InspectionResult | None = None


class GasCylinderSnapshot(EventData):
    """One gas cylinder (气瓶) of a filling unit: what a filling-record check needs."""

    uscc: Uscc
    cylinder_id: str
    cylinder_no: str
    revision: int = Field(ge=1)
    medium: str | None = None
    next_inspection_date: date | None = None
    scrap_date: date | None = None
    status: CylinderStatus = "in_use"


class EquipmentInspectionOverdue(EventData):
    uscc: Uscc
    equipment_id: str
    next_inspection_due: date
    detected_on: date


class OperatorSnapshot(EventData):
    uscc: Uscc
    operator_id: str
    revision: int = Field(ge=1)
    certificate_no: str | None = None
    certificate_category: str | None = None
    certificate_valid_until: date | None = None
    active: bool = True


class OperatorCertificateExpired(EventData):
    uscc: Uscc
    operator_id: str
    certificate_valid_until: date
    detected_on: date


class LedgerItemRemoved(EventData):
    """A piece of equipment, a gas cylinder or an operator left an enterprise's ledger: it moved to
    another enterprise (``moved_to``; its snapshot under the new owner follows on that owner's key)
    or was deleted. Published on the old owner's key, so it stays in order with that owner's events.

    A reader keyed by (uscc, item id) deletes the row. A reader keyed by the item id alone deletes
    it only while it still holds it under ``uscc`` with a revision not above ``revision``: the new
    owner's snapshot (same revision) may arrive first, on another partition, and must survive."""

    uscc: Uscc
    item_id: str = Field(description="equipment_id, cylinder_id or operator_id")
    revision: int = Field(ge=1, description="the item's revision at removal (the move's new revision)")
    reason: Literal["moved", "deleted"] = "moved"
    moved_to: Uscc | None = None
    cylinder_no: str | None = Field(None, description="for gas cylinders: the cylinder number")


class AccidentReported(EventData):
    uscc: Uscc
    accident_id: str
    occurred_date: date
    equipment_id: str | None = None
    severity: AccidentSeverity = "general"
    enterprise_responsible: bool = True


class JurisdictionSnapshot(EventData):
    """A node of the jurisdiction tree (三级网络、网格化) as the registry holds it: what readers name a
    jurisdiction by. Keyed by its code; ``revision`` is the node's, so a reader applies only a
    newer one (an assignment of inspectors moves it too, and the next load carries it)."""

    code: str = Field(description="the division code: 6 digits, 9 for a township, 12 for a grid")
    revision: int = Field(ge=1)
    name: str
    level: JurisdictionLevel
    parent_code: str | None = None


class GridInspector(EventData):
    """A grid inspector (网格员): the subject of their token and a display name."""

    id: str
    name: str


class GridInspectorsAssigned(EventData):
    """A grid's responsible inspectors as the registry holds them now (the whole list; empty when
    none is left). Keyed by the grid code; ``revision`` is the jurisdiction node's, so a reader
    applies only a newer list."""

    grid_code: str
    revision: int = Field(ge=1)
    inspectors: list[GridInspector] = []
    assigned_at: datetime


ENTERPRISE_REGISTERED = EventSpec(
    "safegrid.registry.enterprise.registered.v1", "registry.enterprises", EnterpriseSnapshot,
    "An enterprise was added to the ledger.")
ENTERPRISE_UPDATED = EventSpec(
    "safegrid.registry.enterprise.updated.v1", "registry.enterprises", EnterpriseSnapshot,
    "An enterprise's ledger entry changed; the data is the whole new snapshot.")
ENTERPRISE_MANAGEMENT_FACTS_CHANGED = EventSpec(
    "safegrid.registry.enterprise.management_facts_changed.v1", "registry.enterprises", EnterpriseSnapshot,
    "Declared or observed management facts (三落实, 三到位, 双机制) changed.")
ENTERPRISE_KEY_SUPERVISION_CHANGED = EventSpec(
    "safegrid.registry.enterprise.key_supervision_changed.v1", "registry.enterprises", EnterpriseSnapshot,
    "The enterprise was designated for, or released from, key supervision.")
EQUIPMENT_REGISTERED = EventSpec(
    "safegrid.registry.equipment.registered.v1", "registry.equipment", EquipmentSnapshot,
    "A piece of special equipment was added to an enterprise's ledger.")
EQUIPMENT_UPDATED = EventSpec(
    "safegrid.registry.equipment.updated.v1", "registry.equipment", EquipmentSnapshot,
    "Equipment changed (status, registration, inspection); the data is the new snapshot.")
EQUIPMENT_INSPECTED = EventSpec(
    "safegrid.registry.equipment.inspected.v1", "registry.equipment", EquipmentSnapshot,
    "A periodic inspection (定期检验) was recorded; next_inspection_due moved.")
EQUIPMENT_INSPECTION_OVERDUE = EventSpec(
    "safegrid.registry.equipment.inspection_overdue.v1", "registry.equipment", EquipmentInspectionOverdue,
    "In-use equipment passed its inspection due date (daily job).")
GAS_CYLINDER_REGISTERED = EventSpec(
    "safegrid.registry.gas_cylinder.registered.v1", "registry.equipment", GasCylinderSnapshot,
    "A gas cylinder was added to a filling unit's ledger.")
GAS_CYLINDER_UPDATED = EventSpec(
    "safegrid.registry.gas_cylinder.updated.v1", "registry.equipment", GasCylinderSnapshot,
    "A gas cylinder's inspection date, scrap date or status changed; the data is the new snapshot.")
OPERATOR_REGISTERED = EventSpec(
    "safegrid.registry.operator.registered.v1", "registry.operators", OperatorSnapshot,
    "An operator (作业人员) was added to an enterprise.")
OPERATOR_UPDATED = EventSpec(
    "safegrid.registry.operator.updated.v1", "registry.operators", OperatorSnapshot,
    "An operator's certificate or status changed; the data is the new snapshot.")
OPERATOR_CERTIFICATE_EXPIRED = EventSpec(
    "safegrid.registry.operator.certificate_expired.v1",
    "registry.operators",
    OperatorCertificateExpired,
    "An operator's certificate passed its expiry date (daily job).",
)
EQUIPMENT_REMOVED = EventSpec(
    "safegrid.registry.equipment.removed.v1",
    "registry.equipment",
    LedgerItemRemoved,
    "Equipment left an enterprise's ledger (moved to another enterprise, or deleted).",
)
GAS_CYLINDER_REMOVED = EventSpec(
    "safegrid.registry.gas_cylinder.removed.v1",
    "registry.equipment",
    LedgerItemRemoved,
    "A gas cylinder left a filling unit's ledger (moved to another unit, or deleted).",
)
OPERATOR_REMOVED = EventSpec(
    "safegrid.registry.operator.removed.v1",
    "registry.operators",
    LedgerItemRemoved,
    "An operator left an enterprise (moved to another enterprise, or deleted).",
)
ACCIDENT_REPORTED = EventSpec(
    "safegrid.registry.accident.reported.v1",
    "registry.accidents",
    AccidentReported,
    "A special-equipment accident was reported for an enterprise.",
)
JURISDICTION_LOADED = EventSpec(
    "safegrid.registry.jurisdiction.loaded.v1",
    "registry.jurisdictions",
    JurisdictionSnapshot,
    "A node of the jurisdiction tree as a load of the tree left it (every node, each time the tree is loaded).",
)
GRID_INSPECTORS_ASSIGNED = EventSpec(
    "safegrid.registry.jurisdiction.inspectors_assigned.v1",
    "registry.jurisdictions",
    GridInspectorsAssigned,
    "A grid's responsible inspectors were assigned (or the jurisdiction tree was loaded with them).",
)

EVENTS = (
    ENTERPRISE_REGISTERED,
    ENTERPRISE_UPDATED,
    ENTERPRISE_MANAGEMENT_FACTS_CHANGED,
    ENTERPRISE_KEY_SUPERVISION_CHANGED,
    EQUIPMENT_REGISTERED,
    EQUIPMENT_UPDATED,
    EQUIPMENT_INSPECTED,
    EQUIPMENT_INSPECTION_OVERDUE,
    GAS_CYLINDER_REGISTERED,
    GAS_CYLINDER_UPDATED,
    OPERATOR_REGISTERED,
    OPERATOR_UPDATED,
    OPERATOR_CERTIFICATE_EXPIRED,
    EQUIPMENT_REMOVED,
    GAS_CYLINDER_REMOVED,
    OPERATOR_REMOVED,
    ACCIDENT_REPORTED,
    JURISDICTION_LOADED,
    GRID_INSPECTORS_ASSIGNED,
)
