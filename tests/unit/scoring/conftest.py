"""Fixtures for the scoring domain: a clean enterprise that scores 0, and small fact builders."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.scoring.domain import (
    EnterpriseFacts,
    ManagementFact,
    PatrolFact,
    ScoreResult,
    ScoringModel,
    compute_score,
    default_model,
)
from shared.contracts.vocabulary import MANAGEMENT_KEYS

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 6, 15)
AS_OF = datetime.combine(TODAY, time(12, 0), tzinfo=SHANGHAI)
DECLARED_AT = datetime(2026, 1, 1, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def as_of() -> datetime:
    return AS_OF


@pytest.fixture
def days_ago() -> Callable[[int], date]:
    return lambda n: TODAY - timedelta(days=n)


@pytest.fixture
def model() -> ScoringModel:
    return default_model()


def _all_in_place() -> dict[str, ManagementFact]:
    return {key: ManagementFact(in_place=True, source="declared", as_of=DECLARED_AT, event_id=f"ev-mgmt-{key}")
            for key in MANAGEMENT_KEYS}


@pytest.fixture
def make_facts() -> Callable[..., EnterpriseFacts]:
    """A clean enterprise (general credit A, venue other, everything in place, nothing open)."""

    def build(**overrides) -> EnterpriseFacts:
        fields = {
            "uscc": "91371102MA3C5K0X1Q",
            "jurisdiction_code": "371102",
            "general_credit_grade": "A",
            "general_credit_event_id": "ev-credit",
            "venue_type": "other",
            "kinds": [],
            "profile_event_id": "ev-profile",
            "management": _all_in_place(),
        }
        management = overrides.pop("management_changes", {})
        fields.update(overrides)
        fields["management"] = {**fields["management"], **management}
        for key in [k for k, v in fields["management"].items() if v is None]:
            del fields["management"][key]
        return EnterpriseFacts(**fields)

    return build


@pytest.fixture
def make_patrol() -> Callable[..., PatrolFact]:
    """A patrol `days_ago` days before as_of (10:00), every item passed unless told otherwise."""

    def build(days_ago: int = 1, event_id: str = "ev-patrol", **marks: str) -> PatrolFact:
        items = {n: "pass" for n in range(1, 13)}
        items.update({int(name.removeprefix("item")): mark for name, mark in marks.items()})
        at = datetime.combine(TODAY - timedelta(days=days_ago), time(10, 0), tzinfo=SHANGHAI)
        return PatrolFact(patrol_id=event_id, patrolled_at=at, items=items, event_id=event_id)

    return build


@pytest.fixture
def score(model: ScoringModel) -> Callable[..., ScoreResult]:
    def run(facts: EnterpriseFacts, at: datetime = AS_OF, with_model: ScoringModel | None = None) -> ScoreResult:
        return compute_score(facts, with_model or model, at)

    return run


@pytest.fixture
def points() -> Callable[[ScoreResult, str], float]:
    """Points of one indicator in a result (0 when it has no breakdown line)."""
    return lambda result, indicator: sum(line.points for line in result.breakdown if line.indicator == indicator)


@pytest.fixture
def line() -> Callable:
    def find(result: ScoreResult, indicator: str):
        matches = [line for line in result.breakdown if line.indicator == indicator]
        assert len(matches) == 1, f"expected one line for {indicator}, got {result.breakdown}"
        return matches[0]

    return find
