"""Who may do what in the registry. Pure decisions on a principal and where a thing lies; the
router calls them before the service runs, and they raise 403 problems (contract.md §2).

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

from services.registry.errors import forbidden
from shared.auth import Principal

READ_SCOPE = "registry:read"
WRITE_SCOPE = "registry:write"


def _describe(principal: Principal) -> str:
    if principal.role == "enterprise":
        return f"enterprise user of {principal.enterprise}"
    if principal.jurisdiction:
        return f"{principal.role} of {principal.jurisdiction}"
    return principal.role


def _require_scope(principal: Principal, *scopes: str) -> None:
    if principal.role == "integrator" and not any(principal.has_scope(s) for s in scopes):
        raise forbidden(f"this integrator token lacks the {' or '.join(scopes)} scope")


def _require_cover(principal: Principal, division_code: str, what: str) -> None:
    if not principal.covers(division_code):
        raise forbidden(f"{_describe(principal)} may not {what} in {division_code}: outside its jurisdiction")


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
            raise forbidden(f"{_describe(principal)} may see only its own ledger, not {uscc}")
        raise forbidden(f"{_describe(principal)} may not see {uscc}: it lies in {division_code}, "
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
            raise forbidden(f"{_describe(principal)} may change only its own ledger, not {uscc}")
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
    if principal.role != "regulator" or len(principal.jurisdiction or "") != 6:
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


def ensure_can_assign_inspectors(principal: Principal, code: str) -> None:
    if principal.is_admin:
        return
    if principal.role != "regulator":
        raise forbidden("only regulators assign grid inspectors")
    _require_cover(principal, code, "assign inspectors")
