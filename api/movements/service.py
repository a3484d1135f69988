"""A movement through Temporal: its state by query (and its flight from the run's input), who may see which part
of it, and the coordinator's boarding and the reception teams' arrival as the workflow's Updates. The delivery
status comes from the store, where the deliveries themselves record every try."""

from __future__ import annotations

import re
from collections.abc import Callable

from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.audit import service as audit
from api.context import ApiContext
from api.movements import repository
from api.movements.schemas import DeliveryView, MovementView, OrganisationView
from api.principal import Principal, Role
from api.problems import FieldError, ProblemError
from domain.documents import FlightLeg
from domain.movement import (
    ArrivalConfirmation,
    BoardingRecord,
    JoinMovement,
    MovementInput,
    MovementKind,
    MovementState,
    SpecialService,
    movement_workflow_id,
)
from domain.webhooks import Delivery
from workflows.movement import MovementWorkflow

FIELD_MESSAGE = re.compile(r"^(?P<field>[a-z_]+): (?P<message>.+)$", re.DOTALL)
RECORDED_BY_MAX = 64  # BoardingRecord.recorded_by, ArrivalConfirmation.confirmed_by
OFFICE_MEMO = "office_id"  # of a charter: the office that chartered it (an opaque id)

Handle = WorkflowHandle[MovementWorkflow, MovementState]


def not_found() -> ProblemError:
    return ProblemError(404, "no such movement for your organisation")


def refusal(message: str, body_fields: frozenset[str]) -> ProblemError:
    """The movement's validators say "field: message" about the input: a field of the request body is named
    (422). Any other message is about the movement's state, or about who the caller is (409)."""
    match = FIELD_MESSAGE.match(message)
    if match is None or match["field"] not in body_fields:
        return ProblemError(409, match["message"] if match else message)
    return ProblemError(422, "the movement refused the change",
                        errors=[FieldError(field=f"body.{match['field']}", message=match["message"])])


def _handle(context: ApiContext, movement_id: str) -> Handle:
    return context.temporal.get_workflow_handle_for(MovementWorkflow.run,  # type: ignore[arg-type]
                                                    movement_workflow_id(movement_id))


async def _state(handle: Handle) -> MovementState | None:
    try:
        return await handle.query(MovementWorkflow.get_state)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise


async def movement_input(context: ApiContext, handle: Handle) -> MovementInput | None:
    """The current run's input carries the flight (continue-as-new passes it on); the state does not."""
    async for event in handle.fetch_history_events(page_size=1):
        started = event.workflow_execution_started_event_attributes
        decoded = await context.temporal.data_converter.decode(started.input.payloads, [MovementInput])
        movement = decoded[0] if decoded else None
        return movement if isinstance(movement, MovementInput) else None
    return None


async def _flight(context: ApiContext, handle: Handle) -> FlightLeg | None:
    movement = await movement_input(context, handle)
    return movement.flight if movement else None


async def charter_office(handle: Handle) -> str | None:
    """Continue-as-new keeps the memo, so a charter stays its office's however long it runs."""
    office = (await (await handle.describe()).memo()).get(OFFICE_MEMO)
    return office if isinstance(office, str) else None


async def may_see(context: ApiContext, principal: Principal, handle: Handle, state: MovementState) -> bool:
    """An office with a family on the movement (now, or one that left or was refused), or that chartered it; a
    reception team that has or had travellers on it."""
    if principal.role is Role.COORDINATOR:
        cases = {*state.parties, *state.left, *(r.case_id for r in state.refused)}
        if await repository.office_runs_any(context, principal.org_id, cases):
            return True
        return state.kind is MovementKind.CHARTER and await charter_office(handle) == principal.org_id
    if principal.role is Role.RECEPTION_TEAM:
        return principal.org_id in state.manifests or any(
            p.organisation_id == principal.org_id for p in state.parties.values())
    return False


async def visible_state(context: ApiContext, principal: Principal, movement_id: str) -> tuple[Handle, MovementState]:
    """Access is decided before existence is told: an outsider gets the same 404 as for an unknown movement."""
    handle = _handle(context, movement_id)
    state = await _state(handle)
    if state is None or not await may_see(context, principal, handle, state):
        raise not_found()
    return handle, state


def _delivery(delivery: Delivery) -> DeliveryView:
    return DeliveryView(version=delivery.version, event=delivery.event, status=delivery.status,
                        attempts=delivery.attempts, failing_since=delivery.first_failure_at,
                        last_error=delivery.last_error, sent_at=delivery.sent_at,
                        acknowledged_at=delivery.acknowledged_at)


