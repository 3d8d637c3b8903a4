"""Date rules the ledger shares: order, not in the future, years back."""

from __future__ import annotations

from datetime import date

from services.registry.domain.violations import Violation


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def order_violation(earlier: date | None, later: date | None, earlier_field: str, later_field: str,
                    *, strictly: bool = True) -> Violation | None:
    """``later`` must come after ``earlier`` (both known)."""
    if earlier is None or later is None:
        return None
    if later < earlier or (strictly and later == earlier):
        return Violation(later_field, f"{later.isoformat()} must be after {earlier_field} {earlier.isoformat()}")
    return None


def future_violation(day: date | None, today: date, field: str) -> Violation | None:
    if day is not None and day > today:
        return Violation(field, f"{day.isoformat()} is in the future (today is {today.isoformat()})")
    return None
