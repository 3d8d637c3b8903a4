"""Every service answers what its OpenAPI document says (schemathesis 4, in-process on the ASGI app).

For each service of ``services/catalog.py``: a migrated SQLite database, the broker down (the
default of ``shared.testing``), the app served by schemathesis' ASGI transport (which runs its
lifespan once), and the examples, coverage and fuzzing phases with every check, from a fixed
seed and few examples per operation (the module runs in about 80-120 s on two shared cores).
Operations that need a token get an admin token (admin passes every role check); operations a
regulator may call run a second time with a regulator token of 371100, so the
jurisdiction-scoped paths are exercised too.

Failures that need a change in a service are listed in ``KNOWN`` with the fix; each is an xfail
(strict): the suite stays green while they are open, and fails the run once a fix lands so that
its entry is deleted. Any failure not listed fails ``test_service_conforms``, with
schemathesis' own failure text for each operation and check.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import engine
from schemathesis.core.parameters import ParameterLocation
from schemathesis.engine import events

from services.catalog import BY_NAME, SERVICES
from services.registry.domain.uscc import USCC_CHARSET, make_uscc
from shared.auth import current_principal, issue_token
from shared.http.idempotency import KEY_PATTERN, MAX_KEY_LENGTH
from shared.http.openapi import api_routes, requires_token
from shared.testing.databases import sqlite_url
from shared.testing.services import migrated_service_app

MAX_EXAMPLES = 5
SEED = 371100
REGULATOR_JURISDICTION = "371100"

# `format: uscc` (a USCC whose check digit is right): the pattern alone draws wrong check digits.
schemathesis.openapi.format("uscc", st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17).map(make_uscc))
# Valid requests that are refused by design, beyond schemathesis' defaults: a well-formed If-Match
# naming another revision is 412 (the precondition failed, not the data: a random If-Match rarely
# names the current revision); a QR token revoked earlier in the run is 410, as documented (gone,
# where an unknown one is 404).
POSITIVE_DATA_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "410", "412", "429", "5xx"]

# (service, "METHOD /path", check) -> the cause, and the fix the service needs. Delete an entry
# when its fix lands (its xfail then passes, and strict xfail fails the run until you do).
KNOWN: dict[tuple[str, str, str], str] = {}


@dataclass
class Outcome:
    cases: int = 0
    # (operation label, check name) -> distinct failure texts
    failures: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    errors: list[str] = field(default_factory=list)


def _roles(dependant: Any) -> set[str] | None:
    """The roles a ``require_roles(...)`` dependency admits (None: any authenticated caller)."""
    for dep in dependant.dependencies:
        roles = inspect.getclosurevars(dep.call).nonlocals.get("roles") if inspect.isfunction(dep.call) else None
        if isinstance(roles, tuple) and any(d.call is current_principal for d in dep.dependencies):
            return set(roles)
        found = _roles(dep)
        if found is not None:
            return found
    return None


def _regulator_operations(app: Any) -> list[str]:
    labels = []
    for route in api_routes(app.router.routes):
        if route.include_in_schema and requires_token(route.dependant):
            roles = _roles(route.dependant)
            if roles is None or "regulator" in roles:
                labels += [f"{method} {route.path_format}" for method in sorted(route.methods)]
    return labels


_KEY = re.compile(KEY_PATTERN)


def _realistic(context: Any, case: schemathesis.Case) -> schemathesis.Case:
    """What a real client sends where the document cannot say it: a fresh ``Idempotency-Key`` per
    request (schemathesis draws "0" for many different requests, which the contract rightly answers
    with 422), and a ``cursor`` only as the API issued it (any other is 422 by design). Negative
    cases keep their invalid values, so the 400/422 answers are still exercised."""
    meta = case.meta
    key = case.headers.get("Idempotency-Key") if case.headers else None
    if isinstance(key, str) and _KEY.match(key) and not (meta and meta.is_negative_at(ParameterLocation.HEADER)):
        case.headers["Idempotency-Key"] = f"{key[: MAX_KEY_LENGTH - 33]}-{uuid.uuid4().hex}"
    if case.query and "cursor" in case.query and not (meta and meta.is_negative_at(ParameterLocation.QUERY)):
        del case.query["cursor"]
    if (case.operation.label == "POST /api/v1/enterprises" and isinstance(case.body, dict)
            and not (meta and meta.is_negative_at(ParameterLocation.BODY))):
        # A jurisdiction of the tree (a client reads them from GET /jurisdictions): the city, which
        # every caller of this run covers, without a grid or a point, which would have to lie in it.
        case.body.update(jurisdiction_code=REGULATOR_JURISDICTION, grid_code=None, location=None)
    return case


def _run(schema: Any, outcome: Outcome) -> None:
    schema.hook("map_case")(_realistic)
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            outcome.cases += len(recorder.cases)
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    interaction = recorder.interactions.get(case_id)
                    answer = ""
                    if interaction is not None and interaction.response is not None:
                        body = interaction.request.body or b""
                        answer = (f"\n      {interaction.request.method} {interaction.request.uri} {body[:200]!r} -> "
                                  f"{interaction.response.status_code} {interaction.response.content[:240]!r}")
                    outcome.failures[(recorder.label, check.name)].add(
                        f"{failure.title}: {failure.message.strip()}{answer}")
        elif isinstance(event, events.NonFatalError) and event.related_to_operation:
            # The ASGI transport re-raises what the app raised after its 500: a crash of this operation.
            outcome.failures[(event.label, "not_a_server_error")].add(
                f"{type(event.value).__name__}: {event.value} (the app raised; the client got a 500)")
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")


def _config(token: str, *, regulator: bool = False) -> schemathesis.Config:
    """Every check, a fixed seed, few examples, nothing persisted between runs. The regulator pass
    sends valid requests only (examples and fuzzing): the admin pass already covered invalid ones."""
    # No stateful phase, although registry and scoring declare links (create -> read): with it the module
    # passed too but took 96-108 s on two shared cores, against 81-124 s without it (this module's budget
    # is about 90 s). Registering an enterprise in the fuzzing phase already reaches the stateful paths.
    phases: dict[str, Any] = {"stateful": {"enabled": False}}
    if regulator:
        phases["coverage"] = {"enabled": False}
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "cache": {"enabled": False},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                       **({"mode": "positive"} if regulator else {})},
        "checks": {"enabled": True, "positive_data_acceptance": {"expected-statuses": POSITIVE_DATA_ACCEPTED}},
        "phases": phases,
        "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
        "operations": [
            # /readyz answers 503 while the broker is down, as documented: that is its job here.
            {"include-path": "/readyz", "checks": {"not_a_server_error": {"enabled": False}}},
            # The portal resolves a token it has not seen through registry's public API, which is not
            # running here: 503 with Retry-After, as documented. Resolution against a real registry, and
            # the 404/429 answers, are tested in tests/portal/test_public.py.
            {"include-path-regex": "^/api/v1/(public/qr|labels)/",
             "checks": {"not_a_server_error": {"enabled": False}}},
            # An import is a CSV or XLSX ledger table: UTF-8/GB18030 text or an XLSX workbook whose
            # header row names the registry's columns. JSON Schema can say "a file", not "a table"; the
            # 422s for what is not one are tested in tests/registry/test_imports.py.
            {"include-path": "/api/v1/imports", "include-method": "POST",
             "checks": {"positive_data_acceptance": {"enabled": False}}},
            # A scoring model's validity is semantic: ids under their group, bands contiguous from 0 to
            # 100 in grade order, a window exactly for windowed kinds, each kind's own params. The
            # document gives the file's shape (required fields, types, enums); a body of that shape is
            # still almost never a model. Its 422s naming each field: tests/scoring/test_models.py.
            {"include-path": "/api/v1/models", "include-method": "POST",
             "checks": {"positive_data_acceptance": {"enabled": False}}},
        ],
    })


@pytest.fixture(scope="module")
def conformance(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``conformance(name)``: the outcome of the run against service ``name`` (run once per module)."""
    outcomes: dict[str, Outcome] = {}

    def run(name: str) -> Outcome:
        if name not in outcomes:
            directory: Path = tmp_path_factory.mktemp(f"openapi-{name}")
            app = asyncio.run(migrated_service_app(BY_NAME[name].module("main").create_app,
                                                   sqlite_url(directory, name)))
            settings = app.state.definition.settings
            outcome = Outcome()
            admin = issue_token(settings, role="admin", sub="conformance-admin")
            _run(schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(admin)), outcome)
            regulator_operations = _regulator_operations(app)
            if regulator_operations:
                regulator = issue_token(settings, role="regulator", sub="conformance-regulator",
                                        jurisdiction=REGULATOR_JURISDICTION)
                schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(regulator, regulator=True))
                _run(schema.include(name=regulator_operations), outcome)
            outcomes[name] = outcome
        return outcomes[name]

    yield run
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()


