"""The OpenAPI document of a service built with the shared app factory lists what the shared
machinery answers: problems, authentication, Idempotency-Key, headers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, Header

from shared.app import create_service_app
from shared.auth import Principal, require_roles
from shared.http.openapi import problem_responses
from tests.integration.shared import toy, toy_app

extra = APIRouter(prefix="/api/v1")


@extra.put("/things/{uscc}/flag", responses=problem_responses(412, 428, s412="the flag changed since you read it"))
async def flag(uscc: str, _: Principal = Depends(require_roles("regulator")),
               if_match: Annotated[str | None, Header()] = None) -> dict[str, str]:
    return {"uscc": uscc}


@extra.put("/things/{uscc}/note")
async def note(uscc: str, if_match: Annotated[str | None, Header()] = None) -> dict[str, str]:
    return {"uscc": uscc}


@extra.get("/public/things/{uscc}")
async def public_thing(uscc: str) -> dict[str, str]:
    return {"uscc": uscc}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = toy.toy_settings("sqlite+aiosqlite:///:memory:", "127.0.0.1:1")
    app = create_service_app(settings, tables=toy.tables, migrations=Path(toy.__file__).parent, title="toy",
                             description="toy", routers=[toy_app.router, extra])
    return app.openapi()


def problem(response: dict[str, Any]) -> bool:
    return response["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_problem_and_bearer_components(document):
    components = document["components"]
    assert components["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    assert set(components["schemas"]["Problem"]["properties"]) >= {"type", "title", "status", "detail",
                                                                    "instance", "errors"}
    assert "HTTPValidationError" not in components["schemas"]
    assert components["securitySchemes"]["bearerAuth"] == {**components["securitySchemes"]["bearerAuth"],
                                                           "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_a_write_with_a_token_documents_auth_validation_and_idempotency(document):
    operation = document["paths"]["/api/v1/things"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"400", "401", "403", "409", "422"} <= set(operation["responses"])
    assert all(problem(operation["responses"][s]) for s in ("400", "401", "403", "409", "422"))
    key = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert key["in"] == "header" and key["required"] is False and key["schema"]["maxLength"] == 200
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert "Idempotent-Replayed" not in operation["responses"]["409"]["headers"]  # never stored, never replayed
    assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert all(r["headers"]["x-request-id"] == {"$ref": "#/components/headers/RequestId"}
               for r in operation["responses"].values())


def test_a_public_read_has_no_security_and_a_404_for_its_path_parameter(document):
    operation = document["paths"]["/api/v1/public/things/{uscc}"]["get"]
    assert "security" not in operation
    assert set(operation["responses"]) == {"200", "404", "422"}
    assert problem(operation["responses"]["404"]) and problem(operation["responses"]["422"])
    assert not any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))


def test_a_read_without_parameters_documents_no_422(document):
    assert set(document["paths"]["/healthz"]["get"]["responses"]) == {"200"}


def test_routes_declare_their_own_problems_with_the_helper(document):
    responses = document["paths"]["/api/v1/things/{uscc}/flag"]["put"]["responses"]
    assert problem(responses["412"]) and problem(responses["428"])
    assert responses["412"]["description"] == "the flag changed since you read it"
    assert responses["428"]["description"].startswith("Precondition required")


def test_a_route_answering_428_documents_if_match_as_a_required_string(document):
    def if_match(path: str) -> dict[str, Any]:
        return next(p for p in document["paths"][path]["put"]["parameters"] if p["name"] == "if-match")

    flag = if_match("/api/v1/things/{uscc}/flag")
    assert flag["in"] == "header" and flag["required"] is True
    assert flag["schema"]["type"] == "string" and "anyOf" not in flag["schema"]
    assert flag["schema"]["minLength"] == 1 and flag["schema"]["pattern"] == r"\S"  # blank is missing: 428
    note = if_match("/api/v1/things/{uscc}/note")
    assert note.get("required", False) is False  # no 428: an optional precondition stays optional


def test_a_link_names_its_operation_by_a_json_pointer_that_resolves(document):
    from shared.http.openapi import link

    made = link("GET", "/api/v1/public/things/{uscc}", "read it", uscc="$response.body#/uscc")
    assert made == {"operationRef": "#/paths/~1api~1v1~1public~1things~1{uscc}/get",
                    "parameters": {"uscc": "$response.body#/uscc"}, "description": "read it"}
    _, _, pointer = made["operationRef"].partition("#/")
    node: Any = document
    for part in pointer.split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    assert node is document["paths"]["/api/v1/public/things/{uscc}"]["get"]


def test_every_string_a_request_carries_is_documented_without_nul(document):
    no_nul = {"pattern": "\\u0000"}
    body = document["paths"]["/api/v1/things"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    thing = document["components"]["schemas"][body["$ref"].rpartition("/")[2]]
    assert thing["properties"]["uscc"]["not"] == no_nul
    assert "not" not in thing["properties"]["revision"]  # an integer holds no NUL
    path = document["paths"]["/api/v1/public/things/{uscc}"]["get"]["parameters"][0]
    assert path["schema"]["not"] == no_nul
    key = next(p for p in document["paths"]["/api/v1/things"]["post"]["parameters"] if p["name"] == "Idempotency-Key")
    assert "not" not in key["schema"]  # a header: the key's own pattern already refuses it
