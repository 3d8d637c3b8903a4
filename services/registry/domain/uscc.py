"""The unified social credit code (统一社会信用代码, GB 32100-2015, contract.md §3)."""

from __future__ import annotations

from stdnum.cn import uscc as stdnum_uscc

from services.registry.domain.violations import Violation
from shared.contracts.common import USCC_CHARSET


def uscc_check_digit(first17: str) -> str:
    """The check character: (31 - Σ(code_i·w_i) mod 31) mod 31 in the USCC alphabet.

    python-stdnum computes exactly the pinned sum and alphabet (tests hold the two together);
    its ``validate`` is not used because it also demands digits in positions 1-8, which the
    pinned charset does not (registration authorities such as "Y" exist)."""
    return stdnum_uscc.calc_check_digit(first17)


def uscc_violation(code: str, *, allow_invalid_check_digit: bool = False) -> Violation | None:
    """Why ``code`` is not a USCC, or None. Length and characters are never negotiable."""
    if len(code) != 18:
        return Violation("uscc", f"must be 18 characters, got {len(code)}")
    for position, char in enumerate(code, start=1):
        if char not in USCC_CHARSET:
            return Violation("uscc", f"character {char!r} at position {position} is not one of {USCC_CHARSET}")
    expected = uscc_check_digit(code[:17])
    if code[17] != expected and not allow_invalid_check_digit:
        return Violation("uscc", f"check digit is {code[17]!r}, expected {expected!r}")
    return None


def make_uscc(first17: str) -> str:
    """A USCC with the correct check digit (demo data, tests)."""
    return first17 + uscc_check_digit(first17)
