"""Coordinators' routes: their office's cases, each case's timeline, and (via api.departures) its departure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from api.cases import service
from api.cases.pagination import CURSOR_PATTERN
from api.cases.repository import CaseFilter
from api.cases.responses import problems
from api.cases.schemas import OPAQUE_ID, CaseCreate, CaseOut, CasePage, CaseUpdate, Timeline
from api.departures.endpoints import router as departures
from api.deps import Context, require
from api.limits import Bucket, rate_limited
from api.principal import Principal, Scope
from domain.steps import Step, StepState

router = APIRouter(tags=["cases"])

CaseId = Annotated[str, Path(pattern=OPAQUE_ID, examples=["case_8c1d0f3b2a9e4d71"])]
Reader = Annotated[Principal, Depends(require(Scope.CASES_READ))]
Writer = Annotated[Principal, Depends(require(Scope.CASES_WRITE))]


@router.post("/cases", response_model=CaseOut, status_code=status.HTTP_201_CREATED, responses=problems(413),
             summary="Create a case with its people, for your office")
async def create_case(context: Context, principal: Writer, body: CaseCreate) -> CaseOut:
    return await service.create_case(context, principal, body)


@router.get("/cases", response_model=CasePage, responses=problems(429),
            dependencies=[rate_limited(Bucket.CASE_LIST)], summary="Your office's cases, filtered")
async def list_cases(
    context: Context,
    principal: Reader,
    step: Annotated[Step | None,
                    Query(description="cases with this step in `state`, or still open if no state")] = None,
    state: Annotated[StepState | None,
                     Query(description="cases with a step (the `step`, if given) in this state")] = None,
    blocked: Annotated[bool | None, Query(description="true: some step is blocked or refused; false: none")] = None,
    expiring_within_days: Annotated[int | None, Query(
        ge=0, le=3650, description="a done step's validity ends between today and this many days from now")] = None,
    destination: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$", description="ISO alpha-2 country",
                                             examples=["CA"])] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page")] = None,
) -> CasePage:
    where = CaseFilter(step=step, state=state, blocked=blocked,
                       expiring_by=service.expiring_window(expiring_within_days),
                       destination=destination.upper() if destination else None)
    return await service.list_cases(context, principal, where, limit, cursor)


@router.get("/cases/{case_id}", response_model=CaseOut, responses=problems(404), summary="A case and its people")
async def read_case(context: Context, principal: Reader, case_id: CaseId) -> CaseOut:
    return service.case_out(await service.own_case(context, principal, case_id))


@router.put("/cases/{case_id}", response_model=CaseOut, responses=problems(404, 409, 413),
            summary="Replace a case's details and people (people keep their person_id when sent)")
async def update_case(context: Context, principal: Writer, case_id: CaseId, body: CaseUpdate) -> CaseOut:
    return await service.update_case(context, principal, case_id, body)


@router.get("/cases/{case_id}/timeline", response_model=Timeline, responses=problems(404),
            summary="Every step of the departure: state, validity, deadline, blockers (never a diagnosis)")
async def read_timeline(context: Context, principal: Reader, case_id: CaseId) -> Timeline:
    return await service.read_timeline(context, principal, case_id)


router.include_router(departures)
