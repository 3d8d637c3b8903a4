"""The 332211 checklist (domain.md §4): 12 items a patrol marks one by one; a patrol completes
only when every item has its mark, and a finding is opened only on a failed item."""

from __future__ import annotations

from shared.contracts.vocabulary import CHECKLIST_ITEMS

ITEM_NAMES: dict[int, str] = {
    1: "safety management organisation", 2: "responsible persons", 3: "management systems",
    4: "emergency plan", 5: "emergency drills", 6: "safety education and training",
    7: "risk-tiered control", 8: "hazard investigation and treatment",
    9: "use-registration certificates", 10: "operator certificates",
    11: "periodic inspection within validity", 12: "records complete",
}


def unmarked(marks: dict[int, str]) -> list[int]:
    """The items still without a mark (a patrol with any cannot complete)."""
    return [n for n in CHECKLIST_ITEMS if n not in marks]


def failed(marks: dict[int, str]) -> list[int]:
    return sorted(n for n, mark in marks.items() if mark == "fail")
