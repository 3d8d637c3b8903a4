"""Path parameters more than one service takes, typed once so that every document says the same
thing about them (contract.md §3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from shared.contracts.common import USCC_PATTERN

# The unified social credit code's alphabet and length (GB 32100-2015); the check digit is the
# owning service's rule, not the document's.
UsccPath = Annotated[str, Path(pattern=USCC_PATTERN, description="unified social credit code (统一社会信用代码)")]
