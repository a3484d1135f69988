"""Routes for the medical partner (a clinic): its worklist, its results, and its patients' medical files.

A clinic sees only the people of cases assigned to it; for any other case the answer is 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from api.cases.schemas import OPAQUE_ID
from api.deps import Context, require
from api.limits import Bucket, rate_limited
from api.medical import service
from api.medical.schemas import (
    AssessmentSubmission,
    FitnessSubmission,
    MedicalFileView,
    MedicalStep,
    ScreeningSubmission,
    StepRecordView,
    Worklist,
    as_result,
)
from api.principal import Principal, Scope
from api.problems import problem_responses
from domain.medical import AssessmentResult, FitnessResult, ScreeningResult

router = APIRouter(prefix="/medical", tags=["medical partner"])

Reader = Annotated[Principal, Depends(require(Scope.MEDICAL_READ))]
Writer = Annotated[Principal, Depends(require(Scope.MEDICAL_WRITE))]
# The pattern of every other route's ids: a NUL byte reached PostgreSQL, which refused it (a 503 to retry forever).
CaseId = Annotated[str, Path(pattern=OPAQUE_ID, description="opaque case id", examples=["case_3f9a1c0d2b7e4a51"])]
PersonId = Annotated[str, Path(pattern=OPAQUE_ID, description="opaque person id", examples=["per_8c21e4f09ab3d771"])]


MEDICAL_WHY = {
    403: "the token lacks the medical scope",
    404: "no such case or person for your organisation",
    409: "the departure has not started, has ended, or the step takes no result now",
    422: "a field breaks a rule; `errors` names it (body.<field>, query.<name>, path.<name>)",
    503: "Temporal or the store cannot be reached; send the same result again after Retry-After",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(*statuses, why=MEDICAL_WHY)


SUBMIT_PROBLEMS = problems(401, 403, 404, 409, 422, 429, 503)


@router.get("/worklist", response_model=Worklist, responses=problems(401, 403, 422, 503),
            summary="Assessments, B1 screenings and fitness-to-travel checks due from this clinic")
async def worklist(
    context: Context,
    principal: Reader,
    step: Annotated[MedicalStep | None, Query(description="only this step")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many, earliest deadline first")] = 200,
) -> Worklist:
    return Worklist(items=await service.worklist(context, principal, step, limit))


@router.post("/cases/{case_id}/assessments", response_model=StepRecordView, responses=SUBMIT_PROBLEMS,
             dependencies=[rate_limited(Bucket.MEDICAL_RESULTS)],
             summary="Submit a health assessment; sending the same result again changes nothing")
async def submit_assessment(context: Context, principal: Writer, case_id: CaseId,
                            body: AssessmentSubmission) -> StepRecordView:
    result = as_result(body, AssessmentResult, principal.org_id)
    return await service.submit(context, principal, case_id, service.ASSESSMENT, result)


@router.post("/cases/{case_id}/screenings", response_model=StepRecordView, responses=SUBMIT_PROBLEMS,
             dependencies=[rate_limited(Bucket.MEDICAL_RESULTS)],
             summary="Submit the pre-departure screening of a TB class B1 traveller")
async def submit_screening(context: Context, principal: Writer, case_id: CaseId,
                           body: ScreeningSubmission) -> StepRecordView:
    result = as_result(body, ScreeningResult, principal.org_id)
    return await service.submit(context, principal, case_id, service.SCREENING, result)


@router.post("/cases/{case_id}/fitness-checks", response_model=StepRecordView, responses=SUBMIT_PROBLEMS,
             dependencies=[rate_limited(Bucket.MEDICAL_RESULTS)],
             summary="Submit a fitness-to-travel (pre-embarkation) check")
async def submit_fitness(context: Context, principal: Writer, case_id: CaseId,
                         body: FitnessSubmission) -> StepRecordView:
    result = as_result(body, FitnessResult, principal.org_id)
    return await service.submit(context, principal, case_id, service.FITNESS, result)


@router.get("/cases/{case_id}/people/{person_id}", response_model=MedicalFileView,
            responses=problems(401, 403, 404, 422, 503),
            summary="The medical file of one traveller: diagnoses and test results; every read is audited")
async def medical_file(context: Context, principal: Reader, case_id: CaseId, person_id: PersonId) -> MedicalFileView:
    return await service.medical_file(context, principal, case_id, person_id)
