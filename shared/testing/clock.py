"""A service's clock that tests set and move instead of sleeping (``runtime.clock = clock``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from shared.locality import BUSINESS_TIMEZONE


class SettableClock:
    """Business time (Asia/Shanghai) standing at ``day`` ``at`` until a test moves it."""

    def __init__(self, day: date, at: time = time(12, 0)) -> None:
        self.moment = datetime.combine(day, at, tzinfo=BUSINESS_TIMEZONE)

    def __call__(self) -> datetime:
        return self.moment

    @property
    def today(self) -> date:
        return self.moment.date()

    def set(self, day: date, at: time = time(12, 0)) -> None:
        self.moment = datetime.combine(day, at, tzinfo=BUSINESS_TIMEZONE)

    def advance(self, days: float = 0, **delta: float) -> None:
        self.moment += timedelta(days=days, **delta)

    def days_ago(self, n: int) -> date:
        return self.today - timedelta(days=n)
