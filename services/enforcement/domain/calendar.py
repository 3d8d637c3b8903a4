"""Working days (工作日) in China: weekends and public holidays off, make-up working days (调休)
on, as the State Council publishes them (the ``chinese-calendar`` package). A rectification is
re-checked within ``recheck_working_days`` of the supervision policy counted in these."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


class CalendarUnknown(ValueError):
    """The year's holidays are not in the installed calendar yet."""


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarUnknown(f"the holidays of {day.year} are not known to the installed calendar") from exc


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself does not count)."""
    day, left = start, n
    while left > 0:
        day += timedelta(days=1)
        left -= is_working_day(day)
    return day
