"""Use cases of the registry's core: the jurisdiction tree and enterprises (使用单位).

Every function takes a ``Context`` (who acts, in which transaction) and flushes, never commits:
the request dependency, the CLI or the import runner own the transaction, so a change and the
events describing it are committed together or not at all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import access
from services.registry import repository as repo
from services.registry.access import ListScope
from services.registry.config import Settings
from services.registry.domain import (
    Bounds,
    FactState,
    Node,
    Placement,
    Violation,
    apply_facts,
    etag,
    if_match_allows,
    key_supervision,
    kinds_tags,
    place_enterprise,
    uscc_violation,
)
from services.registry.errors import (
    duplicate,
    forbidden,
    forbidden_fields,
    invalid,
    not_found,
    precondition_failed,
    precondition_required,
)
from services.registry.events import enterprise_snapshot
from services.registry.models import Enterprise, Jurisdiction, ManagementFactRecord
from services.registry.schemas import (
    ENTERPRISE_SELF_SERVICE_FIELDS,
    EnterpriseCreate,
    EnterprisePatch,
    KeySupervisionDesignation,
    Location,
    ManagementFacts,
    ManagementObservation,
)
from shared.auth import Principal
from shared.contracts.common import MANAGEMENT_KEYS
from shared.contracts.registry import (
    ENTERPRISE_KEY_SUPERVISION_CHANGED,
    ENTERPRISE_MANAGEMENT_FACTS_CHANGED,
    ENTERPRISE_REGISTERED,
    ENTERPRISE_UPDATED,
)
from shared.db import PlatformTables, session_scope, utcnow
from shared.events.outbox import Outbox
from shared.events.spec import EventSpec
from shared.locality import business_today, in_jurisdiction, level_of, parent_of

transaction = session_scope  # one unit of work outside a request: commits on success
PACKAGED_JURISDICTIONS = Path(__file__).parent / "data" / "rizhao.yaml"
CLOCK_SKEW = timedelta(minutes=5)  # device clocks run ahead; a patrol "in the future" by less is fine


@dataclass
class Context:
    """Who acts, in which transaction, under which settings, on which business date."""

    session: AsyncSession
    outbox: Outbox
    tables: PlatformTables
    settings: Settings
    principal: Principal
    today: date = field(default_factory=business_today)

    @classmethod
    def of(cls, runtime: Any, session: AsyncSession, principal: Principal) -> Context:
        return cls(session=session, outbox=runtime.outbox, tables=runtime.tables, settings=runtime.settings,
                   principal=principal)

    @property
    def actor(self) -> str:
        return self.principal.sub


def require_if_match(if_match: str | None, revision: int) -> None:
    """PATCH and PUT name the revision they were based on, so two offices cannot overwrite
    each other silently: no If-Match → 428, a stale one → 412."""
    if if_match is None or not if_match.strip():
        raise precondition_required(etag(revision))
    if not if_match_allows(if_match, revision):
        raise precondition_failed(etag(revision))


# --- jurisdictions -----------------------------------------------------------------------------

def node_of(row: Jurisdiction | None) -> Node | None:
    if row is None:
        return None
    bounds = None
    if None not in (row.min_lat, row.max_lat, row.min_lon, row.max_lon):
        bounds = Bounds(row.min_lat, row.max_lat, row.min_lon, row.max_lon)  # type: ignore[arg-type]
    return Node(row.code, row.name, row.level, bounds)


async def resolve_placement(session: AsyncSession, jurisdiction_code: str, grid_code: str | None,
                            location: Location | None) -> Placement:
    jurisdiction = node_of(await repo.get_jurisdiction(session, jurisdiction_code))
    grid = node_of(await repo.get_jurisdiction(session, grid_code)) if grid_code else None
    grids: Iterable[Node] = ()
    if jurisdiction is not None and grid_code is None and location is not None and jurisdiction.level != "grid":
        grids = [n for n in map(node_of, await repo.grids_under(session, jurisdiction_code)) if n]
    point = (location.lat, location.lon) if location else None
    placement, violations = place_enterprise(jurisdiction, grid, grid_code, point, grids)
    if violations or placement is None:
        raise invalid(violations)
    return placement


def tree_violations(nodes: list[Mapping[str, Any]]) -> list[Violation]:
    """A jurisdiction file must be a proper tree: codes shaped by level, children under their
    parent's code and inside their parent's box."""
    violations: list[Violation] = []
    by_code = {str(n["code"]): n for n in nodes}
    for node in nodes:
        code = str(node["code"])
        level = level_of(code)
        if level is None or level != node["level"]:
            violations.append(Violation(code, f"code shape says {level}, file says {node['level']}"))
        parent = node.get("parent_code")
        if parent is not None and not in_jurisdiction(parent, code):
            violations.append(Violation(code, f"does not lie under its parent {parent}"))
        bounds, parent_node = node.get("bounds"), by_code.get(parent) if parent else None
        if (bounds and parent_node and parent_node.get("bounds")
                and not Bounds(**bounds).within(Bounds(**parent_node["bounds"]))):
            violations.append(Violation(code, f"bounds are not inside {parent}'s bounds"))
    return violations


def flatten_tree(tree: Iterable[Mapping[str, Any]], parent: str | None = None) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for item in tree:
        code = str(item["code"])
        nodes.append({"code": code, "name": item["name"], "level": item["level"],
                      "parent_code": parent if parent is not None else parent_of(code) if item["level"] != "city"
                      else None, "bounds": item.get("bounds"), "inspectors": item.get("inspectors", [])})
        nodes.extend(flatten_tree(item.get("children", []), code))
    return nodes


async def load_jurisdictions(session: AsyncSession, path: Path | None = None) -> int:
    """Upsert the jurisdiction tree of a YAML file (default: the packaged demo city)."""
    document = yaml.safe_load((path or PACKAGED_JURISDICTIONS).read_text(encoding="utf-8"))
    nodes = flatten_tree(document["jurisdictions"])
    known = {n["code"] for n in nodes}
    for node in nodes:  # the file's root may hang under a node that is not in the file
        if node["parent_code"] not in known:
            node["parent_code"] = None
    violations = tree_violations(nodes)
    if violations:
        raise ValueError("; ".join(f"{v.field}: {v.message}" for v in violations[:10]))
    for node in nodes:  # parents come first in a depth-first walk, so foreign keys hold
        row = await repo.get_jurisdiction(session, node["code"]) or Jurisdiction(code=node["code"], revision=1)
        bounds = node["bounds"] or {}
        row.name, row.level, row.parent_code = node["name"], node["level"], node["parent_code"]
        row.min_lat, row.max_lat = bounds.get("min_lat"), bounds.get("max_lat")
        row.min_lon, row.max_lon = bounds.get("min_lon"), bounds.get("max_lon")
        row.inspectors = node["inspectors"] or []
        session.add(row)
        await session.flush()
    return len(nodes)


async def seed_jurisdictions(session: AsyncSession, settings: Settings) -> int:
    """At start-up: an empty registry gets the configured tree, so the headline chain works on a
    fresh deployment. Nothing happens once any node exists."""
    if not settings.seed_jurisdictions or await repo.count_jurisdictions(session) > 0:
        return 0
    return await load_jurisdictions(session, Path(settings.jurisdictions_file) if settings.jurisdictions_file
                                    else None)


async def set_inspectors(ctx: Context, code: str, inspectors: list[dict[str, str]],
                        if_match: str | None) -> Jurisdiction:
    row = await repo.get_jurisdiction(ctx.session, code, for_update=True)
    if row is None:
        raise not_found("jurisdiction", code)
    access.ensure_can_assign_inspectors(ctx.principal, code)
    if row.level != "grid":
        raise invalid([Violation("code", f"{code} is a {row.level}; inspectors are assigned to grids")])
    require_if_match(if_match, row.revision)
    row.inspectors = inspectors
    row.revision += 1
    await ctx.session.flush()
    return row


# --- enterprises: reads ------------------------------------------------------------------------

async def get_enterprise(session: AsyncSession, uscc: str, *, for_update: bool = False) -> Enterprise:
    row = await repo.get_enterprise(session, uscc, for_update=for_update)
    if row is None:
        raise not_found("enterprise", uscc)
    return row


async def read_enterprise(ctx: Context, uscc: str) -> Enterprise:
    row = await get_enterprise(ctx.session, uscc)
    access.ensure_can_read(ctx.principal, uscc, row.division_code)
    return row


async def search_enterprises(ctx: Context, filters: repo.EnterpriseFilters, *, limit: int,
                             after: str | None) -> list[Enterprise]:
    scope = access.list_scope(ctx.principal)
    effective_scope(scope, filters.jurisdiction)
    return list(await repo.search_enterprises(ctx.session, filters, scope, limit=limit, after=after))


async def enterprise_map(ctx: Context, filters: repo.EnterpriseFilters) -> dict[str, Any]:
    scope = access.list_scope(ctx.principal)
    effective_scope(scope, filters.jurisdiction)
    return feature_collection(await repo.enterprise_points(ctx.session, filters, scope))


async def management_view(ctx: Context, uscc: str) -> tuple[Enterprise, list[ManagementFactRecord]]:
    row = await read_enterprise(ctx, uscc)
    return row, list(await repo.management_history(ctx.session, uscc))


def effective_scope(scope: ListScope, jurisdiction: str | None) -> None:
    """A filter asking for a subtree outside the caller's is refused, not silently narrowed."""
    if jurisdiction and scope.jurisdiction and not in_jurisdiction(scope.jurisdiction, jurisdiction):
        raise forbidden(f"you may list only within {scope.jurisdiction}, not {jurisdiction}")


