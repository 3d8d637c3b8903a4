"""Maintenance intervals (维护保养周期) per equipment category, as versioned policy data: lifts
(family 3000) every 15 days by default (TSG T5002). A piece of equipment whose last maintenance
is older than its interval has lapsed; the lapse is reported once per due date."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shared.contracts.vocabulary import CATEGORIES, category_family


class PolicyInvalid(ValueError):
    pass


@dataclass(frozen=True)
class MaintenancePolicy:
    """``intervals`` by catalogue code: a sub-category's own entry wins over its family's."""

    version: str
    intervals: Mapping[str, int] = field(default_factory=dict)

    def interval_days(self, category: str) -> int | None:
        if category in self.intervals:
            return self.intervals[category]
        return self.intervals.get(category_family(category)) if category else None

    @classmethod
    def parse(cls, document: Any) -> MaintenancePolicy:
        if not isinstance(document, dict):
            raise PolicyInvalid("the policy must be a mapping with version and intervals")
        version = document.get("version")
        if not isinstance(version, str) or not version:
            raise PolicyInvalid("version: must be a non-empty string")
        entries = document.get("intervals")
        if not isinstance(entries, list):
            raise PolicyInvalid("intervals: must be a list of {category, days}")
        intervals: dict[str, int] = {}
        for n, entry in enumerate(entries):
            category = entry.get("category") if isinstance(entry, dict) else None
            days = entry.get("days") if isinstance(entry, dict) else None
            if category not in CATEGORIES:
                raise PolicyInvalid(f"intervals[{n}].category: {category!r} is not a catalogue code")
            if type(days) is not int or not 1 <= days <= 3660:
                raise PolicyInvalid(f"intervals[{n}].days: must be a whole number of days, 1-3660")
            if category in intervals:
                raise PolicyInvalid(f"intervals[{n}].category: {category} is listed twice")
            intervals[category] = days
        return cls(version=version, intervals=intervals)


def due_date(last_maintenance: date | None, known_since: date, interval_days: int) -> date:
    """The last day by which the next maintenance is due: ``interval_days`` after the last one
    (or after the day inspection first knew the equipment, when none was ever recorded)."""
    return (last_maintenance or known_since) + timedelta(days=interval_days)


def lapsed(due: date, today: date) -> bool:
    return today > due
