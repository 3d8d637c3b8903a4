"""Working days (工作日) in China: weekends and public holidays off, make-up working days (调休)
on, as the State Council publishes them each year (the ``chinese-calendar`` package). Deadlines
counted in working days use these: inspection's hazard re-checks and enforcement's rectification
re-checks, within 10 working days; the daily cut-off counts every operating day and does not."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


class CalendarUnknown(ValueError):
    """The year's holidays are not published (in the installed calendar) yet."""


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarUnknown(f"the holidays of {day.year} are not known to the installed calendar") from exc


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself does not count); ``n`` = 0 is
    ``start``; negative ``n`` counts back."""
    step = 1 if n >= 0 else -1
    day, left = start, abs(n)
    while left:
        day += timedelta(days=step)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]: how many a deadline has used up."""
    if end <= start:
        return 0
    return sum(is_working_day(start + timedelta(days=k)) for k in range(1, (end - start).days + 1))
