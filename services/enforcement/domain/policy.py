"""The alert policy (预警处置策略, domain.md §10) as a versioned data file.

A file names its ``version`` and ``effective_from``; the version in effect on a business date is
the one with the latest ``effective_from`` not after it. For each alert kind a rule says the
action by grade (``by_grade``, with ``unknown`` for an enterprise not scored yet) or regardless of
it (``always``); a grade the rule leaves out raises nothing (a public report at an A/B unit).
Each action says whom the alert is addressed to and its SLA.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.enforcement.domain.versioned import Book, FileInvalid, load_directory, parse_file
from shared.contracts.enforcement import AlertAction
from shared.contracts.vocabulary import GRADES

ACTIONS: tuple[str, ...] = get_args(AlertAction)
POLICY_DIR = Path(__file__).resolve().parent.parent / "policy_files"
AddressedTo = Literal["enterprise", "grid_inspectors"]
GradeKey = Literal["A", "B", "C", "D", "unknown"]

# The kinds of alert the platform raises (each keyed by its cause, see alerts/service.py).
AlertKind = Literal[
    "filling_records_missing", "filling_anomaly", "expired_cylinder_filled", "scrapped_cylinder_filled",
    "accident", "public_report", "equipment_inspection_overdue", "operator_certificate_expired",
    "hazard_overdue", "maintenance_lapsed",
]
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)


class PolicyInvalid(FileInvalid):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Due(_Strict):
    """An SLA: a duration after the alert was raised, or the end of that business day."""

    hours: float | None = Field(None, gt=0, le=24 * 90)
    end_of_day: bool = False

    @model_validator(mode="after")
    def _one(self) -> Due:
        if (self.hours is None) == (not self.end_of_day):
            raise ValueError("give either hours or end_of_day: true")
        return self


class ActionPolicy(_Strict):
    addressed_to: AddressedTo
    due: Due


class Escalation(_Strict):
    due: Due
    top: Literal["province", "city", "district", "township"] = "city"


class Rule(_Strict):
    by_grade: dict[GradeKey, AlertAction] | None = None
    always: AlertAction | None = None
    closes_when_records_arrive: bool = False
    # a warning for a filling anomaly resolves itself when a correction of the record clears it
    # (alerts of other actions note the correction and stay open: the inspector still checks)
    closes_when_corrected: bool = False

    @model_validator(mode="after")
    def _one(self) -> Rule:
        if (self.by_grade is None) == (self.always is None):
            raise ValueError("give either by_grade or always")
        return self


class Decision(_Strict):
    """What a cause raises: the action, whom it is addressed to, and whether it closes itself."""

    action: AlertAction
    addressed_to: AddressedTo
    closes_when_records_arrive: bool


class AlertPolicy(_Strict):
    version: str = Field(min_length=1, max_length=100)
    effective_from: date
    actions: dict[AlertAction, ActionPolicy]
    escalation: Escalation
    rules: dict[str, Rule]

    @model_validator(mode="after")
    def _complete(self) -> AlertPolicy:
        missing = [a for a in ACTIONS if a not in self.actions]
        if missing:
            raise ValueError(f"actions: every action needs its addressee and SLA; missing {missing}")
        unknown = sorted(set(self.rules) - set(ALERT_KINDS))
        if unknown:
            raise ValueError(f"rules: unknown alert kinds {unknown}; known: {', '.join(ALERT_KINDS)}")
        return self

    def closes_when_corrected(self, kind: str, action: str) -> bool:
        """Whether an alert of ``kind`` and ``action`` resolves itself once its cause is corrected."""
        rule = self.rules.get(kind)
        return rule is not None and rule.closes_when_corrected and action == "warning"

    def decide(self, kind: str, grade: str | None) -> Decision | None:
        """The alert a cause of ``kind`` raises at ``grade`` (None: not scored yet); None when the
        policy raises nothing for it."""
        rule = self.rules.get(kind)
        if rule is None:
            return None
        if rule.always is not None:
            action = rule.always
        else:
            assert rule.by_grade is not None
            action = rule.by_grade.get(grade if grade in GRADES else "unknown")  # type: ignore[call-overload]
            if action is None:
                return None
        return Decision(action=action, addressed_to=self.actions[action].addressed_to,
                        closes_when_records_arrive=rule.closes_when_records_arrive and action == "warning")


def parse_policy(text: str) -> AlertPolicy:
    """Validate a policy file (YAML or JSON); PolicyInvalid lists every problem by its field."""
    return parse_file(text, AlertPolicy, PolicyInvalid,
                      "a policy is a mapping with version, effective_from, actions, escalation, rules")


class PolicyBook(Book[AlertPolicy]):
    """Every version, ordered by effective date; ``in_effect(day)`` picks the one in force."""

    invalid = PolicyInvalid
    what = "alert policy file"

    @property
    def policies(self) -> list[AlertPolicy]:
        return self.items


def load_policies(directory: Path = POLICY_DIR) -> PolicyBook:
    """Read and validate every ``*.yaml`` policy file of a directory (at start-up: a bad file
    stops the service with the problems named)."""
    return PolicyBook(load_directory(directory, parse_policy, PolicyInvalid))