def feature_collection(points: Iterable[Any]) -> dict[str, Any]:
    """GeoJSON (RFC 7946): coordinates are [lon, lat]."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": p.uscc,
         "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
         "properties": {"uscc": p.uscc, "name": p.name, "jurisdiction_code": p.jurisdiction_code,
                        "grid_code": p.grid_code, "venue_type": p.venue_type,
                        "kinds": [k for k in p.kinds_tags.split("|") if k], "key_supervision": p.key_supervision,
                        "location_verified": p.location_verified_at is not None,
                        "operating_status": p.operating_status}}
        for p in points]}


# --- enterprises: writes -----------------------------------------------------------------------

async def publish_enterprise(ctx: Context, row: Enterprise, spec: EventSpec[Any], *, bump: bool = True) -> None:
    """Every event about an enterprise is a new revision of its snapshot."""
    if bump:
        row.revision += 1
        row.updated_at = utcnow()
    await ctx.session.flush()
    await ctx.outbox.publish(ctx.session, spec, subject=row.uscc, data=enterprise_snapshot(row))


def refresh_key_supervision(row: Enterprise, today: date, accident_years: int) -> bool:
    """Recompute the designation from its causes; True when it changed."""
    result = key_supervision(row.venue_type, row.last_accident_date, row.designation_reason, today, accident_years)
    before = (row.key_supervision, list(row.key_supervision_causes or []), row.key_supervision_reason)
    row.key_supervision = result.designated
    row.key_supervision_causes = list(result.causes)
    row.key_supervision_reason = result.reason
    return before != (row.key_supervision, list(result.causes), result.reason)


def management_json(state: Mapping[str, FactState]) -> dict[str, Any]:
    """The stored current state, in the checklist's order (三落实, 三到位, 双机制)."""
    return {key: state[key].as_json() for key in MANAGEMENT_KEYS if key in state}


