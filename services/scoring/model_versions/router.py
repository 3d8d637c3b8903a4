"""HTTP endpoints of model versions: list, read, load (rescoring everyone when in effect)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.scoring import jobs
from services.scoring.access import Ctx, ModelLoader, PageById
from services.scoring.model_versions import service
from services.scoring.model_versions.schemas import ModelDetail, ModelLoaded, ModelSummary, model_file_schema
from shared.app import Runtime
from shared.http.openapi import link, problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["scoring"])

MODEL_BODY = {"requestBody": {"required": True, "description": "the model file, YAML or JSON (UTF-8)", "content": {
    "application/yaml": {"schema": {"type": "string", "description": "the model file as YAML: the shape of the "
                                                                     "application/json body"}},
    "application/json": {"schema": model_file_schema()}}}}


@router.get("/models", summary="Model versions, newest loaded first")
async def list_models(ctx: Ctx, page: PageById) -> Page[ModelSummary]:
    return Page[ModelSummary].model_validate(await service.list_models(ctx, page.params, page.after))


@router.get("/models/{version}", summary="One model version: its document and the file as loaded")
async def get_model(version: str, ctx: Ctx) -> ModelDetail:
    return ModelDetail.model_validate(await service.describe_model(ctx, version))


@router.post("/models", status_code=201, openapi_extra=MODEL_BODY,
             summary="Load a new model version (admin or a regulator of the root jurisdiction); "
                     "rescores everyone if in effect",
             responses={**problem_responses(409, 413, 422, s409="the version exists: publish a new version instead",
                                            s413="the model file is larger than the limit",
                                            s422="invalid model: `errors` names each field"),
                        201: {"links": {"GetModel": link("GET", "/api/v1/models/{version}",
                                                         version="$response.body#/version")}}})
async def load_model(request: Request, runtime: Runtime, principal: ModelLoader) -> ModelLoaded:
    text = service.model_file_text(await request.body(), runtime.settings.max_model_bytes)  # type: ignore[attr-defined]
    # Not the request's unit of work: the model commits first, then the rescore runs chunk by chunk.
    return ModelLoaded.model_validate(await jobs.load_model(runtime, text, principal))
