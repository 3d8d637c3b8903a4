"""The model as data: listing, loading a new version (rescoring everyone, keeping history),
refusing an invalid one with its fields named, who may load, and the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from services.catalog import BY_NAME
from services.scoring import cli, jobs
from services.scoring import models as tables
from services.scoring.domain import DEFAULT_MODEL_PATH
from services.scoring.main import create_app as create_scoring_app
from services.scoring.scores import repository as repo_nightly
from shared.contracts import inspection, registry
from shared.contracts.scoring import SCORE_UPDATED
from shared.db import build_engine, build_session_factory
from shared.migrations import upgrade
from shared.testing.services import running_service
from tests.scoring.support import DONGGANG, Clock, Scoring, d_grade_station, enterprise, missing_day

YAML = {"Content-Type": "application/yaml"}


def model_document(version: str, effective_from: date, **policy: Any) -> dict[str, Any]:
    """The default model as a new version: unknown general credit and missing records weigh more."""
    document = yaml.safe_load(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    document["model_version"] = version
    document["effective_from"] = effective_from
    document["indicators"][0]["params"]["A"] = 2
    missing = next(i for i in document["indicators"] if i["id"] == "G5.missing_filling_records")
    missing.update(points=5, max_points=15)
    document["policy"].update(policy)
    return document


def model_text(version: str, effective_from: date, **policy: Any) -> str:
    return yaml.safe_dump(model_document(version, effective_from, **policy), allow_unicode=True, sort_keys=False)


async def test_the_default_model_is_listed_in_effect_and_readable(scoring):
    listing = await scoring.client.get("/api/v1/models", headers=scoring.auth("enterprise", enterprise="0" * 18))
    assert listing.status_code == 200
    [default] = listing.json()["items"]
    assert (default["version"], default["effective_from"], default["in_effect"], default["loaded_by"]) == (
        "rizhao-2026.1", "2026-01-01", True, "system")

    detail = await scoring.client.get("/api/v1/models/rizhao-2026.1", headers=scoring.city)
    assert detail.status_code == 200
    assert detail.json()["document"]["bands"][3]["lower"] == 60
    assert detail.json()["source_text"] == DEFAULT_MODEL_PATH.read_text(encoding="utf-8")
    assert (await scoring.client.get("/api/v1/models/nope", headers=scoring.city)).status_code == 404
    assert (await scoring.client.get("/api/v1/models")).status_code == 401


async def test_a_new_version_in_effect_rescores_everyone_and_keeps_the_old_scores(scoring, usccs):
    clean, station = usccs(1), usccs(2)
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(clean))
    await d_grade_station(scoring, station)
    await scoring.deliver(inspection.FILLING_RECORDS_MISSING, missing_day(station, scoring.clock.today))
    assert (await scoring.score(station))["score"] == 62

    response = await scoring.client.post("/api/v1/models", content=model_text("rizhao-2026.2", scoring.clock.today),
                                         headers={**scoring.city, **YAML})

    assert response.status_code == 201, response.text
    loaded = response.json()
    assert (loaded["version"], loaded["in_effect"], loaded["loaded_by"]) == ("rizhao-2026.2", True, "city-officer")
    assert (loaded["rescore"]["rescored"], loaded["rescore"]["changed"]) == (2, 2)
    clean_score = await scoring.score(clean)
    assert (clean_score["score"], clean_score["model_version"]) == (2, "rizhao-2026.2")
    assert (await scoring.score(station))["score"] == 64
    history = (await scoring.client.get(f"/api/v1/enterprises/{station}/score-history", headers=scoring.city)).json()
    assert [(h["model_version"], h["score"]) for h in history["items"][:2]] == [
        ("rizhao-2026.2", 64), ("rizhao-2026.1", 62)]
    assert history["items"][0]["cause"]["event_type"] == jobs.MODEL_LOADED
    published = [e for e in await scoring.outbox(SCORE_UPDATED.type)
                 if e["data"]["trigger_event_type"] == jobs.MODEL_LOADED]
    assert sorted(e["key"] for e in published) == [clean, station]
    [audit] = await scoring.audit("model.loaded")
    assert (audit["actor"], audit["subject"]) == ("city-officer", "rizhao-2026.2")
    models = (await scoring.client.get("/api/v1/models", headers=scoring.city)).json()["items"]
    assert [(m["version"], m["in_effect"], m["rescored_enterprises"]) for m in models] == [
        ("rizhao-2026.2", True, 2), ("rizhao-2026.1", False, None)]


async def test_a_version_effective_later_waits_for_its_date(scoring, usccs):
    uscc = usccs()
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    tomorrow = date.fromordinal(scoring.clock.today.toordinal() + 1)
    body = json.dumps(model_document("rizhao-2026.3", tomorrow), default=str)

    response = await scoring.client.post("/api/v1/models", content=body,
                                         headers={**scoring.admin, "Content-Type": "application/json"})

    assert response.status_code == 201, response.text
    assert (response.json()["in_effect"], response.json()["rescore"]) == (False, None)
    assert (await scoring.score(uscc))["model_version"] == "rizhao-2026.1"
    scoring.clock.advance(1)
    await scoring.rescore_all()
    assert ((await scoring.score(uscc))["model_version"], (await scoring.score(uscc))["score"]) == ("rizhao-2026.3", 2)


async def test_an_invalid_model_is_refused_naming_its_fields_and_nothing_is_stored(scoring, usccs):
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs()))
    broken = model_document("rizhao-bad", date(2026, 1, 1))
    broken["indicators"][1]["points"] = -5
    broken["groups"][0]["cap"] = "ten"
    gap = model_document("rizhao-bad", date(2026, 1, 1))
    gap["bands"][1]["lower"] = 25
    unknown_kind = model_document("rizhao-bad", date(2026, 1, 1))
    unknown_kind["indicators"][2]["kind"] = "astrology"
    bad_version = model_document("rizhao/2026", date(2026, 1, 1))
    cases = [
        (yaml.safe_dump(broken, allow_unicode=True), {"indicators[1].points", "groups[0].cap"}),
        (yaml.safe_dump(gap, allow_unicode=True), {"bands[0].upper"}),
        (yaml.safe_dump(unknown_kind, allow_unicode=True), {"indicators[2].kind"}),
        (yaml.safe_dump(bad_version, allow_unicode=True), {"model_version"}),
        ("model_version: [unclosed", {"model"}),
        ("- just\n- a list\n", {"model"}),
        ("model_version: x\n", {"effective_from", "groups", "indicators", "bands"}),
    ]
    for text, fields in cases:
        response = await scoring.client.post("/api/v1/models", content=text, headers={**scoring.city, **YAML})
        assert response.status_code == 422, text
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert {e["field"] for e in problem["errors"]} >= fields, problem
    not_utf8 = await scoring.client.post("/api/v1/models", content=b"\xff\xfe", headers={**scoring.city, **YAML})
    assert not_utf8.status_code == 422

    assert [m["version"] for m in (await scoring.client.get("/api/v1/models", headers=scoring.city)).json()["items"]] \
        == ["rizhao-2026.1"]
    assert await scoring.audit("model.loaded") == []
    assert await scoring.count(tables.history) == 1


async def test_only_an_admin_or_the_root_regulator_loads_a_model_and_versions_are_never_replaced(scoring):
    text = model_text("rizhao-2026.4", date(2026, 1, 1))
    for headers in (scoring.auth("regulator", jurisdiction=DONGGANG), scoring.auth("enterprise", enterprise="0" * 18),
                    scoring.auth("integrator")):
        response = await scoring.client.post("/api/v1/models", content=text, headers={**headers, **YAML})
        assert response.status_code == 403
    assert (await scoring.client.post("/api/v1/models", content=text, headers=YAML)).status_code == 401

    assert (await scoring.client.post("/api/v1/models", content=text, headers={**scoring.admin, **YAML})).status_code \
        == 201
    again = await scoring.client.post("/api/v1/models", content=text, headers={**scoring.city, **YAML})
    assert again.status_code == 409
    default_again = await scoring.client.post("/api/v1/models", content=DEFAULT_MODEL_PATH.read_text(encoding="utf-8"),
                                              headers={**scoring.city, **YAML})
    assert default_again.status_code == 409


def test_the_cli_loads_a_model_file(sqlite_database_url, tmp_path: Path, monkeypatch):
    """`safegrid scoring load-model FILE` validates, stores and reports; a bad file exits 1."""
    asyncio.run(upgrade(BY_NAME["scoring"].migrations, sqlite_database_url))
    monkeypatch.setenv("SAFEGRID_SCORING_DATABASE_URL", sqlite_database_url)
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(model_text("rizhao-2026.9", date(2099, 1, 1)), encoding="utf-8")
    bad.write_text("model_version: x\n", encoding="utf-8")
    runner = CliRunner()

    loaded = runner.invoke(cli.app, ["load-model", str(good), "--by", "ops"])
    refused = runner.invoke(cli.app, ["load-model", str(bad)])
    listed = runner.invoke(cli.app, ["models"])

    assert loaded.exit_code == 0, loaded.output
    assert "loaded rizhao-2026.9" in loaded.output and "not in effect today" in loaded.output
    assert refused.exit_code == 1 and "bands" in refused.output
    assert "rizhao-2026.9" in listed.output and "rizhao-2026.1" in listed.output

    async def stored() -> list[tuple[str, str]]:
        engine = build_engine(sqlite_database_url)
        try:
            async with build_session_factory(engine)() as session:
                rows = await session.execute(select(tables.models.c.version, tables.models.c.loaded_by)
                                             .order_by(tables.models.c.id))
                audits = await session.execute(select(func.count()).select_from(tables.platform.audit_log))
                return [(r.version, r.loaded_by) for r in rows] + [("audit", str(audits.scalar_one()))]
        finally:
            await engine.dispose()

    assert asyncio.run(stored()) == [("rizhao-2026.1", "system"), ("rizhao-2026.9", "ops"), ("audit", "1")]


async def test_a_regulator_of_another_city_may_not_load_a_model_the_root_citys_may(scoring, usccs):
    """A model rescores every enterprise of the deployment (root jurisdiction 371100 by default):
    a city-level regulator of 青岛 (370200) is refused, 日照's own may load it."""
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs()))
    text = model_text("rizhao-2026.5", date(2026, 1, 1))
    other_city = scoring.auth("regulator", sub="qingdao-officer", jurisdiction="370200")

    refused = await scoring.client.post("/api/v1/models", content=text, headers={**other_city, **YAML})

    assert refused.status_code == 403, refused.text
    assert "371100" in refused.json()["detail"]
    assert await scoring.count(tables.models, tables.models.c.version == "rizhao-2026.5") == 0
    loaded = await scoring.client.post("/api/v1/models", content=text, headers={**scoring.city, **YAML})
    assert loaded.status_code == 201, loaded.text


