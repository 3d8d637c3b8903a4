"""A broken rule, named by the field it concerns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One broken rule, named by the field it concerns (a problem's ``errors[]`` entry)."""

    field: str
    message: str

    def as_error(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}
