"""The dashboards' arithmetic (一图可知, domain.md §12), pure: grade counts per jurisdiction
bucket, the grade each unit held on a day from its changes, month ends, completion rates."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date

GRADE_KEYS = ("A", "B", "C", "D", "ungraded")


def empty_counts() -> dict[str, int]:
    return dict.fromkeys((*GRADE_KEYS, "total"), 0)


def tally(rows: Iterable[tuple[str, str | None]]) -> dict[str, dict[str, int]]:
    """(bucket, grade or None) pairs → counts per bucket, each with its total."""
    buckets: dict[str, dict[str, int]] = {}
    for bucket, grade in rows:
        counts = buckets.setdefault(bucket, empty_counts())
        counts[grade if grade in GRADE_KEYS else "ungraded"] += 1
        counts["total"] += 1
    return dict(sorted(buckets.items()))


def held_on(changes: Iterable[tuple[str, str, date]], day: date) -> dict[str, str]:
    """(unit, grade, first day held) changes → the grade each unit held at the end of ``day``."""
    latest: dict[str, tuple[date, str]] = {}
    for uscc, grade, since in changes:
        if since <= day and (uscc not in latest or since >= latest[uscc][0]):
            latest[uscc] = (since, grade)
    return {uscc: grade for uscc, (_, grade) in latest.items()}


def last_days(today: date, months: int) -> list[tuple[str, date]]:
    """The last ``months`` months, oldest first, each with its last day (today for this month)."""
    found = []
    year, month = today.year, today.month
    for _ in range(months):
        end = date(year, month, calendar.monthrange(year, month)[1])
        found.append((f"{year:04d}-{month:02d}", min(end, today)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def rate(done: int, due: int) -> float | None:
    """Share done, to three decimals; None when nothing was due."""
    return round(done / due, 3) if due else None