async def test_the_root_jurisdiction_is_a_setting(database_url):
    async with running_service(create_scoring_app, database_url, consumers_enabled=False, relay_enabled=False,
                               nightly_rescore_enabled=False, root_jurisdiction="370200") as svc:
        text = model_text("qingdao-2026.1", date(2026, 1, 1))
        rizhao = svc.auth("regulator", jurisdiction="371100")
        qingdao = svc.auth("regulator", jurisdiction="370200")
        assert (await svc.client.post("/api/v1/models", content=text, headers={**rizhao, **YAML})).status_code == 403
        assert (await svc.client.post("/api/v1/models", content=text, headers={**qingdao, **YAML})).status_code == 201


async def test_another_replica_rescores_with_the_model_a_full_rescore_just_loaded(database_url, usccs):
    """Two instances on one database: once A's load (and full rescore) with a new model returns,
    B's next rescoring uses that model, although B asked which model was in effect a moment ago."""
    options = {"consumers_enabled": False, "relay_enabled": False, "nightly_rescore_enabled": False}
    async with running_service(create_scoring_app, database_url, **options) as svc_a, \
            running_service(create_scoring_app, database_url, **options) as svc_b:
        a, b = Scoring(svc_a, Clock()), Scoring(svc_b, Clock())
        svc_a.runtime.clock = a.clock
        svc_b.runtime.clock = b.clock
        uscc = usccs()
        await b.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))  # B reads the versions now
        assert (await b.score(uscc))["model_version"] == "rizhao-2026.1"

        loaded = await a.client.post("/api/v1/models", content=model_text("rizhao-2026.6", date(2026, 1, 1)),
                                     headers={**a.admin, **YAML})
        assert loaded.status_code == 201, loaded.text
        assert (await b.score(uscc))["model_version"] == "rizhao-2026.6"

        await b.deliver(inspection.FILLING_RECORDS_MISSING, missing_day(uscc, b.clock.today))

        score = await b.score(uscc)
        assert score["model_version"] == "rizhao-2026.6", "B rescored with the model A had replaced"
        assert next(line["points"] for line in score["breakdown"]
                    if line["indicator"] == "G5.missing_filling_records") == 5