def _record_facts(ctx: Context, row: Enterprise, facts: Mapping[str, bool], source: str, as_of: datetime, *,
                  patrol_id: str | None = None, note: str | None = None) -> list[str]:
    current = {k: FactState.from_json(v) for k, v in (row.management or {}).items()}
    state, changed = apply_facts(current, facts, source, as_of)  # type: ignore[arg-type]
    row.management = management_json(state)
    if source == "declared":
        row.declared_management = {**(row.declared_management or {}), **facts}
    ctx.session.add(ManagementFactRecord(uscc=row.uscc, source=source, facts=dict(facts), as_of=as_of,
                                         recorded_by=ctx.actor, patrol_id=patrol_id, note=note))
    return changed


async def register_enterprise(ctx: Context, data: EnterpriseCreate) -> Enterprise:
    access.ensure_can_register(ctx.principal, data.jurisdiction_code)
    violation = uscc_violation(data.uscc, allow_invalid_check_digit=data.allow_invalid_check_digit)
    if violation:
        raise invalid([violation])
    if data.allow_invalid_check_digit and not ctx.principal.is_admin and uscc_violation(data.uscc):
        raise forbidden("only administrators may register a USCC whose check digit is wrong")
    placement = await resolve_placement(ctx.session, data.jurisdiction_code, data.grid_code, data.location)
    if not ctx.principal.covers(placement.division_code):
        raise forbidden(f"{placement.division_code} lies outside your jurisdiction")
    if await repo.get_enterprise(ctx.session, data.uscc) is not None:
        raise duplicate("uscc", data.uscc)
    row = Enterprise(
        uscc=data.uscc, revision=1, name=data.name, jurisdiction_code=placement.jurisdiction_code,
        grid_code=placement.grid_code, division_code=placement.division_code, address=data.address,
        lat=data.location.lat if data.location else None, lon=data.location.lon if data.location else None,
        venue_type=data.venue_type, kinds_tags=kinds_tags(data.kinds), general_credit_grade=data.general_credit_grade,
        management={}, declared_management={}, contacts=[c.model_dump() for c in data.contacts],
        associations=list(dict.fromkeys(data.associations)), sandbox=data.sandbox,
        operating_status=data.operating_status, registered_by=ctx.actor,
    )
    refresh_key_supervision(row, ctx.today, ctx.settings.key_supervision_accident_years)
    ctx.session.add(row)
    try:
        await ctx.session.flush()  # a concurrent registration of the same code fails here
    except IntegrityError as exc:
        raise duplicate("uscc", data.uscc) from exc
    facts = data.management.given()
    if facts:
        _record_facts(ctx, row, facts, "declared", utcnow())
    await publish_enterprise(ctx, row, ENTERPRISE_REGISTERED, bump=False)
    return row


