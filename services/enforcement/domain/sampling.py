"""双随机、一公开 random sampling: units and inspectors both drawn at random, reproducibly by
anyone from the published seed, the published population lists and this algorithm.

Algorithm ``safegrid-draw-v1`` (every string UTF-8, every hash SHA-256 as lowercase hex):

1. Units, per stratum (a supervision grade, strata in the order A, B, C, D): the population is
   the stratum's USCCs; the sample size is ``n = floor(rate * N + 1/2)`` computed in exact
   decimal arithmetic from the rate as published (e.g. ``"0.05"``). Each unit is ranked by
   ``sha256(seed + ":unit:" + stratum + ":" + uscc)``; the ``n`` smallest (ties by USCC) are drawn.
2. Inspectors, for each drawn unit in draw order (strata in order, then rank): every inspector
   of the published inspector list is ranked by ``sha256(seed + ":inspector:" + uscc + ":" +
   inspector_id)``; the ``k`` smallest (ties by id) are assigned to that unit.

The seed is published with the draw (drawn from the OS's CSPRNG when the caller gives none); the
populations are frozen in the draw when it is made, so the published draw can be checked later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

ALGORITHM = "safegrid-draw-v1"


@dataclass(frozen=True)
class DrawnUnit:
    uscc: str
    stratum: str
    rank_hash: str
    inspectors: tuple[str, ...]


def _h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sample_size(rate: str, population: int) -> int:
    """``floor(rate * N + 1/2)`` in exact decimals (``rate`` as published, e.g. "0.05")."""
    return int((Decimal(rate) * population + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR))


def draw(seed: str, strata: dict[str, list[str]], rates: dict[str, str], inspectors: list[str],
         per_unit: int) -> list[DrawnUnit]:
    """The sample: for each stratum (in the order given) the units drawn, each with its inspectors."""
    if per_unit > len(set(inspectors)):
        raise ValueError(f"{per_unit} inspectors per unit, but the inspector list holds {len(set(inspectors))}")
    drawn: list[DrawnUnit] = []
    pool = sorted(set(inspectors))
    for stratum, units in strata.items():
        population = sorted(set(units))
        ranked = sorted((_h(f"{seed}:unit:{stratum}:{u}"), u) for u in population)
        for rank_hash, uscc in ranked[:sample_size(rates[stratum], len(population))]:
            chosen = sorted((_h(f"{seed}:inspector:{uscc}:{i}"), i) for i in pool)[:per_unit]
            drawn.append(DrawnUnit(uscc, stratum, rank_hash, tuple(i for _, i in chosen)))
    return drawn
