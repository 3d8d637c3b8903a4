"""Every list endpoint of every service answers a cursor it did not issue with a 4xx, never a
500. Driven by each app's OpenAPI document: a GET taking a ``cursor`` query parameter is a list,
so services and endpoints added later are swept without editing this file."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from services.catalog import SERVICES
from shared.testing.cursors import forged_cursors
from shared.testing.services import running_service

# Valid-looking values a path parameter may take, tried in order against its schema. A new kind
# of parameter that none fits fails the sweep, naming it: add a candidate here.
CANDIDATES = ("91371102MA3C5K0X1Q", "371102", "1", str(uuid.UUID(int=1)), "x")


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
async def test_every_list_endpoint_refuses_forged_cursors_with_a_4xx(info, database_url):
    async with running_service(info.module("main").create_app, database_url, consumers_enabled=False,
                               relay_enabled=False, nightly_rescore_enabled=False) as svc:
        endpoints = list_endpoints(svc.app.openapi())
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
                if not (response.status_code == 404 or (response.status_code == 422 and fields == ["cursor"])):
                    failures.append(f"GET {url} cursor={name}: {response.status_code} {response.text[:200]}")
        assert not failures, "\n".join(failures)
    if info.name in ("registry", "scoring"):  # the sweep must not pass by finding nothing
        assert endpoints, f"{info.name}: no list endpoint found in its OpenAPI document"
