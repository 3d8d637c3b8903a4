"""The legal-basis catalogue (法律依据目录) as a versioned data file, and inclusive-prudent
enforcement (包容审慎, 三张清单) over it: what the platform proposes for a case, with its
reasons, and what a signed decision may say.

The proposal, in this order (domain.md §10):

1. exempt (免予处罚, Administrative Penalty Law Art. 33): the offence is on the exemption list,
   first, minor and corrected in time, and leaves no safety hazard (one that does is never exempt);
2. a sandbox unit (沙盒监管) whose offence leaves no hazard and is not serious: soft measures first
   (warning prompt, administrative guidance, administrative interview, order to correct by a deadline);
3. an article with a grace period (责令限期改正, then a fine): an order to correct, unless an earlier
   order lapsed;
4. a fine within the article's range, suggested in its lower part when mitigation applies:
   must mitigate (Art. 32 grounds) the lowest 30%, may mitigate the lower half.

A decision's fine outside the article's range is refused whatever the proposal said; the
regulator may otherwise decide differently from the proposal, with reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.enforcement.domain.versioned import Book, FileInvalid, load_directory, parse_file
from shared.contracts.enforcement import DecisionOutcome

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "policy_files" / "legal_basis"
ListName = Literal["exempt", "must_mitigate", "may_mitigate"]
Outcome = DecisionOutcome
Measure = Literal["warning_prompt", "administrative_guidance", "administrative_interview", "order_to_correct"]
OFFENCE_CODE_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
SOFT_MEASURES: tuple[Measure, ...] = ("warning_prompt", "administrative_guidance", "administrative_interview",
                                      "order_to_correct")
MUST_MITIGATE_SHARE, MAY_MITIGATE_SHARE = 0.3, 0.5


class CatalogueInvalid(FileInvalid):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FineRange(_Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> FineRange:
        if self.min > self.max:
            raise ValueError("min <= max")
        return self


class Offence(_Strict):
    law: str = Field(min_length=1)
    article: str = Field(min_length=1, max_length=20)
    title: str = Field(min_length=1)
    fine: FineRange
    grace_period: bool
    leaves_hazard: bool
    permit_revocable: bool = False
    lists: frozenset[ListName]
    checklist_items: frozenset[int] = frozenset()

    @model_validator(mode="after")
    def _coherent(self) -> Offence:
        if self.leaves_hazard and "exempt" in self.lists:
            raise ValueError("an offence that leaves a safety hazard is never on the exemption list")
        if not self.checklist_items <= set(range(1, 13)):
            raise ValueError("checklist_items are 332211 items 1-12")
        return self


class Catalogue(_Strict):
    version: str = Field(min_length=1, max_length=100)
    effective_from: date
    offences: dict[str, Offence]

    @model_validator(mode="after")
    def _codes(self) -> Catalogue:
        bad = [c for c in self.offences if not re.fullmatch(OFFENCE_CODE_PATTERN, c)]
        if bad:
            raise ValueError(f"offence codes look like SESL-85-1, got {bad}")
        return self

    def offence(self, code: str) -> Offence | None:
        return self.offences.get(code)


@dataclass(frozen=True)
class CaseFacts:
    """What the investigation established, as the regulator records it with the proposal."""

    first_offence: bool
    minor: bool
    corrected_in_time: bool
    leaves_hazard: bool
    serious: bool
    prior_order_lapsed: bool
    must_mitigate_grounds: tuple[str, ...] = ()
    may_mitigate_grounds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Proposal:
    outcome: Outcome
    list: ListName | None
    measures: tuple[Measure, ...]
    legal_range: FineRange
    suggested_fine: FineRange | None
    revoke_permit_possible: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def propose(offence: Offence, facts: CaseFacts, *, sandbox: bool) -> Proposal:
    reasons: list[str] = [f"{offence.law} Art. {offence.article}: {offence.title}; fine "
                          f"¥{offence.fine.min:,}-¥{offence.fine.max:,}"]
    hazard = offence.leaves_hazard or facts.leaves_hazard
    exemptible = facts.first_offence and facts.minor and facts.corrected_in_time
    if exemptible and "exempt" in offence.lists and not hazard:
        reasons.append("first offence, minor and corrected in time: exempt (Administrative Penalty Law Art. 33)")
        return Proposal("exempt", "exempt", ("administrative_guidance",), offence.fine, None, False, tuple(reasons))
    if exemptible:
        why = "the offence leaves a safety hazard" if hazard else "the article is not on the exemption list"
        reasons.append(f"first, minor and corrected in time, but not exempt: {why}")
    if sandbox and not hazard and not facts.serious:
        reasons.append("sandbox unit (沙盒监管): soft measures first")
        return Proposal("soft_measures", None, SOFT_MEASURES, offence.fine, None, False, tuple(reasons))
    if offence.grace_period and not facts.prior_order_lapsed and not facts.serious:
        reasons.append("the article orders correction first (责令限期改正): fine only if the order lapses")
        return Proposal("order_to_correct", None, ("order_to_correct",), offence.fine, None, False, tuple(reasons))
    span = offence.fine.max - offence.fine.min
    chosen: ListName | None = None
    suggested = offence.fine
    if facts.must_mitigate_grounds and "must_mitigate" in offence.lists:
        chosen = "must_mitigate"
        suggested = FineRange(min=offence.fine.min, max=offence.fine.min + round(span * MUST_MITIGATE_SHARE))
        reasons.append(f"must mitigate (Art. 32: {', '.join(facts.must_mitigate_grounds)}): the lowest "
                       f"{MUST_MITIGATE_SHARE:.0%} of the range")
    elif (facts.may_mitigate_grounds or facts.first_offence) and "may_mitigate" in offence.lists:
        chosen = "may_mitigate"
        suggested = FineRange(min=offence.fine.min, max=offence.fine.min + round(span * MAY_MITIGATE_SHARE))
        grounds = list(facts.may_mitigate_grounds) + (["first offence"] if facts.first_offence else [])
        reasons.append(f"may mitigate ({', '.join(grounds)}): the lower half of the range")
    if hazard:
        reasons.append("the offence leaves a safety hazard: it is corrected under order whatever the fine")
    revocable = offence.permit_revocable and facts.serious
    if revocable:
        reasons.append("serious case: the filling permit may be revoked")
    return Proposal("fine", chosen, ("order_to_correct",), offence.fine, suggested, revocable, tuple(reasons))


class DecisionRefused(ValueError):
    def __init__(self, field_name: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.field, self.extra = field_name, extra


def check_decision(offence: Offence, facts: CaseFacts, outcome: str, fine_yuan: int | None,
                   revoke_permit: bool) -> None:
    """What the law allows a signed decision to say; DecisionRefused names the field and why."""
    hazard = offence.leaves_hazard or facts.leaves_hazard
    if outcome == "fine":
        if fine_yuan is None:
            raise DecisionRefused("fine_yuan", "a fine decision names the fine")
        if not offence.fine.min <= fine_yuan <= offence.fine.max:
            raise DecisionRefused("fine_yuan", f"¥{fine_yuan:,} lies outside Art. {offence.article}'s range "
                                  f"¥{offence.fine.min:,}-¥{offence.fine.max:,}",
                                  fine_range={"min": offence.fine.min, "max": offence.fine.max})
    elif fine_yuan:
        raise DecisionRefused("fine_yuan", f"a decision of {outcome} imposes no fine")
    if outcome == "exempt" and hazard:
        raise DecisionRefused("outcome", "an offence that leaves a safety hazard is never exempt")
    if outcome == "exempt" and "exempt" not in offence.lists:
        raise DecisionRefused("outcome", f"Art. {offence.article} is not on the exemption list")
    if revoke_permit and not (outcome == "fine" and offence.permit_revocable):
        raise DecisionRefused("revoke_permit", f"Art. {offence.article} does not provide for revoking a permit"
                              if not offence.permit_revocable else "a permit is revoked only with a fine")


# --- the file ---------------------------------------------------------------------------------

def parse_catalogue(text: str) -> Catalogue:
    return parse_file(text, Catalogue, CatalogueInvalid, "a catalogue is a mapping with version, effective_from, "
                                                         "offences")


class CatalogueBook(Book[Catalogue]):
    invalid = CatalogueInvalid
    what = "legal-basis catalogue"


def load_catalogues(directory: Path = CATALOGUE_DIR) -> CatalogueBook:
    return CatalogueBook(load_directory(directory, parse_catalogue, CatalogueInvalid))
