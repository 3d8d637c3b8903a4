"""Management facts (三落实, 三到位, 双机制) with their provenance: declared or observed, as of when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared.contracts.common import MANAGEMENT_KEYS

FactSource = Literal["declared", "observed"]


@dataclass(frozen=True)
class FactState:
    in_place: bool
    source: FactSource
    as_of: datetime

    def as_json(self) -> dict[str, object]:
        return {"in_place": self.in_place, "source": self.source, "as_of": self.as_of.isoformat()}

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> FactState:
        return cls(bool(value["in_place"]), value["source"], datetime.fromisoformat(str(value["as_of"])))  # type: ignore[arg-type]


def apply_facts(current: Mapping[str, FactState], facts: Mapping[str, bool], source: FactSource,
                as_of: datetime) -> tuple[dict[str, FactState], list[str]]:
    """The management state after a declaration or an observation, and the keys whose value
    or provenance changed. The latest report wins whatever its source; one that arrives late
    with an older time than what is held stays in the history only."""
    state = dict(current)
    changed: list[str] = []
    for key, in_place in facts.items():
        held = state.get(key)
        if held is not None and held.as_of > as_of:
            continue
        state[key] = FactState(in_place, source, as_of)
        if held is None or held.in_place != in_place or held.source != source:
            changed.append(key)
    return state, changed


def declare_facts_json(current: Mapping[str, Mapping[str, Any]], facts: Mapping[str, bool],
                       as_of: datetime, *, stamp: str | None = None) -> tuple[dict[str, Any], bool]:
    """``apply_facts`` for a declaration, on the stored JSON form, in the checklist's order: the
    bulk import's path, which skips a round trip through objects for 100,000 rows. ``stamp`` is
    ``as_of.isoformat()`` when the caller holds it already."""
    stamp = stamp or as_of.isoformat()
    if not current:  # nothing held: every fact is new
        return {key: {"in_place": facts[key], "source": "declared", "as_of": stamp}
                for key in MANAGEMENT_KEYS if key in facts}, bool(facts)
    state = dict(current)
    changed = False
    for key, in_place in facts.items():
        held = state.get(key)
        if held is not None and datetime.fromisoformat(str(held["as_of"])) > as_of:
            continue
        changed = changed or held is None or held["in_place"] != in_place or held["source"] != "declared"
        state[key] = {"in_place": in_place, "source": "declared", "as_of": stamp}
    return {key: state[key] for key in MANAGEMENT_KEYS if key in state}, changed