def test_the_model_upload_documents_the_model_files_shape() -> None:
    """The shipped model conforms to the documented JSON body; a file missing a required field or
    with an unknown indicator kind does not."""
    import jsonschema

    body = create_scoring_app().openapi()["paths"]["/api/v1/models"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    assert body["application/yaml"]["schema"]["type"] == "string"
    assert set(schema["required"]) == {"model_version", "effective_from", "groups", "indicators", "bands"}
    assert "$ref" not in json.dumps(schema)
    document = json.loads(json.dumps(yaml.safe_load(DEFAULT_MODEL_PATH.read_text(encoding="utf-8")), default=str))
    jsonschema.validate(document, schema)
    for broken in ({k: v for k, v in document.items() if k != "bands"},
                   {**document, "indicators": [{**document["indicators"][0], "kind": "crowd_size"}]}):
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken)



@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker-processes"])
async def test_a_nightly_pass_stops_once_another_replica_loaded_a_newer_model(database_url, usccs, monkeypatch,
                                                                               workers):
    """Two instances on one database: A's nightly pass starts with v1; after its first chunk B
    loads v2 and rescores everyone with it. A's later chunks must not write v1 back (they see a
    newer model in effect in their own write transaction and stop), and A's claim counts as run."""
    options = {"consumers_enabled": False, "relay_enabled": False, "nightly_rescore_enabled": False,
               "rescore_chunk_size": 1, "rescore_workers": workers, "rescore_parallel_from": 0}
    async with running_service(create_scoring_app, database_url, **options) as svc_a, \
            running_service(create_scoring_app, database_url, **options) as svc_b:
        a, b = Scoring(svc_a, Clock()), Scoring(svc_b, Clock())
        svc_a.runtime.clock = a.clock
        svc_b.runtime.clock = b.clock
        enterprises = [usccs(n) for n in range(4)]
        for uscc in enterprises:
            await a.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
            await a.deliver(inspection.FILLING_RECORDS_MISSING, missing_day(uscc, a.clock.days_ago(1)))
        real_renew, loads = repo_nightly.renew_nightly_claim, []

        async def renew_then_b_loads(session, day, holder, until):  # type: ignore[no-untyped-def]
            if not loads:  # A's first chunk is committed: B loads a newer model meanwhile
                text = model_text("rizhao-2026.6", date(2026, 1, 1))
                loads.append(await b.client.post("/api/v1/models", content=text, headers={**b.admin, **YAML}))
            return await real_renew(session, day, holder, until)

        monkeypatch.setattr(repo_nightly, "renew_nightly_claim", renew_then_b_loads)
        summary = await jobs.run_nightly_pass(svc_a.runtime, "replica-a")

        assert loads and loads[0].status_code == 201, loads[0].text
        assert loads[0].json()["rescore"]["rescored"] == 4
        for uscc in enterprises:
            score = await a.score(uscc)
            assert score["model_version"] == "rizhao-2026.6", uscc
            assert next(line["points"] for line in score["breakdown"]
                        if line["indicator"] == "G5.missing_filling_records") == 5, uscc
        assert summary is not None, "the newer model's rescore covered everyone: the pass counts as run"
        assert (summary["model_version"], summary["superseded_by"]) == ("rizhao-2026.1", "rizhao-2026.6")
        assert summary["rescored"] < 4
        assert await jobs.run_nightly_pass(svc_b.runtime, "replica-b") is None
        async with svc_a.runtime.session_factory() as session:
            rows = (await session.execute(select(tables.models.c.version, tables.models.c.rescored_at))).all()
        assert {version: at is not None for version, at in rows} == {"rizhao-2026.1": False, "rizhao-2026.6": True}


