"""The legal-basis catalogue and inclusive-prudent enforcement (domain.md §10): each list outcome,
sandbox soft measures, grace periods, hazards never exempt, and the decisions the law refuses."""

from __future__ import annotations

from datetime import date

import pytest

from services.enforcement.domain.legal_basis import (
    CaseFacts,
    CatalogueInvalid,
    DecisionRefused,
    check_decision,
    load_catalogues,
    parse_catalogue,
    propose,
)

CATALOGUE = load_catalogues().in_effect(date(2026, 6, 15))


def facts(**values) -> CaseFacts:  # type: ignore[no-untyped-def]
    base = {"first_offence": False, "minor": False, "corrected_in_time": False, "leaves_hazard": False,
            "serious": False, "prior_order_lapsed": False}
    return CaseFacts(**{**base, **values})


@pytest.mark.parametrize(("code", "article", "low", "high"), [
    ("SESL-83-1", "83(1)", 10_000, 100_000), ("SESL-84-1", "84(1)", 30_000, 300_000),
    ("SESL-85-1", "85(1)", 20_000, 200_000), ("SESL-86-2", "86(2)", 10_000, 50_000),
])
def test_the_seeded_articles(code, article, low, high):
    offence = CATALOGUE.offence(code)
    assert offence is not None and offence.article == article and (offence.fine.min, offence.fine.max) == (low, high)


@pytest.mark.parametrize(("code", "given", "sandbox", "outcome", "listed", "suggested"), [
    ("SESL-85-1", {"first_offence": True, "minor": True, "corrected_in_time": True}, False, "exempt", "exempt", None),
    ("SESL-85-1", {"first_offence": True, "minor": True, "corrected_in_time": True, "leaves_hazard": True}, False,
     "fine", "may_mitigate", (20_000, 110_000)),
    ("SESL-85-2", {"first_offence": True, "minor": True, "corrected_in_time": True}, False, "fine", "may_mitigate",
     (20_000, 110_000)),
    ("SESL-85-1", {"must_mitigate_grounds": ("coerced",)}, False, "fine", "must_mitigate", (20_000, 74_000)),
    ("SESL-85-1", {}, False, "fine", None, (20_000, 200_000)),
    ("SESL-85-1", {}, True, "soft_measures", None, None),
    ("SESL-85-2", {}, True, "fine", None, (20_000, 200_000)),  # a hazard: no soft measures first
    ("SESL-83-1", {}, False, "order_to_correct", None, None),
    ("SESL-83-1", {"prior_order_lapsed": True}, False, "fine", None, (10_000, 100_000)),
])
def test_proposals(code, given, sandbox, outcome, listed, suggested):
    proposal = propose(CATALOGUE.offences[code], facts(**given), sandbox=sandbox)
    assert (proposal.outcome, proposal.list) == (outcome, listed), proposal.reasons
    got = (proposal.suggested_fine.min, proposal.suggested_fine.max) if proposal.suggested_fine else None
    assert got == suggested
    assert proposal.reasons[0].startswith("中华人民共和国特种设备安全法 Art.")


def test_a_serious_filling_case_may_lose_its_permit():
    proposal = propose(CATALOGUE.offences["SESL-85-1"], facts(serious=True), sandbox=True)
    assert proposal.outcome == "fine" and proposal.revoke_permit_possible


@pytest.mark.parametrize(("code", "given", "outcome", "fine", "revoke", "field"), [
    ("SESL-85-1", {}, "fine", 19_999, False, "fine_yuan"),
    ("SESL-85-1", {}, "fine", 200_001, False, "fine_yuan"),
    ("SESL-85-1", {}, "fine", None, False, "fine_yuan"),
    ("SESL-85-1", {}, "exempt", 5_000, False, "fine_yuan"),
    ("SESL-85-1", {"leaves_hazard": True}, "exempt", None, False, "outcome"),
    ("SESL-84-1", {}, "exempt", None, False, "outcome"),
    ("SESL-86-2", {}, "fine", 20_000, True, "revoke_permit"),
    ("SESL-85-1", {}, "order_to_correct", None, True, "revoke_permit"),
])
def test_decisions_the_law_refuses(code, given, outcome, fine, revoke, field):
    with pytest.raises(DecisionRefused) as raised:
        check_decision(CATALOGUE.offences[code], facts(**given), outcome, fine, revoke)
    assert raised.value.field == field


def test_decisions_within_the_law_pass():
    check_decision(CATALOGUE.offences["SESL-85-1"], facts(), "fine", 30_000, True)
    check_decision(CATALOGUE.offences["SESL-85-1"], facts(), "exempt", None, False)
    check_decision(CATALOGUE.offences["SESL-84-1"], facts(), "soft_measures", 0, False)


@pytest.mark.parametrize(("entry", "problem"), [
    ('SESL-1-1: {law: l, article: "1", title: t, fine: {min: 1, max: 2}, grace_period: false, leaves_hazard: true, '
     'lists: [exempt]}', "never on the exemption list"),
    ('SESL-1-1: {law: l, article: "1", title: t, fine: {min: 2, max: 1}, grace_period: false, leaves_hazard: false, '
     'lists: []}', "min <= max"),
    ('bad code: {law: l, article: "1", title: t, fine: {min: 1, max: 2}, grace_period: false, leaves_hazard: false, '
     'lists: []}', "SESL-85-1"),
])
def test_a_bad_catalogue_is_refused_naming_the_problem(entry, problem):
    with pytest.raises(CatalogueInvalid) as raised:
        parse_catalogue(f"version: x\neffective_from: 2026-01-01\noffences:\n  {entry}\n")
    assert problem in " ".join(raised.value.problems)
