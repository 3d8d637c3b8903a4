"""The daily cut-off (每日截止): which operating filling units owe a
``filling_records.missing`` for a business date, and when each city's cut-off falls (per city,
default 21:00 Asia/Shanghai)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from shared.contracts.vocabulary import Kind
from shared.locality import BUSINESS_TIMEZONE, city_of, jurisdiction_prefix

FILLING_KIND: Kind = "gas_filling"


@dataclass(frozen=True)
class Unit:
    """An enterprise as the cut-off sees it."""

    uscc: str
    kinds: tuple[str, ...]
    operating: bool
    first_seen_date: date | None = None


def is_filling_unit(kinds: Iterable[str]) -> bool:
    return FILLING_KIND in kinds


def owes_records(unit: Unit, business_date: date) -> bool:
    """An operating filling unit that the ledger knew by that date."""
    return (unit.operating and is_filling_unit(unit.kinds)
            and (unit.first_seen_date is None or unit.first_seen_date <= business_date))


def missing_units(units: Iterable[Unit], business_date: date, *, with_records: Collection[str],
                  closed: Collection[str]) -> list[str]:
    """The USCCs, sorted, of the units that owe records for ``business_date``, have none, and did
    not declare the day closed."""
    return sorted(u.uscc for u in units
                  if owes_records(u, business_date) and u.uscc not in with_records and u.uscc not in closed)


# --- per city: which units a run covers, and when each city's cut-off falls ----------------------

@dataclass(frozen=True)
class Coverage:
    """The filling units a cut-off run judges: those whose division code starts with one of
    ``within`` (none: every unit) and with none of ``outside``."""

    within: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()

    def covers(self, jurisdiction_code: str) -> bool:
        return ((not self.within or jurisdiction_code.startswith(self.within))
                and not jurisdiction_code.startswith(self.outside))

    def as_dict(self) -> dict[str, list[str]]:
        return {"within": list(self.within), "outside": list(self.outside)}


EVERY_UNIT = Coverage()


def cutoff_time_for(jurisdiction_code: str | None, default: time, by_city: Mapping[str, time]) -> time:
    """The cut-off time of the city a unit lies in (its own, or the default)."""
    city = city_of(jurisdiction_code) if jurisdiction_code else None
    return by_city.get(city, default) if city else default


@dataclass(frozen=True)
class CutoffGroup:
    """The units whose cut-off falls at one wall time: the cities configured with it (or, for
    the default time, every unit but those of cities configured with another)."""

    at: time
    coverage: Coverage

    @property
    def key(self) -> str:
        return self.at.isoformat()


def cutoff_groups(default: time, by_city: Mapping[str, time]) -> list[CutoffGroup]:
    """One group per distinct cut-off time, by time: a unit belongs to exactly one."""
    others = sorted(city for city, at in by_city.items() if at != default)
    groups = [CutoffGroup(default, Coverage(outside=tuple(jurisdiction_prefix(c) for c in others)))]
    for at in sorted({by_city[c] for c in others}):
        cities = sorted(c for c in others if by_city[c] == at)
        groups.append(CutoffGroup(at, Coverage(within=tuple(jurisdiction_prefix(c) for c in cities))))
    return sorted(groups, key=lambda g: g.at)


def latest_occurrence(now: datetime, at: time) -> datetime:
    """The latest moment not after ``now`` whose Asia/Shanghai wall time is ``at``."""
    local = now.astimezone(BUSINESS_TIMEZONE)
    moment = datetime.combine(local.date(), at, tzinfo=BUSINESS_TIMEZONE)
    return moment if moment <= local else moment - timedelta(days=1)


@dataclass
class CutoffSchedule:
    """Which groups' cut-offs are due: each group's latest occurrence, until a run of it for that
    occurrence's business date succeeded. Occurrences before ``started`` are not owed (as when the
    scheduler slept through them: the admin endpoint and the CLI catch up); a failed run stays due,
    for its own business date, even once midnight has passed."""

    groups: list[CutoffGroup]
    started: datetime
    done: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for group in self.groups:
            self.done.setdefault(group.key, latest_occurrence(self.started, group.at))

    def due(self, now: datetime) -> list[tuple[CutoffGroup, date]]:
        owed = []
        for group in self.groups:
            moment = latest_occurrence(now, group.at)
            if moment > self.done[group.key]:
                owed.append((group, moment.date()))
        return owed

    def mark_done(self, group: CutoffGroup, day: date) -> None:
        self.done[group.key] = max(self.done[group.key],
                                   datetime.combine(day, group.at, tzinfo=BUSINESS_TIMEZONE))

    def next_at(self, now: datetime) -> datetime:
        """When the next occurrence of any group falls, strictly after ``now``."""
        return min(latest_occurrence(now, g.at) + timedelta(days=1) for g in self.groups)