PROFILE_FIELDS = ("name", "address", "venue_type", "general_credit_grade", "associations", "sandbox",
                  "operating_status")


async def update_enterprise(ctx: Context, uscc: str, patch: EnterprisePatch, if_match: str | None) -> Enterprise:
    row = await get_enterprise(ctx.session, uscc, for_update=True)
    sent = patch.model_fields_set
    if ctx.principal.role == "enterprise":
        access.ensure_can_keep_ledger(ctx.principal, uscc, row.division_code)
        if sent - ENTERPRISE_SELF_SERVICE_FIELDS:
            raise forbidden_fields(sent - ENTERPRISE_SELF_SERVICE_FIELDS, "enterprise users")
    else:
        access.ensure_can_govern(ctx.principal, row.division_code)
    require_if_match(if_match, row.revision)

    before = _editable_state(row)
    for name in PROFILE_FIELDS:
        if name in sent:
            setattr(row, name, getattr(patch, name))
    if "kinds" in sent:
        row.kinds_tags = kinds_tags(patch.kinds or [])
    if "contacts" in sent:
        row.contacts = [c.model_dump() for c in patch.contacts or []]
    if sent & {"jurisdiction_code", "grid_code", "location"}:
        await _move(ctx, row, patch, sent)
    designation_moved = refresh_key_supervision(row, ctx.today, ctx.settings.key_supervision_accident_years)
    if _editable_state(row) == before:
        return row
    await publish_enterprise(ctx, row, ENTERPRISE_UPDATED)
    if designation_moved:  # said once more on its own, for readers that follow designations only
        await publish_enterprise(ctx, row, ENTERPRISE_KEY_SUPERVISION_CHANGED)
    return row


def _editable_state(row: Enterprise) -> tuple[Any, ...]:
    return (enterprise_snapshot(row).model_dump(exclude={"revision"}), row.address, row.contacts)


