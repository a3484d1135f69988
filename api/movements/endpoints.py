"""/movements/{movement_id}: the flight's state for coordinators and reception teams, boarding and arrival;
/reception/webhook, where a reception team says where its manifests go; /charters, a coordinator's own flights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from api.cases.responses import problems
from api.deps import Context, require
from api.documents.endpoints import require_any
from api.documents.schemas import MOVEMENT_ID
from api.limits import Bucket, rate_limited
from api.movements import charters, service, webhooks
from api.movements.charter_schemas import (
    AllocationBody,
    AllocationView,
    CharterBody,
    ProposalView,
)
from api.movements.schemas import BoardingBody, MovementView, WebhookBody, WebhookView
from api.principal import Principal, Scope

router = APIRouter(tags=["movements"])

MovementId = Annotated[str, Path(pattern=MOVEMENT_ID, description="one flight on one day",
                                 examples=["mov_3e9b0c2d4f6a8b1c"])]
Watcher = Annotated[Principal, Depends(require_any(Scope.CASES_READ, Scope.ARRIVALS_READ))]
Coordinator = Annotated[Principal, Depends(require(Scope.DEPARTURES_WRITE))]
ReceptionTeam = Annotated[Principal, Depends(require(Scope.ARRIVALS_READ))]
CHANGE = problems(404, 409, 413, 429, 503)


@router.get("/movements/{movement_id}", response_model=MovementView, responses=problems(404, 429),
            dependencies=[rate_limited(Bucket.MANIFEST)],
            summary="The movement: phase, seats, escorts, special service requests and each team's manifest "
                    "delivery (a reception team sees its own part only)")
async def read_movement(context: Context, principal: Watcher, movement_id: MovementId) -> MovementView:
    return await service.read(context, principal, movement_id)


@router.post("/movements/{movement_id}/boarding", response_model=MovementView, responses=CHANGE,
             dependencies=[rate_limited(Bucket.DEPARTURES)],
             summary="Record who boarded, once the flight has departed: each team gets its final manifest")
async def record_boarding(context: Context, principal: Coordinator, movement_id: MovementId,
                          body: BoardingBody) -> MovementView:
    return await service.record_boarding(context, principal, movement_id, body.boarded_person_ids)


@router.post("/movements/{movement_id}/arrival", response_model=MovementView, responses=CHANGE,
             dependencies=[rate_limited(Bucket.DEPARTURES)],
             summary="Confirm your organisation's families arrived; the last team on board to confirm closes it")
async def confirm_arrival(context: Context, principal: ReceptionTeam, movement_id: MovementId) -> MovementView:
    return await service.confirm_arrival(context, principal, movement_id)


@router.get("/reception/webhook", response_model=WebhookView, responses=problems(),
            summary="Where your organisation's manifests are posted, and whether a signing secret is set")
async def read_webhook(context: Context, principal: ReceptionTeam) -> WebhookView:
    return await webhooks.read(context, principal)


@router.put("/reception/webhook", response_model=WebhookView, responses=problems(413),
            summary="Set where your organisation's manifests are posted (https) and the secret they are signed "
                    "with (at least 32 characters; never shown again)")
async def replace_webhook(context: Context, principal: ReceptionTeam, body: WebhookBody) -> WebhookView:
    return await webhooks.replace(context, principal, body)


@router.post("/charters", response_model=MovementView, status_code=status.HTTP_201_CREATED, responses=CHANGE,
             dependencies=[rate_limited(Bucket.DEPARTURES)],
             summary="Charter a flight: a movement of kind charter with the aircraft's seats (409 if that flight "
                     "already has one that day)")
async def create_charter(context: Context, principal: Coordinator, body: CharterBody) -> MovementView:
    return await charters.create(context, principal, body)


@router.post("/charters/{movement_id}/proposal", response_model=ProposalView, responses=CHANGE,
             dependencies=[rate_limited(Bucket.CASE_LIST)],
             summary="Which of your office's ready families to put on the charter, and why each other one stays")
async def propose_charter(context: Context, principal: Coordinator, movement_id: MovementId) -> ProposalView:
    return await charters.proposal(context, principal, movement_id)


@router.post("/charters/{movement_id}/allocation", response_model=AllocationView, responses=CHANGE,
             dependencies=[rate_limited(Bucket.DEPARTURES)],
             summary="Put these families on the charter (the proposal, edited or not); checked whole first, so a "
                     "refusal changes nothing")
async def allocate_charter(context: Context, principal: Coordinator, movement_id: MovementId,
                           body: AllocationBody) -> AllocationView:
    return await charters.allocate(context, principal, movement_id, body.case_ids)
