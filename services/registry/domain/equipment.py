"""Rules of special equipment (特种设备) on a ledger: catalogue category, status, inspection dates."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.registry.domain.dates import future_violation, order_violation
from services.registry.domain.violations import Violation
from shared.contracts.vocabulary import CATEGORIES


def category_violation(code: str, field: str = "category") -> Violation | None:
    if code in CATEGORIES:
        return None
    return Violation(field, f"unknown catalogue category {code!r}; one of {', '.join(CATEGORIES)}")


def status_change_violation(current: str, new: str) -> Violation | None:
    if current == "scrapped" and new != "scrapped":
        return Violation("status", "scrapped equipment cannot return to service; register a new unit")
    return None


def inspection_overdue(status: str, next_inspection_due: date | None, today: date) -> bool:
    """In-use equipment is overdue once its due date has passed (the due date itself still counts)."""
    return status == "in_use" and next_inspection_due is not None and next_inspection_due < today


def equipment_violations(values: dict[str, Any], today: date) -> list[Violation | None]:
    return [
        category_violation(values["category"]) if "category" in values else None,
        future_violation(values.get("last_inspection_date"), today, "last_inspection_date"),
        future_violation(values.get("last_maintenance_date"), today, "last_maintenance_date"),
        order_violation(values.get("last_inspection_date"), values.get("next_inspection_due"),
                        "last_inspection_date", "next_inspection_due"),
    ]