async def _move(ctx: Context, row: Enterprise, patch: EnterprisePatch, sent: set[str]) -> None:
    """Change jurisdiction, grid or coordinates; a moved point is no longer a verified one."""
    location = patch.location if "location" in sent else (
        Location(lat=row.lat, lon=row.lon) if row.lat is not None and row.lon is not None else None)
    jurisdiction_code = patch.jurisdiction_code if "jurisdiction_code" in sent else row.jurisdiction_code
    grid_code = patch.grid_code if "grid_code" in sent else (
        None if sent & {"jurisdiction_code", "location"} else row.grid_code)
    placement = await resolve_placement(ctx.session, jurisdiction_code or "", grid_code, location)
    if not ctx.principal.covers(placement.division_code):
        raise forbidden(f"you may not move {row.uscc} to {placement.division_code}: outside your jurisdiction")
    row.jurisdiction_code, row.grid_code = placement.jurisdiction_code, placement.grid_code
    row.division_code = placement.division_code
    new_point = (location.lat, location.lon) if location else (None, None)
    if (row.lat, row.lon) != new_point:
        row.lat, row.lon = new_point
        row.location_verified_at = row.location_verified_by = None


async def verify_location(ctx: Context, uscc: str, location: Location, if_match: str | None) -> Enterprise:
    """A regulator confirms the coordinates on site (定位核实)."""
    row = await get_enterprise(ctx.session, uscc, for_update=True)
    access.ensure_can_verify_location(ctx.principal, row.division_code)
    require_if_match(if_match, row.revision)
    placement = await resolve_placement(ctx.session, row.jurisdiction_code, row.grid_code, location)
    row.grid_code, row.division_code = placement.grid_code, placement.division_code
    row.lat, row.lon = location.lat, location.lon
    row.location_verified_at, row.location_verified_by = utcnow(), ctx.actor
    await publish_enterprise(ctx, row, ENTERPRISE_UPDATED)
    return row


async def declare_management(ctx: Context, uscc: str, facts: ManagementFacts, if_match: str | None) -> Enterprise:
    """The enterprise (or a regulator on its behalf) declares its management facts."""
    row = await get_enterprise(ctx.session, uscc, for_update=True)
    access.ensure_can_keep_ledger(ctx.principal, uscc, row.division_code)
    require_if_match(if_match, row.revision)
    given = facts.given()
    if not given:
        raise invalid([Violation("facts", "declare at least one management fact")])
    changed = _record_facts(ctx, row, given, "declared", utcnow())
    if changed:
        await publish_enterprise(ctx, row, ENTERPRISE_MANAGEMENT_FACTS_CHANGED)
    else:
        await ctx.session.flush()
    return row


async def observe_management(ctx: Context, uscc: str, observation: ManagementObservation) -> Enterprise:
    """Facts seen on a patrol confirm or refute the declaration; the latest report wins."""
    row = await get_enterprise(ctx.session, uscc, for_update=True)
    access.ensure_can_govern(ctx.principal, row.division_code)
    given = observation.facts.given()
    now = utcnow()
    observed_at = observation.observed_at or now
    violations = []
    if observed_at > now + CLOCK_SKEW:
        violations.append(Violation("observed_at", f"{observed_at.isoformat()} is in the future"))
    if not given:
        violations.append(Violation("facts", "observe at least one management fact"))
    if violations:
        raise invalid(violations)
    changed = _record_facts(ctx, row, given, "observed", observed_at, patrol_id=observation.patrol_id,
                            note=observation.note)
    if changed:
        await publish_enterprise(ctx, row, ENTERPRISE_MANAGEMENT_FACTS_CHANGED)
    else:
        await ctx.session.flush()
    return row


async def designate_key_supervision(ctx: Context, uscc: str, designation: KeySupervisionDesignation,
                                    if_match: str | None) -> Enterprise:
    """Manual designation (人工认定重点监管) by a city or district regulator, with its reason.
    Releasing it leaves the automatic causes (venue, accident) in force."""
    row = await get_enterprise(ctx.session, uscc, for_update=True)
    access.ensure_can_designate(ctx.principal, row.division_code)
    if designation.designated and not designation.reason:
        raise invalid([Violation("reason", "a designation needs its reason")])
    require_if_match(if_match, row.revision)
    if designation.designated:
        row.designation_reason, row.designated_by, row.designated_at = designation.reason, ctx.actor, utcnow()
    else:
        row.designation_reason = row.designated_by = row.designated_at = None
    if refresh_key_supervision(row, ctx.today, ctx.settings.key_supervision_accident_years):
        await publish_enterprise(ctx, row, ENTERPRISE_KEY_SUPERVISION_CHANGED)
    else:
        await ctx.session.flush()
    return row
