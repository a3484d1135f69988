"""/cases/{case_id}/departure: start it, defer it, cancel it, change its date. Included by the cases router."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from api.cases.responses import problems
from api.cases.schemas import OPAQUE_ID
from api.departures import service
from api.departures.schemas import CancelBody, DateChangeBody, DeferBody, Departure, DepartureStatus
from api.deps import Context, require
from api.limits import Bucket, rate_limited
from api.principal import Principal, Scope

router = APIRouter(tags=["departures"])

CaseId = Annotated[str, Path(pattern=OPAQUE_ID, examples=["case_8c1d0f3b2a9e4d71"])]
Coordinator = Annotated[Principal, Depends(require(Scope.DEPARTURES_WRITE))]
CHANGE = problems(404, 409, 413, 429, 503)


@router.post(
    "/cases/{case_id}/departure", response_model=Departure, status_code=status.HTTP_201_CREATED,
    responses={200: {"model": Departure, "description": "the departure was already started: the same one"},
               **problems(404, 429)},
    dependencies=[rate_limited(Bucket.DEPARTURES)],
    summary="Start the case's departure (idempotent: starting again returns the same departure)",
)
async def start_departure(context: Context, principal: Coordinator, case_id: CaseId, response: Response) -> Departure:
    departure, created = await service.start(context, principal, case_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return departure


@router.post("/cases/{case_id}/departure/defer", response_model=DepartureStatus, responses=CHANGE,
             dependencies=[rate_limited(Bucket.DEPARTURES)],
             summary="Defer the departure: no flight before `not_before`")
async def defer_departure(context: Context, principal: Coordinator, case_id: CaseId,
                          body: DeferBody) -> DepartureStatus:
    return await service.defer(context, principal, case_id, body.not_before, body.reason)


@router.post("/cases/{case_id}/departure/date", response_model=DepartureStatus, responses=CHANGE,
             dependencies=[rate_limited(Bucket.DEPARTURES)],
             summary="Change the departure date: the departure is replanned for a flight from that date")
async def change_departure_date(context: Context, principal: Coordinator, case_id: CaseId,
                                body: DateChangeBody) -> DepartureStatus:
    return await service.defer(context, principal, case_id, body.date, body.reason,
                               action="departure.date_changed", body_fields={"not_before": "date"})


@router.post("/cases/{case_id}/departure/cancel", response_model=DepartureStatus, responses=CHANGE,
             dependencies=[rate_limited(Bucket.DEPARTURES)],
             summary="Cancel the departure: bookings, seats and appointments are given back")
async def cancel_departure(context: Context, principal: Coordinator, case_id: CaseId,
                           body: CancelBody) -> DepartureStatus:
    return await service.cancel(context, principal, case_id, body.reason)
