"""HTTP endpoints of self-inspection tasks: templates, issuing, reading and assigning tasks,
submissions (五定-checked; retries are safe with Idempotency-Key or the body's client_id)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from services.inspection import jobs
from services.inspection.access import AdminCtx, Ctx, IssuerCtx, PageByTimeAndId
from services.inspection.tasks import service
from services.inspection.tasks.schemas import (
    AssigneeIn,
    CampaignIssueIn,
    IssuedOut,
    SubmissionIn,
    SubmissionOut,
    TaskIssueIn,
    TaskJobsIn,
    TaskJobsOut,
    TaskOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)
from shared.app import Runtime
from shared.contracts.common import USCC_PATTERN
from shared.http.openapi import problem_responses
from shared.http.pagination import Page
from shared.http.parameters import day_of
from shared.http.preconditions import PRECONDITION_RESPONSES, IfMatch, set_etag

router = APIRouter(prefix="/api/v1", tags=["self-inspection tasks"])
Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
FromDay = Annotated[str, Query(alias="from", pattern=DAY, json_schema_extra={"format": "date"},
                                      description="first due date (inclusive)")]
ToDay = Annotated[str, Query(alias="to", pattern=DAY, json_schema_extra={"format": "date"},
                                    description="last due date (inclusive)")]
EnterpriseFilter = Annotated[str | None, Query(pattern=USCC_PATTERN, description="one enterprise's")]


@router.post("/task-templates", status_code=201, responses=problem_responses(
                 404, s404="the target names an enterprise the ledger does not hold"),
             summary="Create a task template: 日管控/周排查/月调度 (recurring) or an ad-hoc campaign (regulator)")
async def create_template(ctx: IssuerCtx, body: TemplateIn) -> TemplateOut:
    return TemplateOut.model_validate(await service.create_template(ctx, body))


@router.get("/task-templates", summary="Templates of the caller's jurisdiction (regulator)")
async def list_templates(ctx: IssuerCtx, page: PageByTimeAndId) -> Page[TemplateOut]:
    return Page[TemplateOut].model_validate(await service.list_templates(ctx, page.params, page.after))


@router.get("/task-templates/{template_id}", summary="One template (regulator), its revision as the ETag")
async def get_template(ctx: IssuerCtx, template_id: Id, response: Response) -> TemplateOut:
    out = TemplateOut.model_validate(service.template_out(await service.get_template(ctx, template_id)))
    set_etag(response, out.revision)
    return out


@router.patch("/task-templates/{template_id}", responses={**PRECONDITION_RESPONSES, **problem_responses(
                  404, s404="no such template, or the new target names an enterprise the ledger does not hold")},
              summary="Change or deactivate a template (regulator covering it): If-Match its revision; "
                      "active false stops its occurrences")
async def update_template(ctx: IssuerCtx, template_id: Id, body: TemplatePatch, response: Response,
                          if_match: IfMatch = None) -> TemplateOut:
    out = TemplateOut.model_validate(await service.update_template(ctx, template_id, body, if_match))
    set_etag(response, out.revision)
    return out


@router.post("/task-templates/{template_id}/tasks", status_code=201,
             summary="Issue a template's tasks now, e.g. an ad-hoc campaign's (regulator)",
             responses=problem_responses(409, s409="the window has already closed, or the template is inactive"))
async def issue_campaign(ctx: IssuerCtx, template_id: Id, body: CampaignIssueIn) -> IssuedOut:
    return IssuedOut.model_validate(await service.issue_campaign(ctx, template_id, body))


@router.post("/tasks", status_code=201, responses=problem_responses(
                 404, 409, s404="the target names an enterprise the ledger does not hold",
                 s409="the window has already closed"),
             summary="Issue tasks to one enterprise or a filtered set of the caller's jurisdiction (regulator)")
async def issue_tasks(ctx: IssuerCtx, body: TaskIssueIn) -> IssuedOut:
    return IssuedOut.model_validate(await service.issue(ctx, body))


@router.get("/tasks", summary="Tasks the caller may see, by window end")
async def list_tasks(ctx: Ctx, page: PageByTimeAndId, enterprise: EnterpriseFilter = None,
                     status: Literal["open", "completed", "missed"] | None = None,
                     template_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
                     start: FromDay = None, end: ToDay = None) -> Page[TaskOut]:  # type: ignore[assignment]
    first, last = day_of("from", start), day_of("to", end)  # from after to: an empty range, no error
    found = await service.list_tasks(ctx, enterprise=enterprise, status=status, start=first, end=last,
                                     template_id=template_id, page=page.params, after=page.after)
    return Page[TaskOut].model_validate(found)


@router.get("/tasks/{task_id}", summary="One task with its 五定")
async def get_task(ctx: Ctx, task_id: Id) -> TaskOut:
    return TaskOut.model_validate(service.task_out(await service.readable_task(ctx, task_id)))


@router.put("/tasks/{task_id}/assignee", summary="Assign an open task (定人): the enterprise, or a regulator",
            responses=problem_responses(409, s409="the task is no longer open"))
async def assign(ctx: Ctx, task_id: Id, body: AssigneeIn) -> TaskOut:
    return TaskOut.model_validate(await service.assign(ctx, task_id, body))


@router.post("/tasks/{task_id}/submissions", status_code=201,
             summary="Submit a task (the enterprise): checked against 五定, rejected (422) or flagged per the policy",
             responses={200: {"description": "a retry of a submission already stored (same client_id)",
                              "model": SubmissionOut},
                        **problem_responses(409, 422, s409="this client_id was stored with other content",
                                            s422="invalid, or the submission broke a 五定 rule the task rejects for: "
                                                 "`violations` names each rule, code, field and reason")})
async def submit(ctx: Ctx, task_id: Id, body: SubmissionIn, response: Response) -> SubmissionOut:
    stored, new = await service.submit(ctx, task_id, body)
    if not new:
        response.status_code = 200
    return SubmissionOut.model_validate(stored)


@router.get("/tasks/{task_id}/submissions", summary="A task's submissions, in arrival order")
async def list_submissions(ctx: Ctx, task_id: Id, page: PageByTimeAndId) -> Page[SubmissionOut]:
    return Page[SubmissionOut].model_validate(await service.list_submissions(ctx, task_id, page.params, page.after))


@router.post("/admin/task-jobs", summary="Run the daily task jobs now, as of a date (admin): occurrences, overdue "
             "hazards, closing")
async def run_task_jobs(_: AdminCtx, runtime: Runtime, body: TaskJobsIn) -> TaskJobsOut:
    return TaskJobsOut.model_validate(await jobs.run_task_jobs(runtime, body.date))