def test_the_cli_lists_every_model_version_beyond_one_page(sqlite_database_url, monkeypatch):
    """More versions than one API page (500): the CLI pages through all of them, no cursor needed."""
    asyncio.run(upgrade(BY_NAME["scoring"].migrations, sqlite_database_url))
    monkeypatch.setenv("SAFEGRID_SCORING_DATABASE_URL", sqlite_database_url)
    document = json.loads(json.dumps(model_document("x", date(2099, 1, 1)), default=str))

    async def store_many() -> None:
        engine = build_engine(sqlite_database_url)
        try:
            async with build_session_factory(engine)() as session, session.begin():
                await session.execute(tables.models.insert(), [
                    {"version": f"bulk-{n:04d}", "effective_from": date(2099, 1, 1),
                     "document": {**document, "model_version": f"bulk-{n:04d}"}, "source_text": "",
                     "loaded_at": datetime(2026, 1, 1, tzinfo=UTC), "loaded_by": "ops"} for n in range(600)])
        finally:
            await engine.dispose()

    asyncio.run(store_many())
    listed = CliRunner().invoke(cli.app, ["models"])

    assert listed.exit_code == 0, listed.output
    versions = [line.split("\t")[0] for line in listed.output.splitlines() if "\t" in line][1:]  # logs aside
    assert versions[:2] == ["bulk-0599", "bulk-0598"]
    assert sorted(versions) == [f"bulk-{n:04d}" for n in range(600)]
