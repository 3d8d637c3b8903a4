"""What an enterprise does (kinds), and how it is stored so that a portable LIKE finds one."""

from __future__ import annotations

from collections.abc import Iterable

from services.registry.domain.violations import Violation
from shared.contracts.vocabulary import KINDS


def kinds_violation(kinds: Iterable[str], field: str = "kinds") -> Violation | None:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        return Violation(field, f"unknown kind {unknown[0]!r}; one of {', '.join(KINDS)}")
    return None


def kinds_tags(kinds: Iterable[str]) -> str:
    """Kinds stored as "|gas_filling|boiler|" so that a portable LIKE finds one kind."""
    unique = sorted(set(kinds))
    return "|" + "|".join(unique) + "|" if unique else ""


def kinds_from_tags(tags: str | None) -> list[str]:
    return [k for k in (tags or "").split("|") if k]
