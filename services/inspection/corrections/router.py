"""HTTP endpoint of filling-record corrections."""

from __future__ import annotations

from fastapi import APIRouter

from services.inspection.access import Ctx, RecordId
from services.inspection.corrections import service
from services.inspection.corrections.schemas import FillingCorrectionIn, FillingCorrectionOut
from shared.http.openapi import problem_responses

router = APIRouter(prefix="/api/v1", tags=["records"])


@router.post("/filling-records/{record_id}/corrections", status_code=201,
             summary="Correct a filling record: a new version pointing at the old one, which stays",
             responses=problem_responses(409, s409=(
                 "the version was corrected already (`current_record_id` names the one to correct), the "
                 "corrected filled_at lies in the future, or another record holds the corrected cylinder and "
                 "filled_at (`other_record_id`)")))
async def correct_filling_record(ctx: Ctx, record_id: RecordId, body: FillingCorrectionIn) -> FillingCorrectionOut:
    return FillingCorrectionOut.model_validate(await service.correct_filling_record(ctx, int(record_id), body))
