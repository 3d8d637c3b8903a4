"""Declared closed days (停业日): a filling unit that will not fill on a day says so ahead of time,
or a regulator records it (before or after the fact); the cut-off does not ask that day's records
of it. The rules of who may declare or cancel which day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from shared.locality import BUSINESS_TIMEZONE

HORIZON_DAYS = 366  # nobody declares a day more than a year ahead
REGULATOR_LOOKBACK_DAYS = 366  # a regulator records a closure up to a year after the fact


def enterprise_may_declare(day: date, now: datetime, cutoff_at: time) -> str | None:
    """Why an enterprise user may not declare (or cancel) ``day`` closed, or None. Ahead of time
    means before that day's cut-off: today until the cut-off time, or any later day."""
    local = now.astimezone(BUSINESS_TIMEZONE)
    today = local.date()
    if day < today:
        return f"{day} has passed: only a regulator may record a closure after the fact"
    if day == today and local.time() >= cutoff_at:
        return f"today's cut-off ({cutoff_at.strftime('%H:%M')}) has passed: only a regulator may record it now"
    if day > today + timedelta(days=HORIZON_DAYS):
        return f"{day} is more than {HORIZON_DAYS} days ahead"
    return None


def regulator_may_record(day: date, today: date) -> str | None:
    if day > today + timedelta(days=HORIZON_DAYS):
        return f"{day} is more than {HORIZON_DAYS} days ahead"
    if day < today - timedelta(days=REGULATOR_LOOKBACK_DAYS):
        return f"{day} is more than {REGULATOR_LOOKBACK_DAYS} days ago"
    return None


def enterprise_may_cancel(declared_by_role: str, day: date, now: datetime, cutoff_at: time) -> str | None:
    if declared_by_role != "enterprise":
        return "a closure a regulator recorded may be cancelled only by a regulator"
    return enterprise_may_declare(day, now, cutoff_at)
