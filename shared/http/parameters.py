"""Path parameters more than one service takes, typed once so that every document says the same
thing about them (contract.md §3)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path

from shared.contracts.common import USCC_PATTERN
from shared.http.problems import field_error

# The unified social credit code's alphabet and length (GB 32100-2015); the check digit is the
# owning service's rule, not the document's.
UsccPath = Annotated[str, Path(pattern=USCC_PATTERN, description="unified social credit code (统一社会信用代码)")]


def day_of(name: str, text: str | None) -> date | None:
    """A YYYY-MM-DD query parameter (the pattern is checked by the route) as a date; 422 naming
    it for a date that does not exist (2026-02-30)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise field_error(name, f"{text} is not a date") from exc
