"""Who may do what in enforcement, and the typed dependencies routers declare.

- regulators (and grid inspectors, regulators of a grid): the alerts of enterprises in their
  jurisdiction subtree; they dispatch, acknowledge and resolve them;
- enterprise users: only their own enterprise's alerts addressed to it (warnings), which they
  may acknowledge;
- associations (the token's ``sub`` names the association, as registry's enterprise
  ``associations`` do): their member units' alerts, read only;
- integrators: by scope, ``enforcement:read`` to read and ``enforcement:write`` to act, within
  their jurisdiction claim if they carry one; they and admins manage webhook subscriptions
  (an integrator only its own);
- admin: everything.

Each check raises a 403 problem (contract.md §2) before the use case changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query

from services.enforcement.context import EnforcementContext
from services.enforcement.errors import field_error, forbidden
from shared.app import public_context, read_only_request_context, request_context
from shared.auth import Principal
from shared.http.pagination import PageParams, page_params
from shared.locality import DIVISION_CODE_PATTERN, in_jurisdiction

READ_SCOPE, WRITE_SCOPE = "enforcement:read", "enforcement:write"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
JURISDICTION_PATTERN = DIVISION_CODE_PATTERN

Ctx = Annotated[EnforcementContext, Depends(request_context)]
# Endpoints that only read: on SQLite they do not queue behind the consumer's writes.
ReadCtx = Annotated[EnforcementContext, Depends(read_only_request_context)]
PublicCtx = Annotated[EnforcementContext, Depends(public_context)]
Paging = Annotated[PageParams, Depends(page_params)]
AlertId = Annotated[str, Path(pattern=UUID_PATTERN, description="the alert's id")]
SubscriptionId = Annotated[str, Path(pattern=UUID_PATTERN, description="the subscription's id")]


@dataclass(frozen=True)
class AlertScope:
    """The alerts a caller may see: every condition given must hold (none: all alerts)."""

    node: str | None = None  # the enterprise lies in this jurisdiction subtree
    enterprise: str | None = None
    addressed_to: str | None = None
    association: str | None = None  # the enterprise is a member


def _integrator(principal: Principal, scope: str) -> None:
    if not principal.has_scope(scope):
        raise forbidden(f"this integrator token lacks the {scope} scope")


def alert_scope(principal: Principal) -> AlertScope:
    """What the caller may list and read."""
    role = principal.role
    if principal.is_admin:
        return AlertScope()
    if role == "regulator":
        return AlertScope(node=principal.jurisdiction)
    if role == "integrator":
        _integrator(principal, READ_SCOPE)
        return AlertScope(node=principal.jurisdiction)
    if role == "enterprise":
        return AlertScope(enterprise=principal.enterprise, addressed_to="enterprise")
    if role == "association":
        return AlertScope(node=principal.jurisdiction, association=principal.sub)
    raise forbidden(f"role {role} may not read alerts")


def sees(scope: AlertScope, alert: Any, members_of: frozenset[str]) -> bool:
    """``members_of``: the associations the alert's enterprise belongs to."""
    if scope.node is not None and not (alert.location_code and in_jurisdiction(scope.node, alert.location_code)):
        return False
    if scope.enterprise is not None and alert.enterprise_uscc != scope.enterprise:
        return False
    if scope.addressed_to is not None and alert.addressed_to != scope.addressed_to:
        return False
    return scope.association is None or scope.association in members_of


def ensure_may_act(principal: Principal, alert: Any, verb: str) -> None:
    """Dispatch, acknowledge, resolve: regulators covering the enterprise, integrators with the
    write scope covering it, admin; the enterprise itself may acknowledge a warning addressed to it."""
    if principal.is_admin:
        return
    role = principal.role
    if role == "enterprise":
        if verb == "acknowledge" and alert.enterprise_uscc == principal.enterprise \
                and alert.addressed_to == "enterprise":
            return
        raise forbidden("an enterprise user may only acknowledge a warning addressed to its own enterprise")
    if role == "integrator":
        _integrator(principal, WRITE_SCOPE)
        if principal.jurisdiction is None or (alert.location_code and
                                              in_jurisdiction(principal.jurisdiction, alert.location_code)):
            return
    elif role == "regulator":
        if alert.location_code and principal.jurisdiction and in_jurisdiction(principal.jurisdiction,
                                                                              alert.location_code):
            return
    else:
        raise forbidden(f"role {role} may not {verb} alerts")
    raise forbidden(f"this alert's enterprise lies outside your jurisdiction ({principal.jurisdiction})")