def _report(name: str, failures: dict[tuple[str, str], set[str]]) -> str:
    lines = []
    for (operation, check), texts in sorted(failures.items()):
        lines.append(f"{name}: {operation} [{check}]")
        lines += [f"    {text}" for text in sorted(texts)[:3]]
    return "\n".join(lines)


@pytest.mark.parametrize("name", [s.name for s in SERVICES])
def test_service_conforms(conformance, name: str) -> None:  # type: ignore[no-untyped-def]
    outcome = conformance(name)
    unexpected = {k: v for k, v in outcome.failures.items() if (name, *k) not in KNOWN}
    assert not outcome.errors, "\n".join(outcome.errors)
    assert outcome.cases > 0
    assert not unexpected, f"{len(unexpected)} operation/check pairs fail:\n" + _report(name, unexpected)


@pytest.mark.parametrize(("name", "operation", "check"), [
    pytest.param(*key, id=" ".join(key), marks=pytest.mark.xfail(strict=True, reason=reason))
    for key, reason in sorted(KNOWN.items())
])
def test_known_service_failure(conformance, name: str, operation: str, check: str) -> None:  # type: ignore[no-untyped-def]
    """Fails while the service still has the failure; once fixed it passes, strict xfail fails the
    run: delete the entry from KNOWN."""
    failures = conformance(name).failures
    assert (operation, check) not in failures, _report(name, {(operation, check): failures[(operation, check)]})
