"""A case's workflow (立案 → 调查取证 → 处罚建议 → 决定 → 结案) and an order to correct's: each
verb allowed from some statuses only; anything else is an invalid transition (a 409)."""

from __future__ import annotations

from typing import Literal

CaseStatus = Literal["opened", "investigating", "proposed", "decided", "closed"]
CaseVerb = Literal["add_evidence", "propose", "decide", "close"]
CASE_ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "add_evidence": (frozenset({"opened", "investigating", "proposed"}), "investigating"),
    "propose": (frozenset({"investigating", "proposed"}), "proposed"),  # a new proposal replaces the last
    "decide": (frozenset({"proposed"}), "decided"),
    "close": (frozenset({"decided"}), "closed"),
}

OrderStatus = Literal["open", "reported", "rectified"]
ORDER_ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "report": (frozenset({"open"}), "reported"),  # the enterprise says it corrected
    "verify_passed": (frozenset({"open", "reported"}), "rectified"),
    "verify_failed": (frozenset({"reported"}), "open"),
}


class InvalidStep(ValueError):
    def __init__(self, what: str, status: str, verb: str, allowed: frozenset[str]) -> None:
        super().__init__(f"a {what} that is {status} does not allow {verb.replace('_', ' ')} "
                         f"(only from: {', '.join(sorted(allowed))})")
        self.status = status


def case_step(status: str, verb: str) -> str:
    allowed, result = CASE_ALLOWED[verb]
    if status not in allowed:
        raise InvalidStep("case", status, verb, allowed)
    return result


def order_step(status: str, verb: str) -> str:
    allowed, result = ORDER_ALLOWED[verb]
    if status not in allowed:
        raise InvalidStep("order to correct", status, verb, allowed)
    return result
