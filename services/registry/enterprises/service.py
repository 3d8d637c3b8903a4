"""Use cases of enterprises (使用单位) and the jurisdiction tree they sit in: registration,
profile, placement and verified locations, management facts, key supervision, accidents.

Every function takes the ``RegistryContext`` (who acts, in which unit of work) and flushes,
never commits: whoever opened the unit of work (a request, a job, the CLI) commits it, so a
change and the events describing it are committed together or not at all. Every row changed
here is read ``FOR UPDATE`` first, so that concurrent writers queue (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.exc import IntegrityError

from services.registry import access
from services.registry.access import ListScope
from services.registry.context import RegistryContext
from services.registry.domain.dates import future_violation
from services.registry.domain.facts import FactState, apply_facts
from services.registry.domain.kinds import kinds_tags
from services.registry.domain.placement import Node, Placement, flatten_tree, node_of, place_enterprise, tree_violations
from services.registry.domain.supervision import key_supervision
from services.registry.domain.uscc import uscc_violation
from services.registry.domain.violations import Violation
from services.registry.enterprises import repository as repo
from services.registry.enterprises.schemas import (
    ENTERPRISE_SELF_SERVICE_FIELDS,
    AccidentCreate,
    EnterpriseCreate,
    EnterpriseFilters,
    EnterprisePatch,
    KeySupervisionDesignation,
    Location,
    ManagementFacts,
    ManagementObservation,
)
from services.registry.equipment import repository as equipment_repo
from services.registry.errors import (
    duplicate,
    forbidden,
    forbidden_fields,
    invalid,
    not_found,
)
from services.registry.events import enterprise_snapshot
from services.registry.models import Accident, Enterprise, Jurisdiction, ManagementFactRecord
from shared.contracts.common import MANAGEMENT_KEYS
from shared.contracts.registry import (
    ACCIDENT_REPORTED,
    ENTERPRISE_KEY_SUPERVISION_CHANGED,
    ENTERPRISE_MANAGEMENT_FACTS_CHANGED,
    ENTERPRISE_REGISTERED,
    ENTERPRISE_UPDATED,
    GRID_INSPECTORS_ASSIGNED,
    JURISDICTION_LOADED,
    AccidentReported,
    GridInspectorsAssigned,
    JurisdictionSnapshot,
)
from shared.db import utcnow
from shared.events.spec import EventSpec
from shared.http.preconditions import require_if_match
from shared.locality import in_jurisdiction

PACKAGED_JURISDICTIONS = Path(__file__).parents[1] / "data" / "rizhao.yaml"
CLOCK_SKEW = timedelta(minutes=5)  # device clocks run ahead; a patrol "in the future" by less is fine


# --- jurisdictions -----------------------------------------------------------------------------


async def resolve_placement(ctx: RegistryContext, jurisdiction_code: str, grid_code: str | None,
                            location: Location | None) -> Placement:
    jurisdiction = node_of(await repo.get_jurisdiction(ctx.session, jurisdiction_code))
    grid = node_of(await repo.get_jurisdiction(ctx.session, grid_code)) if grid_code else None
    grids: Iterable[Node] = ()
    if jurisdiction is not None and grid_code is None and location is not None and jurisdiction.level != "grid":
        grids = [n for n in map(node_of, await repo.grids_under(ctx.session, jurisdiction_code)) if n]
    point = (location.lat, location.lon) if location else None
    placement, violations = place_enterprise(jurisdiction, grid, grid_code, point, grids)
    if violations or placement is None:
        raise invalid(violations)
    return placement


async def load_jurisdictions(ctx: RegistryContext, path: Path | None = None) -> int:
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
        row = await repo.get_jurisdiction(ctx.session, node["code"], for_update=True)
        bounds = node["bounds"] or {}
        values = {"name": node["name"], "level": node["level"], "parent_code": node["parent_code"],
                  "min_lat": bounds.get("min_lat"), "max_lat": bounds.get("max_lat"),
                  "min_lon": bounds.get("min_lon"), "max_lon": bounds.get("max_lon"),
                  "inspectors": node["inspectors"] or []}
        if row is None:
            row = Jurisdiction(code=node["code"], revision=1, **values)
            ctx.session.add(row)
            inspectors_changed = bool(values["inspectors"])
        elif any(getattr(row, name) != value for name, value in values.items()):
            inspectors_changed = row.inspectors != values["inspectors"]
            for name, value in values.items():
                setattr(row, name, value)
            row.revision += 1  # an If-Match read before the reload no longer matches
        else:
            inspectors_changed = False
        await ctx.session.flush()
        await publish_jurisdiction(ctx, row)
        if inspectors_changed and row.level == "grid":
            await publish_inspectors(ctx, row)
    return len(nodes)


async def publish_jurisdiction(ctx: RegistryContext, row: Jurisdiction) -> None:
    """Tell the services that show jurisdictions (the portal's map) what a node is called. Every
    load announces every node, changed or not, so a reader that joined later learns the tree on
    the next load; readers apply only a newer revision."""
    await ctx.outbox.publish(ctx.session, JURISDICTION_LOADED, subject=row.code, data=JurisdictionSnapshot(
        code=row.code, revision=row.revision, name=row.name, level=row.level,  # type: ignore[arg-type]
        parent_code=row.parent_code))


async def publish_inspectors(ctx: RegistryContext, row: Jurisdiction) -> None:
    """Tell the services that dispatch work to a grid (enforcement's alerts) who its inspectors are."""
    await ctx.outbox.publish(ctx.session, GRID_INSPECTORS_ASSIGNED, subject=row.code, data=GridInspectorsAssigned(
        grid_code=row.code, revision=row.revision, inspectors=list(row.inspectors or []), assigned_at=ctx.now()))


async def seed_jurisdictions(ctx: RegistryContext) -> int:
    """At start-up: an empty registry gets the configured tree, so the headline chain works on a
    fresh deployment. Nothing happens once any node exists."""
    settings = ctx.settings
    if not settings.seed_jurisdictions or await repo.count_jurisdictions(ctx.session) > 0:
        return 0
    return await load_jurisdictions(ctx, Path(settings.jurisdictions_file) if settings.jurisdictions_file else None)


async def list_jurisdictions(ctx: RegistryContext, *, parent: str | None, within: str | None,
                             level: str | None) -> list[Jurisdiction]:
    """The tree, flat: any signed-in user may read it."""
    return list(await repo.list_jurisdictions(ctx.session, parent=parent, within=within, level=level))


async def read_jurisdiction(ctx: RegistryContext, code: str) -> tuple[Jurisdiction, list[str]]:
    """A node and the codes of its children."""
    row = await repo.get_jurisdiction(ctx.session, code)
    if row is None:
        raise not_found("jurisdiction", code)
    return row, await repo.child_codes(ctx.session, code)


async def set_inspectors(ctx: RegistryContext, code: str, inspectors: list[dict[str, str]],
                         if_match: str | None) -> Jurisdiction:
    """Inspectors are assigned to grids: a code that names no grid is 404 (the path is a grid's)."""
    row = await repo.get_jurisdiction(ctx.session, code, for_update=True)
    if row is None or row.level != "grid":
        raise not_found("grid", code)
    access.ensure_can_assign_inspectors(ctx.principal, code)
    require_if_match(if_match, row.revision)
    row.inspectors = inspectors
    row.revision += 1
    await ctx.session.flush()
    await publish_inspectors(ctx, row)
    return row


# --- enterprises: reads ------------------------------------------------------------------------

async def get_enterprise(ctx: RegistryContext, uscc: str, *, for_update: bool = False) -> Enterprise:
    """The enterprise, without an access check (callers check what they are about to do)."""
    row = await repo.get_enterprise(ctx.session, uscc, for_update=for_update)
    if row is None:
        raise not_found("enterprise", uscc)
    return row


async def read_enterprise(ctx: RegistryContext, uscc: str) -> Enterprise:
    row = await get_enterprise(ctx, uscc)
    access.ensure_can_read(ctx.principal, uscc, row.division_code)
    return row


async def search_enterprises(ctx: RegistryContext, filters: EnterpriseFilters, *, limit: int,
                             after: str | None) -> list[Enterprise]:
    scope = access.list_scope(ctx.principal)
    effective_scope(scope, filters.jurisdiction)
    return list(await repo.search_enterprises(ctx.session, filters, scope, limit=limit, after=after))


async def enterprise_map(ctx: RegistryContext, filters: EnterpriseFilters) -> dict[str, Any]:
    scope = access.list_scope(ctx.principal)
    effective_scope(scope, filters.jurisdiction)
    return feature_collection(await repo.enterprise_points(ctx.session, filters, scope))


async def management_view(ctx: RegistryContext, uscc: str) -> tuple[Enterprise, list[ManagementFactRecord]]:
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

async def publish_enterprise(ctx: RegistryContext, row: Enterprise, spec: EventSpec[Any], *, bump: bool = True) -> None:
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


def _record_facts(ctx: RegistryContext, row: Enterprise, facts: Mapping[str, bool], source: str, as_of: datetime, *,
                  patrol_id: str | None = None, note: str | None = None) -> list[str]:
    current = {k: FactState.from_json(v) for k, v in (row.management or {}).items()}
    state, changed = apply_facts(current, facts, source, as_of)  # type: ignore[arg-type]
    row.management = management_json(state)
    if source == "declared":
        row.declared_management = {**(row.declared_management or {}), **facts}
    ctx.session.add(ManagementFactRecord(uscc=row.uscc, source=source, facts=dict(facts), as_of=as_of,
                                         recorded_by=ctx.actor, patrol_id=patrol_id, note=note))
    return changed


async def register_enterprise(ctx: RegistryContext, data: EnterpriseCreate) -> Enterprise:
    access.ensure_can_register(ctx.principal, data.jurisdiction_code)
    violation = uscc_violation(data.uscc, allow_invalid_check_digit=data.allow_invalid_check_digit)
    if violation:
        raise invalid([violation])
    if data.allow_invalid_check_digit and not ctx.principal.is_admin and uscc_violation(data.uscc):
        raise forbidden("only administrators may register a USCC whose check digit is wrong")
    placement = await resolve_placement(ctx, data.jurisdiction_code, data.grid_code, data.location)
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
    refresh_key_supervision(row, ctx.today(), ctx.settings.key_supervision_accident_years)
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


async def update_enterprise(ctx: RegistryContext, uscc: str, patch: EnterprisePatch,
                            if_match: str | None) -> Enterprise:
    row = await get_enterprise(ctx, uscc, for_update=True)
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
    designation_moved = refresh_key_supervision(row, ctx.today(), ctx.settings.key_supervision_accident_years)
    if _editable_state(row) == before:
        return row
    await publish_enterprise(ctx, row, ENTERPRISE_UPDATED)
    if designation_moved:  # said once more on its own, for readers that follow designations only
        await publish_enterprise(ctx, row, ENTERPRISE_KEY_SUPERVISION_CHANGED)
    return row


def _editable_state(row: Enterprise) -> tuple[Any, ...]:
    return (enterprise_snapshot(row).model_dump(exclude={"revision"}), row.address, row.contacts)


async def _move(ctx: RegistryContext, row: Enterprise, patch: EnterprisePatch, sent: set[str]) -> None:
    """Change jurisdiction, grid or coordinates; a moved point is no longer a verified one."""
    location = patch.location if "location" in sent else (
        Location(lat=row.lat, lon=row.lon) if row.lat is not None and row.lon is not None else None)
    jurisdiction_code = patch.jurisdiction_code if "jurisdiction_code" in sent else row.jurisdiction_code
    grid_code = patch.grid_code if "grid_code" in sent else (
        None if sent & {"jurisdiction_code", "location"} else row.grid_code)
    placement = await resolve_placement(ctx, jurisdiction_code or "", grid_code, location)
    if not ctx.principal.covers(placement.division_code):
        raise forbidden(f"you may not move {row.uscc} to {placement.division_code}: outside your jurisdiction")
    row.jurisdiction_code, row.grid_code = placement.jurisdiction_code, placement.grid_code
    row.division_code = placement.division_code
    new_point = (location.lat, location.lon) if location else (None, None)
    if (row.lat, row.lon) != new_point:
        row.lat, row.lon = new_point
        row.location_verified_at = row.location_verified_by = None


async def verify_location(ctx: RegistryContext, uscc: str, location: Location, if_match: str | None) -> Enterprise:
    """A regulator confirms the coordinates on site (定位核实)."""
    row = await get_enterprise(ctx, uscc, for_update=True)
    access.ensure_can_verify_location(ctx.principal, row.division_code)
    require_if_match(if_match, row.revision)
    placement = await resolve_placement(ctx, row.jurisdiction_code, row.grid_code, location)
    row.grid_code, row.division_code = placement.grid_code, placement.division_code
    row.lat, row.lon = location.lat, location.lon
    row.location_verified_at, row.location_verified_by = utcnow(), ctx.actor
    await publish_enterprise(ctx, row, ENTERPRISE_UPDATED)
    return row


async def declare_management(ctx: RegistryContext, uscc: str, facts: ManagementFacts,
                             if_match: str | None) -> Enterprise:
    """The enterprise (or a regulator on its behalf) declares its management facts."""
    row = await get_enterprise(ctx, uscc, for_update=True)
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


async def observe_management(ctx: RegistryContext, uscc: str, observation: ManagementObservation) -> Enterprise:
    """Facts seen on a patrol confirm or refute the declaration; the latest report wins."""
    row = await get_enterprise(ctx, uscc, for_update=True)
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


async def designate_key_supervision(ctx: RegistryContext, uscc: str, designation: KeySupervisionDesignation,
                                    if_match: str | None) -> Enterprise:
    """Manual designation (人工认定重点监管) by a city or district regulator, with its reason.
    Releasing it leaves the automatic causes (venue, accident) in force."""
    row = await get_enterprise(ctx, uscc, for_update=True)
    access.ensure_can_designate(ctx.principal, row.division_code)
    if designation.designated and not designation.reason:
        raise invalid([Violation("reason", "a designation needs its reason")])
    require_if_match(if_match, row.revision)
    if designation.designated:
        row.designation_reason, row.designated_by, row.designated_at = designation.reason, ctx.actor, utcnow()
    else:
        row.designation_reason = row.designated_by = row.designated_at = None
    if refresh_key_supervision(row, ctx.today(), ctx.settings.key_supervision_accident_years):
        await publish_enterprise(ctx, row, ENTERPRISE_KEY_SUPERVISION_CHANGED)
    else:
        await ctx.session.flush()
    return row


# --- accidents ---------------------------------------------------------------------------------

async def report_accident(ctx: RegistryContext, uscc: str, data: AccidentCreate) -> Accident:
    """An accident (事故) makes the unit a key-supervision unit for the configured years."""
    enterprise = await get_enterprise(ctx, uscc, for_update=True)
    access.ensure_can_govern(ctx.principal, enterprise.division_code)
    violations = [future_violation(data.occurred_date, ctx.today(), "occurred_date")]
    if data.equipment_id is not None:
        equipment = await equipment_repo.get_equipment(ctx.session, data.equipment_id)
        if equipment is None or equipment.uscc != uscc:
            violations.append(Violation("equipment_id", f"no equipment {data.equipment_id} on {uscc}'s ledger"))
    if violations := [v for v in violations if v is not None]:
        raise invalid(violations)
    accident = Accident(uscc=uscc, reported_by=ctx.actor, reported_at=utcnow(), **data.model_dump())
    ctx.session.add(accident)
    await ctx.session.flush()
    await ctx.outbox.publish(ctx.session, ACCIDENT_REPORTED, subject=uscc, data=AccidentReported(
        uscc=uscc, accident_id=accident.id, occurred_date=accident.occurred_date,
        equipment_id=accident.equipment_id, severity=accident.severity,  # type: ignore[arg-type]
        enterprise_responsible=accident.enterprise_responsible))
    if enterprise.last_accident_date is None or data.occurred_date > enterprise.last_accident_date:
        enterprise.last_accident_date = data.occurred_date
        if refresh_key_supervision(enterprise, ctx.today(), ctx.settings.key_supervision_accident_years):
            await publish_enterprise(ctx, enterprise, ENTERPRISE_KEY_SUPERVISION_CHANGED)
        else:
            await publish_enterprise(ctx, enterprise, ENTERPRISE_UPDATED)
    return accident


async def list_accidents(ctx: RegistryContext, uscc: str) -> list[Accident]:
    await read_enterprise(ctx, uscc)
    return list(await repo.list_accidents(ctx.session, uscc))
