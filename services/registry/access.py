"""Who may do what in the registry, and the typed dependencies routers declare (``Ctx``,
``PublicCtx``, ``AdminCtx``, ``ImportingPrincipal``, ``Paging``, ``IfMatch``, path parameters and
query filters). The checks are pure decisions on a principal and where a thing lies; use cases
call them once they know where the thing lies, and they raise 403 problems (contract.md §2).
Routers never raise their own.

- regulators: everything under their node, nothing outside it; designation (重点监管认定) needs
  a city or district regulator;
- enterprise users: their own ledger (equipment, cylinders, operators, declared management
  facts, contacts), never grades, designations, verified locations or accidents;
- integrators: by scope (``registry:read``, ``registry:write``; a token without scopes may do
  everything an integrator can), within their jurisdiction claim if they carry one;
- admin: everything. Associations and the public see nothing here but the public QR endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query

from services.registry.context import RegistryContext
from services.registry.errors import forbidden
from shared.app import public_context, request_context
from shared.auth import Principal, current_principal
from shared.contracts.vocabulary import Kind, VenueType
from shared.http.pagination import PageParams, make_page, page_params
from shared.http.preconditions import PRECONDITION_RESPONSES, IfMatch, set_etag  # noqa: F401 (routers' dependencies)
from shared.http.problems import field_error
from shared.locality import DIVISION_CODE_PATTERN, level_of

READ_SCOPE = "registry:read"
WRITE_SCOPE = "registry:write"
SIX_DIGIT_LEVELS = ("province", "city", "district")  # the nodes above townships: they designate


def _require_scope(principal: Principal, *scopes: str) -> None:
    if principal.lacks_integrator_scope(*scopes):
        raise forbidden(f"this integrator token lacks the {' or '.join(scopes)} scope")


def _require_cover(principal: Principal, division_code: str, what: str) -> None:
    if not principal.covers(division_code):
        raise forbidden(f"{principal.describe()} may not {what} in {division_code}: outside its jurisdiction")


@dataclass(frozen=True)
class ListScope:
    """What a list or map may show: everything, a subtree, or one enterprise."""

    jurisdiction: str | None = None
    enterprise: str | None = None


def list_scope(principal: Principal) -> ListScope:
    if principal.role == "association":
        raise forbidden("associations see their members through the association endpoints, not the registry")
    _require_scope(principal, READ_SCOPE, WRITE_SCOPE)
    if principal.role == "enterprise":
        return ListScope(enterprise=principal.enterprise)
    if principal.is_admin or (principal.role == "integrator" and not principal.jurisdiction):
        return ListScope()
    return ListScope(jurisdiction=principal.jurisdiction)


def ensure_can_read(principal: Principal, uscc: str, division_code: str) -> None:
    _require_scope(principal, READ_SCOPE, WRITE_SCOPE)
    if not principal.can_access_enterprise(uscc, division_code):
        if principal.role == "enterprise":
            raise forbidden(f"{principal.describe()} may see only its own ledger, not {uscc}")
        raise forbidden(f"{principal.describe()} may not see {uscc}: it lies in {division_code}, "
                        "outside its jurisdiction")


def ensure_can_register(principal: Principal, division_code: str) -> None:
    if principal.role not in ("regulator", "integrator", "admin"):
        raise forbidden(f"{principal.role} users may not register enterprises")
    _require_scope(principal, WRITE_SCOPE)
    _require_cover(principal, division_code, "register enterprises")


def ensure_can_keep_ledger(principal: Principal, uscc: str, division_code: str) -> None:
    """The enterprise's own ledger: equipment, cylinders, operators, declared facts, contacts."""
    if principal.role == "enterprise":
        if principal.enterprise != uscc:
            raise forbidden(f"{principal.describe()} may change only its own ledger, not {uscc}")
        return
    ensure_can_govern(principal, division_code)


def ensure_can_govern(principal: Principal, division_code: str) -> None:
    """What only supervisors and trusted systems write: profile, grades, placement, accidents,
    observations."""
    if principal.role not in ("regulator", "integrator", "admin"):
        raise forbidden(f"{principal.role} users may not do this")
    _require_scope(principal, WRITE_SCOPE)
    _require_cover(principal, division_code, "change the ledger")


def ensure_can_designate(principal: Principal, division_code: str) -> None:
    """Manual key-supervision designation: city or district regulators (6-digit node) and admin."""
    if principal.is_admin:
        return
    if principal.role != "regulator" or level_of(principal.jurisdiction or "") not in SIX_DIGIT_LEVELS:
        raise forbidden("only city or district regulators designate units for key supervision")
    _require_cover(principal, division_code, "designate units")


def ensure_can_verify_location(principal: Principal, division_code: str) -> None:
    """A regulator confirms the coordinates on site."""
    if principal.is_admin:
        return
    if principal.role != "regulator":
        raise forbidden("only regulators verify locations")
    _require_cover(principal, division_code, "verify locations")


def ensure_can_administer(principal: Principal) -> None:
    if not principal.is_admin:
        raise forbidden("administrators only")


def ensure_can_import(principal: Principal) -> None:
    if principal.role not in ("regulator", "integrator", "admin"):
        raise forbidden(f"{principal.role} users may not import")
    _require_scope(principal, WRITE_SCOPE)


def ensure_can_read_import(principal: Principal, created_by: str) -> None:
    if created_by != principal.sub and not principal.is_admin:
        raise forbidden("only whoever ran an import (or an admin) may read it")


def ensure_can_assign_inspectors(principal: Principal, code: str) -> None:
    if principal.is_admin:
        return
    if principal.role != "regulator":
        raise forbidden("only regulators assign grid inspectors")
    _require_cover(principal, code, "assign inspectors")


# --- what routers declare ----------------------------------------------------------------------

Ctx = Annotated[RegistryContext, Depends(request_context)]
PublicCtx = Annotated[RegistryContext, Depends(public_context)]


async def _admin_context(ctx: Ctx) -> RegistryContext:
    ensure_can_administer(ctx.principal)
    return ctx


async def _importing_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    ensure_can_import(principal)
    return principal


AdminCtx = Annotated[RegistryContext, Depends(_admin_context)]
ImportingPrincipal = Annotated[Principal, Depends(_importing_principal)]
Paging = Annotated[PageParams, Depends(page_params)]
DivisionCodePath = Annotated[str, Path(pattern=DIVISION_CODE_PATTERN,
                                       description="administrative division code (6, 9 or 12 digits)")]
GRID_CODE_PATTERN = r"^[1-9][0-9]{11}$"
GridCodePath = Annotated[str, Path(pattern=GRID_CODE_PATTERN, description="a grid's 12-digit division code")]
# Filters of lists: one value of the vocabulary; an empty value is no filter, as if left out.
KindFilter = Annotated[Literal[Kind, ""] | None, Query(description="enterprises of this kind (empty: any)")]
VenueTypeFilter = Annotated[Literal[VenueType, ""] | None,
                            Query(description="enterprises of this venue type (empty: any)")]


def cursor_key(paging: PageParams) -> str | None:
    """The single string key the registry's keyset cursors carry."""
    if paging.after is None:
        return None
    if len(paging.after) != 1 or not isinstance(paging.after[0], str):
        raise field_error("cursor", "not a cursor this API issued")
    return paging.after[0]


def page(rows: list[Any], paging: PageParams, key: Any, out: Any) -> dict[str, Any]:
    """A page of ``rows`` (fetched with limit + 1) whose cursor is ``[key(last row)]``."""
    return make_page(rows, paging, lambda row: [key(row)], out)
