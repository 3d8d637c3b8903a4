"""Who may do what in scoring, and the typed dependencies routers declare.

- anyone authenticated: the models; the enterprise itself, and the regulators and integrators
  covering it: its score, histories and credit repairs (``Visible``);
- regulators and integrators: lists and statistics of their subtree (``ReportNode``);
- the enterprise itself applies for credit repair; a regulator covering it decides;
- city-level regulators: manual grade adjustments;
- admin, or a regulator of the deployment's root jurisdiction (``SAFEGRID_SCORING_ROOT_JURISDICTION``):
  loading a model version, which rescores everyone; admin: rescoring everyone at will;
- the public: the public grade only.

Each check raises a 403 problem (contract.md §2) before the use case runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy.engine import RowMapping

from services.scoring.context import ScoringContext
from services.scoring.errors import enterprise_not_found, field_error, forbidden
from services.scoring.projection import repository as projection
from shared.app import Runtime, public_context, request_context
from shared.auth import Principal, current_principal
from shared.http.pagination import PageParams, page_params
from shared.http.parameters import UsccPath
from shared.locality import DIVISION_CODE_PATTERN

Ctx = Annotated[ScoringContext, Depends(request_context)]
PublicCtx = Annotated[ScoringContext, Depends(public_context)]
Uscc = UsccPath
Paging = Annotated[PageParams, Depends(page_params)]
Caller = Annotated[Principal, Depends(current_principal)]


# --- roles ----------------------------------------------------------------------------------

def ensure_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles and not principal.is_admin:
        raise forbidden(f"role {principal.role} may not do this; needs one of {', '.join(roles)}")


def ensure_city_level(principal: Principal, what: str) -> None:
    if not principal.is_city_level:
        raise forbidden(f"only a city-level regulator may {what}; your jurisdiction is {principal.jurisdiction}")


def ensure_may_load_models(principal: Principal, root_jurisdiction: str) -> None:
    """A model rescores every enterprise of the deployment: an admin, or a regulator whose
    jurisdiction is the deployment's root, may load one; a regulator of another city may not."""
    ensure_role(principal, "regulator")
    if principal.is_admin:
        return
    if principal.jurisdiction != root_jurisdiction:
        raise forbidden(f"only a regulator of {root_jurisdiction} (the jurisdiction this deployment scores) may "
                        f"load a scoring model; your jurisdiction is {principal.jurisdiction}")


def _regulator(ctx: Ctx) -> ScoringContext:
    ensure_role(ctx.principal, "regulator")
    return ctx


def _supervisor(ctx: Ctx) -> ScoringContext:
    ensure_role(ctx.principal, "regulator", "integrator")
    return ctx


def _enterprise_user(ctx: Ctx) -> ScoringContext:
    ensure_role(ctx.principal, "enterprise")
    return ctx


def _city_regulator(what: str):  # type: ignore[no-untyped-def]
    def check(ctx: Annotated[ScoringContext, Depends(_regulator)]) -> ScoringContext:
        ensure_city_level(ctx.principal, what)
        return ctx
    return check


def _model_loader(principal: Caller, runtime: Runtime) -> Principal:
    ensure_may_load_models(principal, runtime.settings.root_jurisdiction)  # type: ignore[attr-defined]
    return principal


def _admin(principal: Caller) -> Principal:
    ensure_role(principal, "admin")
    return principal


RegulatorCtx = Annotated[ScoringContext, Depends(_regulator)]
SupervisorCtx = Annotated[ScoringContext, Depends(_supervisor)]
EnterpriseCtx = Annotated[ScoringContext, Depends(_enterprise_user)]
GradeAdjusterCtx = Annotated[ScoringContext, Depends(_city_regulator("adjust a grade"))]
GradeLifterCtx = Annotated[ScoringContext, Depends(_city_regulator("lift a grade adjustment"))]
ModelLoader = Annotated[Principal, Depends(_model_loader)]
Admin = Annotated[Principal, Depends(_admin)]


# --- rows the caller may see ----------------------------------------------------------------

async def visible_enterprise(ctx: ScoringContext, uscc: str) -> RowMapping:
    """The enterprise's profile if the caller may see it: an enterprise user its own, a regulator
    (or integrator) its subtree, an admin all; 403 otherwise, 404 when scoring does not know it."""
    principal = ctx.principal
    if principal.role == "enterprise" and principal.enterprise != uscc:
        raise forbidden("an enterprise user sees only its own enterprise")
    profile = await projection.get_profile(ctx.session, uscc)
    if profile is None or profile["revision"] == 0:
        raise enterprise_not_found(uscc)
    if not principal.can_access_enterprise(uscc, profile["jurisdiction_code"]):
        raise forbidden(f"enterprise {uscc} lies outside your jurisdiction")
    return profile


async def _visible(ctx: Ctx, uscc: Uscc) -> RowMapping:
    return await visible_enterprise(ctx, uscc)


def report_node(principal: Principal, jurisdiction: str | None) -> str | None:
    """The node to report on: the one asked for (inside the caller's subtree), else the caller's."""
    if jurisdiction is not None:
        if not principal.covers(jurisdiction):
            raise forbidden(f"jurisdiction {jurisdiction} lies outside yours ({principal.jurisdiction})")
        return jurisdiction
    return principal.jurisdiction if not principal.is_admin else None


def _report_node(ctx: SupervisorCtx,
                 jurisdiction: Annotated[str | None, Query(pattern=DIVISION_CODE_PATTERN)] = None) -> str | None:
    return report_node(ctx.principal, jurisdiction)


Visible = Annotated[RowMapping, Depends(_visible)]
ReportNode = Annotated[str | None, Depends(_report_node)]


# --- pages ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Paged:
    """A page asked for: its size, and the sort key of the last item already seen (None: first page)."""

    params: PageParams
    after: Any


def _cursor_value(params: PageParams, kind: type) -> Any:
    if not params.after:
        return None
    value = params.after[0]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise field_error("cursor", "not a cursor this API issued")
    return value


def _by_id(params: Paging) -> Paged:
    return Paged(params, _cursor_value(params, int))


def _by_uscc(params: Paging) -> Paged:
    return Paged(params, _cursor_value(params, str))


def _by_application(params: Paging) -> Paged:
    """Credit repairs: (applied_at, id) of the last one listed."""
    if not params.after:
        return Paged(params, None)
    if len(params.after) != 2 or not all(isinstance(v, str) for v in params.after):
        raise field_error("cursor", "not a cursor this API issued")
    try:
        datetime.fromisoformat(params.after[0])
    except ValueError as exc:
        raise field_error("cursor", "not a cursor this API issued") from exc
    return Paged(params, (params.after[0], params.after[1]))


PageById = Annotated[Paged, Depends(_by_id)]
PageByUscc = Annotated[Paged, Depends(_by_uscc)]
PageOfRepairs = Annotated[Paged, Depends(_by_application)]
