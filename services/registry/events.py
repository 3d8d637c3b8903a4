"""What the registry publishes: snapshot builders for every aggregate. Topics and types are
declared in ``shared/contracts/registry.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.registry.domain.kinds import kinds_from_tags
from services.registry.models import Enterprise, Equipment, GasCylinder, Operator
from shared.contracts.registry import (
    EnterpriseSnapshot,
    EquipmentSnapshot,
    GasCylinderSnapshot,
    LedgerItemRemoved,
    OperatorSnapshot,
)


def enterprise_snapshot(row: Enterprise) -> EnterpriseSnapshot:
    return EnterpriseSnapshot(
        uscc=row.uscc, revision=row.revision, name=row.name, jurisdiction_code=row.jurisdiction_code,
        grid_code=row.grid_code, venue_type=row.venue_type, kinds=kinds_from_tags(row.kinds_tags),
        general_credit_grade=row.general_credit_grade, management=row.management or {},
        key_supervision=row.key_supervision, key_supervision_reason=row.key_supervision_reason,
        key_supervision_causes=row.key_supervision_causes or [], sandbox=row.sandbox,
        operating=row.operating_status == "operating", operating_status=row.operating_status,
        location={"lat": row.lat, "lon": row.lon} if row.lat is not None and row.lon is not None else None,
        location_verified=row.location_verified_at is not None, associations=row.associations or [],
        last_accident_date=row.last_accident_date,
    )


def enterprise_snapshot_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """``enterprise_snapshot(row).model_dump(mode="json")`` from a row's column values, without
    building the model: the bulk import's path (a test holds the two equal, field for field)."""
    management, causes, associations = row["management"], row["key_supervision_causes"], row["associations"]
    lat, lon, last_accident = row["lat"], row["lon"], row["last_accident_date"]
    return {
        "uscc": row["uscc"], "revision": row["revision"], "name": row["name"],
        "jurisdiction_code": row["jurisdiction_code"], "grid_code": row["grid_code"], "venue_type": row["venue_type"],
        "kinds": kinds_from_tags(row["kinds_tags"]), "general_credit_grade": row["general_credit_grade"],
        "management": management or {}, "key_supervision": row["key_supervision"],
        "key_supervision_reason": row["key_supervision_reason"], "key_supervision_causes": list(causes or []),
        "sandbox": row["sandbox"], "operating": row["operating_status"] == "operating",
        "operating_status": row["operating_status"],
        "location": {"lat": lat, "lon": lon} if lat is not None and lon is not None else None,
        "location_verified": row["location_verified_at"] is not None, "associations": list(associations or []),
        "last_accident_date": last_accident.isoformat() if last_accident else None,
    }


def equipment_snapshot(row: Equipment) -> EquipmentSnapshot:
    return EquipmentSnapshot(
        uscc=row.uscc, equipment_id=row.id, revision=row.revision, category=row.category,
        registration_no=row.registration_no, status=row.status, next_inspection_due=row.next_inspection_due,
        last_inspection_date=row.last_inspection_date, last_inspection_result=row.last_inspection_result,
    )


def equipment_snapshot_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """``equipment_snapshot(row).model_dump(mode="json")`` from a row's column values, without
    building the model: the bulk import's path (a test holds the two equal)."""
    due, inspected = row["next_inspection_due"], row["last_inspection_date"]
    return {
        "uscc": row["uscc"], "equipment_id": row["id"], "revision": row["revision"], "category": row["category"],
        "registration_no": row["registration_no"], "status": row["status"],
        "next_inspection_due": due.isoformat() if due else None,
        "last_inspection_date": inspected.isoformat() if inspected else None,
        "last_inspection_result": row["last_inspection_result"],
    }


def cylinder_snapshot(row: GasCylinder) -> GasCylinderSnapshot:
    return GasCylinderSnapshot(
        uscc=row.uscc, cylinder_id=row.id, cylinder_no=row.cylinder_no, revision=row.revision, medium=row.medium,
        next_inspection_date=row.next_inspection_date, scrap_date=row.scrap_date, status=row.status,
    )


def operator_snapshot(row: Operator) -> OperatorSnapshot:
    return OperatorSnapshot(
        uscc=row.uscc, operator_id=row.id, revision=row.revision, certificate_no=row.certificate_no,
        certificate_category=row.certificate_category, certificate_valid_until=row.certificate_valid_until,
        active=row.active,
    )


def operator_snapshot_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """``operator_snapshot(row).model_dump(mode="json")`` from a row's column values (the bulk
    import's path; a test holds the two equal)."""
    valid_until = row["certificate_valid_until"]
    return {
        "uscc": row["uscc"], "operator_id": row["id"], "revision": row["revision"],
        "certificate_no": row["certificate_no"], "certificate_category": row["certificate_category"],
        "certificate_valid_until": valid_until.isoformat() if valid_until else None, "active": row["active"],
    }


def item_moved(old_owner: str, item_id: str, revision: int, new_owner: str, *,
               cylinder_no: str | None = None) -> LedgerItemRemoved:
    """What the old owner's key carries when an item moves: ``revision`` is the move's new
    revision, which the snapshot under ``new_owner`` that follows carries too."""
    return LedgerItemRemoved(uscc=old_owner, item_id=item_id, revision=revision, reason="moved", moved_to=new_owner,
                             cylinder_no=cylinder_no)
