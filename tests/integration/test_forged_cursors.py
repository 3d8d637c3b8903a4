"""Every list endpoint of every service answers a cursor it did not issue with a 422 naming
``cursor``, never a 500. Driven by each app's OpenAPI document: a GET taking a ``cursor`` query
parameter is a list, so services and endpoints added later are swept without editing this file.

A 404 is no pass: an endpoint that answers 404 before it reads its cursor has not been tested
(grade-history, score-history and credit-repairs used to 500 exactly there). Each service is
seeded first, through its own public paths, with what its paths name (SEEDS); an endpoint the
seed does not reach fails the sweep by name: seed what it needs."""

from __future__ import annotations

import importlib
import re
import uuid
from typing import Any

import pytest

from services.catalog import SERVICES
from shared.context import unit_of_work
from shared.contracts import registry as registry_events
from shared.events.envelope import ReceivedEvent
from shared.testing.cursors import forged_cursors
from shared.testing.services import RunningService, running_service

# Valid-looking values a path parameter may take, tried in order against its schema. A new kind
# of parameter that none fits fails the sweep, naming it: add a candidate here.
CANDIDATES = ("91371102MA3C5K0X1Q", "371102", "1", str(uuid.UUID(int=1)), "x")


HEADLINE = CANDIDATES[0]
HEADLINE_ENTERPRISE = {  # contract.md §5, step 1
    "uscc": HEADLINE, "name": "东港区某街道液化气站", "jurisdiction_code": "371102", "address": "东港区某街道1号",
    "location": {"lat": 35.42, "lon": 119.52}, "venue_type": "other", "kinds": ["gas_filling"],
    "general_credit_grade": "B"}


async def seed_registry(svc: RunningService) -> None:
    response = await svc.client.post("/api/v1/enterprises", json=HEADLINE_ENTERPRISE, headers=svc.auth("admin"))
    assert response.status_code == 201, response.text


async def seed_by_registration(svc: RunningService, service: str) -> None:
    """What the registry's enterprise.registered event brings, through the service's own handler
    of it (scoring: the projection, then a rescore with a score, its history and a grade;
    inspection and enforcement: their projections of the enterprise)."""
    consumers = importlib.import_module(f"services.{service}.consumers")
    spec = registry_events.ENTERPRISE_REGISTERED
    snapshot = registry_events.EnterpriseSnapshot(
        uscc=HEADLINE, revision=1, name=HEADLINE_ENTERPRISE["name"], jurisdiction_code="371102",
        venue_type="other", kinds=["gas_filling"], general_credit_grade="B")
    event_id = str(uuid.uuid4())
    event = ReceivedEvent(id=event_id, type=spec.type, source="/safegrid/registry", subject=HEADLINE, time=None,
                          data=snapshot.model_dump(mode="json"), correlation_id=event_id, causation_id=None,
                          traceparent=None)
    async with unit_of_work(svc.runtime) as ctx:
        await consumers.SUBSCRIPTIONS[spec](ctx, event)


async def seed_scoring(svc: RunningService) -> None:
    await seed_by_registration(svc, "scoring")
    score = await svc.client.get(f"/api/v1/enterprises/{HEADLINE}/score", headers=svc.auth("admin"))
    assert score.status_code == 200, score.text


SEEDS = {"registry": seed_registry, "scoring": seed_scoring,
         "inspection": lambda svc: seed_by_registration(svc, "inspection"),
         "enforcement": lambda svc: seed_by_registration(svc, "enforcement")}


def path_value(service: str, path: str, parameter: dict[str, Any]) -> str:
    schema = parameter.get("schema", {})
    kind, pattern, fmt = schema.get("type", "string"), schema.get("pattern"), schema.get("format")
    for candidate in CANDIDATES:
        if kind == "integer" and not candidate.isdigit():
            continue
        if fmt == "uuid" and not _is_uuid(candidate):
            continue
        if pattern and not re.search(pattern, candidate):
            continue
        if not schema.get("minLength", 0) <= len(candidate) <= schema.get("maxLength", 10 ** 6):
            continue
        return candidate
    raise AssertionError(f"{service} {path}: no candidate value fits path parameter {parameter['name']}: {schema}")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def list_endpoints(openapi: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    found = []
    for path, operations in openapi["paths"].items():
        parameters = (operations.get("get") or {}).get("parameters", [])
        if any(p["name"] == "cursor" and p["in"] == "query" for p in parameters):
            found.append((path, parameters))
    return found


@pytest.mark.parametrize("info", SERVICES, ids=lambda s: s.name)
async def test_every_list_endpoint_refuses_forged_cursors_with_a_422(info, database_url):
    async with running_service(info.module("main").create_app, database_url, consumers_enabled=False,
                               relay_enabled=False, nightly_rescore_enabled=False) as svc:
        endpoints = list_endpoints(svc.app.openapi())
        if endpoints and info.name in SEEDS:
            await SEEDS[info.name](svc)
        headers = svc.auth("admin")
        failures = []
        for path, parameters in endpoints:
            url = path
            for parameter in parameters:
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", path_value(info.name, path, parameter))
            for name, cursor in forged_cursors().items():
                response = await svc.client.get(url, params={"cursor": cursor}, headers=headers)
                body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
                fields = [e.get("field") for e in body.get("errors", [])]
                if response.status_code == 404:
                    failures.append(f"GET {url} cursor={name}: 404, its cursor never read: seed what {path} "
                                    f"needs in SEEDS[{info.name!r}] ({response.text[:120]})")
                elif not (response.status_code == 422 and fields == ["cursor"]):
                    failures.append(f"GET {url} cursor={name}: {response.status_code} {response.text[:200]}")
        assert not failures, "\n".join(failures)
    if info.name in ("registry", "scoring"):  # the sweep must not pass by finding nothing
        assert endpoints, f"{info.name}: no list endpoint found in its OpenAPI document"
