"""The unified social credit code (统一社会信用代码, GB 32100-2015, contract.md §3)."""

from __future__ import annotations

from operator import mul

from stdnum.cn import uscc as stdnum_uscc

from services.registry.domain.violations import Violation
from shared.contracts.common import USCC_CHARSET

WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUES = {char: value for value, char in enumerate(USCC_CHARSET)}
_CHARS = frozenset(USCC_CHARSET)


def uscc_check_digit(first17: str) -> str:
    """The check character: (31 - Σ(code_i·w_i) mod 31) mod 31 in the USCC alphabet.

    Computed here for codes in the alphabet (a bulk import checks 100,000 of them; python-stdnum
    first cleans each code of separators, which took four times as long), by python-stdnum for
    anything else (lower case, separators), which computes exactly the pinned sum and alphabet
    (tests hold the three together). Its ``validate`` is not used because it also demands digits
    in positions 1-8, which the pinned charset does not (registration authorities such as "Y")."""
    try:
        total = sum(map(mul, map(_VALUES.__getitem__, first17), WEIGHTS))
    except KeyError:
        return stdnum_uscc.calc_check_digit(first17)
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_violation(code: str, *, allow_invalid_check_digit: bool = False) -> Violation | None:
    """Why ``code`` is not a USCC, or None. Length and characters are never negotiable."""
    if len(code) != 18:
        return Violation("uscc", f"must be 18 characters, got {len(code)}")
    if not _CHARS.issuperset(code):
        for position, char in enumerate(code, start=1):
            if char not in _CHARS:
                return Violation("uscc", f"character {char!r} at position {position} is not one of {USCC_CHARSET}")
    expected = uscc_check_digit(code[:17])
    if code[17] != expected and not allow_invalid_check_digit:
        return Violation("uscc", f"check digit is {code[17]!r}, expected {expected!r}")
    return None


def make_uscc(first17: str) -> str:
    """A USCC with the correct check digit (demo data, tests)."""
    return first17 + uscc_check_digit(first17)