def within_scope(scope: AlertScope, jurisdiction: str | None) -> None:
    """A jurisdiction filter outside the caller's subtree is refused, not silently narrowed."""
    if jurisdiction and scope.node and not in_jurisdiction(scope.node, jurisdiction):
        raise forbidden(f"jurisdiction {jurisdiction} lies outside yours ({scope.node})")


def ensure_webhook_manager(principal: Principal, *, write: bool) -> None:
    """Webhook subscriptions: admins, and integrators with the scope."""
    if principal.is_admin:
        return
    if principal.role != "integrator":
        raise forbidden("only integrators and admins manage webhook subscriptions")
    _integrator(principal, WRITE_SCOPE if write else READ_SCOPE)


def ensure_owns(principal: Principal, subscription: Any) -> None:
    if not principal.is_admin and subscription.owner != principal.sub:
        raise forbidden("an integrator sees only the webhook subscriptions it created")


# --- pages ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Paged:
    """A page asked for: its size, and (timestamp, id) of the last item already seen."""

    params: PageParams
    after: tuple[datetime, str] | None


def _by_time(params: Paging) -> Paged:
    if not params.after:
        return Paged(params, None)
    if len(params.after) != 2 or not all(isinstance(v, str) for v in params.after):
        raise field_error("cursor", "not a cursor this API issued")
    try:
        moment = datetime.fromisoformat(params.after[0])
    except ValueError as exc:
        raise field_error("cursor", "not a cursor this API issued") from exc
    return Paged(params, (moment, params.after[1]))


PageByTime = Annotated[Paged, Depends(_by_time)]
Jurisdiction = Annotated[str | None, Query(pattern=JURISDICTION_PATTERN,
                                           description="only alerts of enterprises in this subtree")]


# --- plans, patrols, cases, orders ------------------------------------------------------------
# Regulators work in their subtree; integrators by scope within their jurisdiction claim; admin
# everywhere; enterprise users read their own patrols, cases and orders and report an order's
# rectification; associations see none of these (their members' alerts only).

PlanId = Annotated[str, Path(pattern=UUID_PATTERN, description="the plan's id")]
ItemId = Annotated[str, Path(pattern=UUID_PATTERN, description="the plan item's id")]
DrawId = Annotated[str, Path(pattern=UUID_PATTERN, description="the draw's id")]
PatrolId = Annotated[str, Path(pattern=UUID_PATTERN, description="the patrol's id")]
CaseId = Annotated[str, Path(pattern=UUID_PATTERN, description="the case's id")]
OrderId = Annotated[str, Path(pattern=UUID_PATTERN, description="the order's id")]


@dataclass(frozen=True)
class Scope:
    """What a caller may list: rows located in ``node``'s subtree and/or of one ``enterprise``."""

    node: str | None = None
    enterprise: str | None = None


def read_scope(principal: Principal, what: str, *, enterprise_reads: bool) -> Scope:
    if principal.is_admin:
        return Scope()
    if principal.role == "regulator":
        return Scope(node=principal.jurisdiction)
    if principal.role == "integrator":
        _integrator(principal, READ_SCOPE)
        return Scope(node=principal.jurisdiction)
    if principal.role == "enterprise" and enterprise_reads:
        return Scope(enterprise=principal.enterprise)
    raise forbidden(f"role {principal.role} may not read {what}")


def may_read(scope: Scope, location_code: str | None, uscc: str | None = None) -> bool:
    if scope.enterprise is not None and uscc != scope.enterprise:
        return False
    return scope.node is None or bool(location_code and in_jurisdiction(scope.node, location_code))


def ensure_reads(principal: Principal, what: str, location_code: str | None, uscc: str | None = None, *,
                 enterprise_reads: bool = True) -> None:
    if not may_read(read_scope(principal, what, enterprise_reads=enterprise_reads), location_code, uscc):
        raise forbidden(f"this {what} is not yours to see")


def ensure_regulates(principal: Principal, location_code: str | None, what: str) -> None:
    """Writes on plans, patrols, cases and orders: a regulator covering the place, an integrator
    with the write scope covering it, admin."""
    if principal.is_admin:
        return
    if principal.role == "integrator":
        _integrator(principal, WRITE_SCOPE)
        if principal.jurisdiction is None:
            return
    elif principal.role != "regulator":
        raise forbidden(f"role {principal.role} may not {what}")
    if not (location_code and principal.jurisdiction and in_jurisdiction(principal.jurisdiction, location_code)):
        where = location_code or "an unknown place"
        raise forbidden(f"{where} lies outside your jurisdiction ({principal.jurisdiction}): you may not {what}")


def ensure_own_enterprise(principal: Principal, uscc: str, what: str) -> None:
    if not (principal.role == "enterprise" and principal.enterprise == uscc):
        raise forbidden(f"only the enterprise's own users may {what}")
