"""The daily cut-off (每日截止): which operating filling units owe a
``filling_records.missing`` for a business date."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from shared.contracts.vocabulary import Kind

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
