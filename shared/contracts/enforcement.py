"""Events the enforcement service publishes that scoring reads: 332211 patrols, cases, penalties."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.contracts.common import EventData, Uscc
from shared.contracts.vocabulary import ChecklistMark
from shared.events.spec import EventSpec


class PatrolCompleted(EventData):
    """A patrol marked the 12 items of the 332211 checklist (keys "1".."12")."""

    patrol_id: str
    enterprise_uscc: Uscc
    patrolled_at: datetime
    mode: Literal["online", "onsite"] = "onsite"
    items: dict[int, ChecklistMark] = Field(description="checklist item number 1-12 -> mark")


class CaseOpened(EventData):
    """A case (立案) was opened against an enterprise."""

    case_id: str
    enterprise_uscc: Uscc
    opened_date: date
    offence_code: str | None = None


class PenaltyDecided(EventData):
    """An administrative penalty decision (处罚决定) was signed."""

    penalty_id: str
    case_id: str | None = None
    enterprise_uscc: Uscc
    decided_date: date
    fine_yuan: int = 0


PATROL_COMPLETED = EventSpec(
    "safegrid.enforcement.patrol.completed.v1", "enforcement.patrols", PatrolCompleted,
    "A 332211 patrol (online or on site) was completed with its item marks.")
CASE_OPENED = EventSpec(
    "safegrid.enforcement.case.opened.v1", "enforcement.cases", CaseOpened,
    "A case was opened.")
PENALTY_DECIDED = EventSpec(
    "safegrid.enforcement.penalty.decided.v1", "enforcement.cases", PenaltyDecided, "A penalty was decided."
)

EVENTS = (
    PATROL_COMPLETED,
    CASE_OPENED,
    PENALTY_DECIDED,
)
