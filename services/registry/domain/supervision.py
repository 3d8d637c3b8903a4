"""Key supervision (重点监管): which causes hold for a unit, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.registry.domain.dates import years_before
from shared.contracts.vocabulary import PUBLIC_GATHERING_VENUES, KeySupervisionCause


@dataclass(frozen=True)
class KeySupervision:
    causes: tuple[KeySupervisionCause, ...]
    reason: str | None

    @property
    def designated(self) -> bool:
        return bool(self.causes)


def key_supervision(venue_type: str, last_accident_date: date | None, designation_reason: str | None,
                    today: date, accident_years: int = 3) -> KeySupervision:
    """Key supervision holds for public gathering places, for units with an accident in the last
    ``accident_years`` years (an accident exactly that long ago no longer counts), and for units
    a city or district regulator designated. Each cause is named in the reason."""
    causes: list[KeySupervisionCause] = []
    reasons: list[str] = []
    if venue_type in PUBLIC_GATHERING_VENUES:
        causes.append("public_gathering_venue")
        reasons.append(f"public gathering place ({venue_type})")
    if last_accident_date is not None and last_accident_date > years_before(today, accident_years):
        causes.append("accident")
        reasons.append(f"accident on {last_accident_date.isoformat()} (within {accident_years} years)")
    if designation_reason:
        causes.append("designated")
        reasons.append(f"designated by a regulator: {designation_reason}")
    return KeySupervision(tuple(causes), "; ".join(reasons) or None)