def _organisation(state: MovementState, organisation_id: str, deliveries: list[Delivery]) -> OrganisationView:
    parties = [p for p in state.parties.values() if p.organisation_id == organisation_id]
    manifest = state.manifests.get(organisation_id)
    views = [_delivery(d) for d in sorted(deliveries, key=lambda d: d.version)]
    return OrganisationView(
        organisation_id=organisation_id, families=len(parties), travellers=sum(len(p.person_ids) for p in parties),
        published_version=manifest.published_version if manifest else None,
        final=manifest.final if manifest else False,
        delivered_version=manifest.delivered_version if manifest else None,
        arrival_confirmed=organisation_id in state.confirmations,
        delivery=views[-1] if views else None, deliveries=views)


def _special_services(parties: list[JoinMovement]) -> dict[SpecialService, int]:
    counts: dict[SpecialService, int] = {}
    for party in parties:
        for ssr in party.special_service_requests:
            counts[ssr] = counts.get(ssr, 0) + 1
    return dict(sorted(counts.items()))


async def view(context: ApiContext, principal: Principal, movement_id: str, handle: Handle,
               state: MovementState) -> MovementView:
    coordinator = principal.role is Role.COORDINATOR
    own = None if coordinator else principal.org_id
    deliveries = await context.webhooks().deliveries(movement_id, own)
    organisations = sorted({*state.manifests, *(p.organisation_id for p in state.parties.values())})
    shown = organisations if own is None else [own]
    parties = [p for p in state.parties.values() if own is None or p.organisation_id == own]
    boarded = None
    if state.boarded is not None:
        on_board = set(state.boarded)
        boarded = sum(1 for p in parties for pid in p.person_ids if pid in on_board)
    return MovementView(
        movement_id=movement_id, kind=state.kind, phase=state.phase, flight=await _flight(context, handle),
        capacity=state.capacity if coordinator else None, seats_taken=state.seats_taken if coordinator else None,
        escorts=state.escorts if coordinator else None, special_services=_special_services(parties),
        families=len(parties), travellers=sum(len(p.person_ids) for p in parties), boarded=boarded,
        organisations=[_organisation(state, org, [d for d in deliveries if d.organisation_id == org])
                       for org in shown])


async def read(context: ApiContext, principal: Principal, movement_id: str) -> MovementView:
    handle, state = await visible_state(context, principal, movement_id)
    return await view(context, principal, movement_id, handle, state)


async def _update(handle: Handle, send: Callable[[Handle], object],
                  body_fields: frozenset[str] = frozenset()) -> MovementState:
    try:
        state = await send(handle)  # type: ignore[misc]
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError) and cause.type == "ValueError":  # a validator's rule
            raise refusal(cause.message, body_fields) from None
        # Anything else is not ours to quote: it could carry what the workflow holds.
        raise ProblemError(409, "the movement refused the change") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise ProblemError(503, "the movement did not answer in time; the change may still apply") from None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise ProblemError(409, "the movement has closed") from None
        raise
    assert isinstance(state, MovementState)
    return state


async def record_boarding(context: ApiContext, principal: Principal, movement_id: str,
                          boarded_person_ids: list[str]) -> MovementView:
    """Returns once the final manifests are published; their deliveries go on."""
    handle, _ = await visible_state(context, principal, movement_id)
    if principal.role is not Role.COORDINATOR:
        raise not_found()
    record = BoardingRecord(boarded_person_ids=boarded_person_ids, recorded_by=principal.subject[:RECORDED_BY_MAX])
    state = await _update(handle, lambda h: h.execute_update(MovementWorkflow.record_boarding, record),
                          frozenset({"boarded_person_ids"}))
    await audit.record(context, principal, "movement.boarding_recorded", "movement", movement_id,
                       boarded=str(len(boarded_person_ids)))
    return await view(context, principal, movement_id, handle, state)


async def confirm_arrival(context: ApiContext, principal: Principal, movement_id: str) -> MovementView:
    """For the caller's own organisation only: a team confirms the families it received, no one else's."""
    handle, _ = await visible_state(context, principal, movement_id)
    if principal.role is not Role.RECEPTION_TEAM:
        raise not_found()
    confirmation = ArrivalConfirmation(organisation_id=principal.org_id,
                                       confirmed_by=principal.subject[:RECORDED_BY_MAX])
    state = await _update(handle, lambda h: h.execute_update(MovementWorkflow.confirm_arrival, confirmation))
    await audit.record(context, principal, "movement.arrival_confirmed", "movement", movement_id,
                       key=f"movement.arrival_confirmed:{movement_id}:{principal.org_id}")
    return await view(context, principal, movement_id, handle, state)
