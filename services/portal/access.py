"""Who may do what on the portal, and the typed dependencies routers declare.

- the public (no token): the QR pages and their JSON, rating a unit, reporting a problem and
  following a report by its receipt; each throttled per client (``client_of``);
- regulators: moderate the ratings of enterprises in their jurisdiction subtree; the risk map
  and dashboards of their subtree (integrators too, with portal:read);
- associations (the token's ``sub`` names one): their members' grades and open alerts, and
  notices to them; enterprise users read the notices sent to their enterprise;
- admin: everything.

Each check raises a 403 problem (contract.md §2) before the use case changes anything.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.types import Scope

from services.portal.context import PortalContext
from services.portal.errors import forbidden
from shared.app import public_context, request_context
from shared.auth import Principal
from shared.http.pagination import PageParams, page_params
from shared.locality import in_jurisdiction

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"  # registry's tokens: 192 random bits, URL-safe base64
RECEIPT_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

Ctx = Annotated[PortalContext, Depends(request_context)]
PublicCtx = Annotated[PortalContext, Depends(public_context)]
Paging = Annotated[PageParams, Depends(page_params)]
Token = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the token a QR label carries")]
Receipt = Annotated[str, Path(pattern=RECEIPT_PATTERN, description="the receipt a report's submitter was given")]
RatingId = Annotated[str, Path(pattern=UUID_PATTERN, description="the rating's id")]
ReportId = Annotated[str, Path(pattern=UUID_PATTERN, description="the report's id (service_request_id in Open311)")]


async def client_of(request: Request) -> str:
    """The client a rate limit counts: its address (the first X-Forwarded-For hop when the
    portal is configured to trust its proxy). Async: no worker thread for a header read."""
    return client_in(request.app.state.runtime.settings.trust_forwarded_for, request.scope)


def client_in(trust_forwarded_for: bool, scope: Scope) -> str:
    """``client_of`` read from the ASGI scope (the first X-Forwarded-For header, as Starlette's
    ``Headers.get`` reads it), for a route answering without a ``Request``."""
    if trust_forwarded_for:
        forwarded = next((value for name, value in scope["headers"] if name == b"x-forwarded-for"), b"")
        if forwarded.strip():
            return forwarded.decode("latin-1").split(",")[0].strip()[:64]
    client = scope.get("client")
    return client[0] if client else "unknown"


Client = Annotated[str, Depends(client_of)]


def ensure_moderator(principal: Principal, jurisdiction_code: str | None = None) -> None:
    """Moderation: admins, and regulators covering the enterprise (any regulator lists their subtree)."""
    if principal.is_admin:
        return
    if principal.role != "regulator":
        raise forbidden(f"only regulators and admins moderate ratings, not a {principal.describe()}")
    if jurisdiction_code is not None and not principal.covers(jurisdiction_code or None):
        raise forbidden(f"this rating's enterprise lies outside your jurisdiction ({principal.jurisdiction})")


def regulator_node(principal: Principal, jurisdiction: str | None) -> str | None:
    """The node a dashboard or the map covers: the one asked for, inside the caller's (regulators,
    and integrators with a jurisdiction and portal:read); admins and unscoped integrators: anywhere."""
    if principal.role not in ("regulator", "admin", "integrator"):
        raise forbidden(f"the map and dashboards are for regulators, not a {principal.describe()}")
    if principal.lacks_integrator_scope("portal:read", "portal:write"):
        raise forbidden("this integrator token lacks the portal:read scope")
    own = None if principal.is_admin else principal.jurisdiction
    if jurisdiction and own and not in_jurisdiction(own, jurisdiction):
        raise forbidden(f"jurisdiction {jurisdiction} lies outside yours ({own})")
    return jurisdiction or own


def ensure_label_printer(principal: Principal) -> None:
    """Printing labels: regulators and admins (a bureau posts them)."""
    if not (principal.is_admin or principal.role == "regulator"):
        raise forbidden(f"labels are printed by regulators, not a {principal.describe()}")


def ensure_covers(principal: Principal, jurisdiction_code: str | None) -> None:
    if not principal.covers(jurisdiction_code):
        raise forbidden(f"this unit lies outside your jurisdiction ({principal.jurisdiction})")


def ensure_report_reader(principal: Principal, jurisdiction_code: str | None) -> None:
    """A report in full (its words, place and photo): regulators covering the unit, admins."""
    if not (principal.is_admin or principal.role == "regulator"):
        raise forbidden(f"reports are read by the regulators handling them, not a {principal.describe()}")
    ensure_covers(principal, jurisdiction_code)
