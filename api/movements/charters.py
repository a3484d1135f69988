"""Charters: a coordinator charters a flight (a MovementWorkflow of kind charter, with the aircraft's seats), asks
which of its office's ready families should go on it, and accepts that proposal or an edited one. Every rule is
checked before anything changes; an accepted family joins the movement as a departure joins its flight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.audit import service as audit
from api.context import ApiContext
from api.movements import repository, service
from api.movements.charter_schemas import AllocationView, CharterBody, NotTaken, ProposalView
from api.movements.schemas import MovementView
from api.principal import Principal
from api.problems import FieldError, ProblemError
from domain.departure import departure_workflow_id
from domain.documents import FlightLeg, movement_id
from domain.movement import (
    JOIN_SIGNAL,
    CharterAssignment,
    MovementInput,
    MovementKind,
    MovementState,
    movement_workflow_id,
)
from domain.planning import (
    Charter,
    CharterSelection,
    NoticeRules,
    PlanningError,
    propose,
    validate_charter,
    validate_selection,
)
from workflows.departure import DepartureWorkflow
from workflows.movement import MovementWorkflow

OFFICE_MEMO = service.OFFICE_MEMO
# PlanningError names its fields as planning does; the request body names some of them otherwise.
BODY_FIELDS = {"departs_on": "departs_at", "arrives_on": "arrives_at"}
PLANNED_AHEAD = timedelta(days=730)  # no charter is planned further out than this
LONGEST_FLIGHT = timedelta(days=2)  # stopovers included


def invalid(error: PlanningError, fields: dict[str, str] | None = None) -> ProblemError:
    field = (fields or BODY_FIELDS).get(error.field, error.field)
    return ProblemError(422, "the charter plan breaks a planning rule",
                        errors=[FieldError(field=f"body.{field}", message=error.message)])


def _today() -> date:
    return datetime.now(UTC).date()


async def create(context: ApiContext, principal: Principal, body: CharterBody) -> MovementView:
    try:
        validate_charter(body.seats, body.departs_at.date(), body.arrives_at.date(), _today())
        if body.departs_at.date() > _today() + PLANNED_AHEAD:
            raise PlanningError("departs_on", f"is more than {PLANNED_AHEAD.days} days ahead")
        if not body.departs_at < body.arrives_at <= body.departs_at + LONGEST_FLIGHT:
            raise PlanningError("arrives_on", f"must be after the departure and within {LONGEST_FLIGHT.days} days")
    except PlanningError as error:
        raise invalid(error) from None
    flight = FlightLeg(flight_number=body.flight_number.upper(), origin=body.origin,
                       destination=body.destination_city, departs_at=body.departs_at.astimezone(UTC),
                       arrives_at=body.arrives_at.astimezone(UTC))
    country = body.destination_country.upper()
    movement = movement_id(flight.flight_number, flight.departs_at.date())
    start = MovementInput.under_policy(context.settings.policy.for_country(country), movement_id=movement,
                                       flight=flight, kind=MovementKind.CHARTER, capacity=body.seats,
                                       destination_country=country)
    try:
        await context.temporal.start_workflow(
            MovementWorkflow.run, start, id=movement_workflow_id(movement),
            task_queue=context.settings.temporal.task_queue, memo={OFFICE_MEMO: principal.org_id},
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        raise ProblemError(409, "that flight already has a movement on that day") from None
    await audit.record(context, principal, "charter.created", "movement", movement,
                       key=f"charter.created:{movement}", seats=str(body.seats))
    return await service.read(context, principal, movement)


async def _charter(context: ApiContext, principal: Principal, movement: str) -> tuple[Charter, MovementState]:
    """The charter as planning sees it; only the office that chartered it plans it."""
    handle, state = await service.visible_state(context, principal, movement)
    if state.kind is not MovementKind.CHARTER or await service.charter_office(handle) != principal.org_id:
        raise service.not_found()
    start = await service.movement_input(context, handle)
    if start is None or state.capacity is None:
        raise service.not_found()
    charter = Charter(flight_number=start.flight.flight_number, departs_on=start.flight.departs_at.date(),
                      arrives_on=start.flight.arrives_at.date(), destination_country=start.destination_country,
                      seats=state.capacity, seats_taken=min(state.seats_taken, state.capacity),
                      on_board=list(state.parties))
    return charter, state


async def proposal(context: ApiContext, principal: Principal, movement: str) -> ProposalView:
    charter, _ = await _charter(context, principal, movement)
    waiting = await repository.ready_cases(context, principal.org_id)
    try:
        planned = propose([charter], [w.ready for w in waiting], _today(),
                          NoticeRules(policies=context.settings.policy))
    except PlanningError as error:
        raise ProblemError(409, f"the charter cannot be planned: {error.message}") from None
    [plan] = planned.charters
    return ProposalView(movement_id=movement, seats=plan.seats, seats_taken=plan.seats_taken,
                        case_ids=plan.case_ids, seats_proposed=plan.seats_proposed, left_out=planned.left_out)


async def allocate(context: ApiContext, principal: Principal, movement: str, case_ids: list[str]) -> AllocationView:
    """Checked whole by the planning rules before any family is sent: one family that is not ready or does not
    fit refuses them all (422). Then each family's departure is told its charter, and its own rules decide: a
    departure whose state moved on since (booked elsewhere, deferred, cancelled) says why it did not take it, and
    the families that did keep their seats. Nothing was taken at all: 409, with each family's reason."""
    charter, state = await _charter(context, principal, movement)
    # Families on board already were allocated before (an allocation sent again): they stay as they are.
    fresh = [case_id for case_id in case_ids if case_id not in state.parties]
    waiting = {w.ready.case_id: w for w in await repository.ready_cases(context, principal.org_id)}
    selection = [CharterSelection(movement_id=movement, case_ids=fresh)]
    try:
        validate_selection(selection, [charter], [w.ready for w in waiting.values()], _today(),
                           NoticeRules(policies=context.settings.policy))
    except PlanningError as error:
        raise invalid(error, {f"charters.0.case_ids.{j}": f"case_ids.{case_ids.index(case_id)}"
                              for j, case_id in enumerate(fresh)} | {"charters.0.case_ids": "case_ids"}) from None
    start = await service.movement_input(context, context.temporal.get_workflow_handle(movement_workflow_id(movement)))
    assert start is not None  # _charter found it
    assignment = CharterAssignment(movement_id=movement, flight=start.flight,
                                   destination_country=start.destination_country, assigned_by=principal.subject)
    handle = context.temporal.get_workflow_handle(movement_workflow_id(movement))
    accepted: list[str] = []
    refused: list[NotTaken] = []
    for case_id in case_ids:
        if case_id not in fresh:
            accepted.append(case_id)
            continue
        reason = await _assign(context, case_id, assignment)
        if reason is not None:
            refused.append(NotTaken(case_id=case_id, reason=reason))
            continue
        # The seats are the family's from now on; its departure joins again, the same, once it has booked them.
        # A join repeated (an allocation sent again) changes nothing on the movement.
        await handle.signal(JOIN_SIGNAL, waiting[case_id].party)
        accepted.append(case_id)
        await audit.record(context, principal, "charter.allocated", "case", case_id,
                           key=f"charter.allocated:{movement}:{case_id}", movement=movement)
    if not accepted:
        raise ProblemError(409, "no family could be put on the charter", errors=[
            FieldError(field=f"body.case_ids.{case_ids.index(n.case_id)}", message=f"case {n.case_id}: {n.reason}")
            for n in refused])
    return AllocationView(movement_id=movement, accepted=accepted, refused=refused)


async def _assign(context: ApiContext, case_id: str, assignment: CharterAssignment) -> str | None:
    """Why the family's departure did not take the charter, or None once it has."""
    departure = context.temporal.get_workflow_handle(departure_workflow_id(case_id))
    try:
        await departure.execute_update(DepartureWorkflow.assign_charter, assignment)
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError) and cause.type == "ValueError":  # the departure's own rule
            return cause.message
        return "the departure refused the charter"  # anything else is not ours to quote
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        return "the departure did not answer in time; ask again, it takes the same charter only once"
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return "its departure is not running"
        raise
    return None
