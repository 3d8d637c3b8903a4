"""Model versions (指标模型): validating and storing a version, reading them, and the cache of
parsed versions every rescoring asks which model is in effect. Loading a version that is in
effect at once also rescores everyone: that runs chunk by chunk in ``jobs.load_model``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import yaml
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.context import ScoringContext
from services.scoring.domain import DEFAULT_MODEL_PATH, ModelValidationError, ScoringModel, default_model, parse_model
from services.scoring.errors import conflict, field_error, model_invalid, not_found
from services.scoring.model_versions import repository as repo
from services.scoring.repository import audit
from shared.auth import SYSTEM
from shared.http.pagination import PageParams, make_page
from shared.http.problems import Problem


class ModelCache:
    """Parsed model versions, by version: a stored version never changes, so its parse is kept
    for good. Which version is in effect is not cached: it is read in the caller's transaction
    every time (one indexed row), so that once another replica's load of a new version has
    committed, no rescoring here can use the old one."""

    def __init__(self) -> None:
        self._parsed: dict[str, ScoringModel] = {}

    async def version(self, session: AsyncSession, version: str) -> ScoringModel | None:
        if version not in self._parsed:
            row = await repo.get_model(session, version)
            if row is None:
                return None
            self._parsed[version] = parse_model(row["document"])
        return self._parsed[version]

    async def in_effect(self, session: AsyncSession, on: date) -> ScoringModel:
        """The version with the latest effective_from on or before `on` (the latest loaded on a tie);
        before any version's date, the earliest one. The default model is stored on first use."""
        version = await repo.version_in_effect(session, on)
        if version is None:
            await store_default_model(session)
            version = await repo.version_in_effect(session, on)
        assert version is not None
        model = await self.version(session, version)
        assert model is not None
        return model


async def in_effect(ctx: ScoringContext, on: date | None = None) -> ScoringModel:
    """The model in effect on `on` (default: today)."""
    return await ctx.models.in_effect(ctx.session, on or ctx.today())


async def store_default_model(session: AsyncSession) -> None:
    model = default_model()
    await repo.insert_model(session, _model_values(model, DEFAULT_MODEL_PATH.read_text(encoding="utf-8"),
                                                   SYSTEM.sub, datetime.now(UTC)), if_absent=True)


def _model_values(model: ScoringModel, source_text: str, loaded_by: str, at: datetime) -> dict[str, Any]:
    return {"version": model.model_version, "effective_from": model.effective_from,
            "document": model.model_dump(mode="json"), "source_text": source_text,
            "loaded_at": at, "loaded_by": loaded_by}


def parse_model_text(text: str) -> ScoringModel:
    """A model from YAML or JSON text (JSON is YAML); 422 naming each faulty field otherwise."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise model_invalid([f"not valid YAML or JSON: {exc}"]) from None
    try:
        model = parse_model(document)
    except ModelValidationError as exc:
        raise model_invalid(exc.problems) from None
    if not all(ch.isalnum() or ch in "._-" for ch in model.model_version):
        raise model_invalid(["model_version: use letters, digits, '.', '_' and '-' only (it appears in URLs)"])
    return model


async def store_model(ctx: ScoringContext, text: str, loaded_by: str | None = None) -> ScoringModel:
    """Validate and store a new model version (versions are never replaced); audited under
    `loaded_by` (default: the acting principal)."""
    loaded_by = loaded_by or ctx.actor
    model = parse_model_text(text)
    await repo.lock_models(ctx.session)  # a running full rescore's chunk then sees this version, or commits first
    await in_effect(ctx)  # stores the default model on first use
    if await repo.get_model(ctx.session, model.model_version) is not None:
        raise conflict(f"model version {model.model_version} exists; publish a new version instead")
    await repo.insert_model(ctx.session, _model_values(model, text, loaded_by, ctx.now()))
    await audit(ctx.session, actor=loaded_by, action="model.loaded", subject=model.model_version, detail={
        "version": model.model_version, "effective_from": model.effective_from.isoformat(),
        "sha1": hashlib.sha1(text.encode()).hexdigest()})
    return model


async def model_summary(ctx: ScoringContext, row: RowMapping) -> dict[str, Any]:
    current = await in_effect(ctx)
    labels = (row["document"] or {}).get("labels")
    return {"version": row["version"], "effective_from": row["effective_from"], "labels": labels,
            "in_effect": row["version"] == current.model_version, "loaded_at": row["loaded_at"],
            "loaded_by": row["loaded_by"], "rescored_at": row["rescored_at"],
            "rescored_enterprises": row["rescored_enterprises"]}


async def list_models(ctx: ScoringContext, params: PageParams, after_id: int | None) -> dict[str, Any]:
    """A page of model versions, newest loaded first (the default model is there from the start)."""
    await in_effect(ctx)
    rows = await repo.list_models(ctx.session, after_id, params.limit)
    page = make_page(rows, params, key_of=lambda r: [r["id"]])
    return {"items": [await model_summary(ctx, r) for r in page["items"]], "next_cursor": page["next_cursor"]}


async def all_models(ctx: ScoringContext, page_size: int = 500) -> list[dict[str, Any]]:
    """Every model version, newest loaded first: the repository paged through by id (for the CLI,
    which has no cursor to sign)."""
    await in_effect(ctx)
    found: list[dict[str, Any]] = []
    after_id: int | None = None
    while True:
        rows = await repo.list_models(ctx.session, after_id, page_size)
        found += [await model_summary(ctx, r) for r in rows[:page_size]]
        if len(rows) <= page_size:
            return found
        after_id = rows[page_size - 1]["id"]


async def describe_model(ctx: ScoringContext, version: str) -> dict[str, Any]:
    """One version: its summary, its document and the file as loaded."""
    await in_effect(ctx)
    row = await repo.get_model(ctx.session, version)
    if row is None:
        raise not_found("model version", version)
    return {**await model_summary(ctx, row), "document": row["document"], "source_text": row["source_text"]}


def model_file_text(raw: bytes, max_bytes: int) -> str:
    """The body of a model upload as text: at most `max_bytes`, UTF-8."""
    if len(raw) > max_bytes:
        raise Problem(413, "Payload too large", f"a model file may be at most {max_bytes} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise field_error("body", "the model file must be UTF-8 text") from exc
