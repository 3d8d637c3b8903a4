"""Grade statistics (一图可知, domain.md §12), in pure functions: counts per grade, month ends, and
the grade each enterprise held on a day. The bucket of a division code is
``shared.locality.child_node``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any


def count_grades(pairs: Sequence[tuple[str, int]]) -> dict[str, int]:
    counts = {"A": 0, "B": 0, "C": 0, "D": 0}
    for grade, n in pairs:
        counts[grade] = counts.get(grade, 0) + n
    return {**counts, "total": sum(counts.values())}


def month_ends(today: date, months: int) -> list[tuple[str, date]]:
    """The last `months` months, oldest first: (YYYY-MM, its last day or today for this month)."""
    points = []
    year, month = today.year, today.month
    for _ in range(months):
        next_first = date(year + (month == 12), month % 12 + 1, 1)
        points.append((f"{year:04d}-{month:02d}", min(next_first - timedelta(days=1), today)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(points))


def grades_held_on(periods: Sequence[Mapping[str, Any]], day: date) -> dict[str, int]:
    """The grade each enterprise held at the end of `day`: of its periods covering the day, the
    one that started last."""
    held: dict[str, tuple[int, str]] = {}
    for p in periods:
        covers = p["from_date"] <= day and (p["to_date"] is None or p["to_date"] >= day)
        if covers and (p["uscc"] not in held or p["id"] > held[p["uscc"]][0]):
            held[p["uscc"]] = (p["id"], p["grade"])
    return count_grades([(grade, 1) for _, grade in held.values()])
