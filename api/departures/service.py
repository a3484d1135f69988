"""A case's departure through Temporal: start it (idempotently), and defer, cancel or re-date it with the
workflow's Updates. Domain rules are checked here first where the store knows enough, and the workflow checks
them again, so a change is refused the same way whichever sees it first."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.audit import service as audit
from api.cases import repository
from api.cases.service import blockers, next_deadline, not_found, own_case
from api.context import ApiContext
from api.departures.schemas import DeferralView, Departure, DepartureStatus
from api.principal import Principal
from api.problems import FieldError, ProblemError
from domain import validation
from domain.departure import (
    TERMINAL_PHASES,
    CancelRequest,
    DeferRequest,
    DepartureInput,
    DepartureState,
    Phase,
    departure_workflow_id,
)
from workflows.departure import DepartureWorkflow

FIELD_MESSAGE = re.compile(r"^(?P<field>[a-z_]+): (?P<message>.+)$", re.DOTALL)
REQUESTED_BY_MAX = 64  # DeferRequest.requested_by


def refusal(message: str, body_fields: dict[str, str]) -> ProblemError:
    """Domain validators say "field: message"; that field is named as the request body calls it (422). A
    message naming no field is about the departure's state, not the input (409)."""
    match = FIELD_MESSAGE.match(message)
    if match is None:
        return ProblemError(409, message)
    field = body_fields.get(match["field"], match["field"])
    return ProblemError(422, "the departure refused the change",
                        errors=[FieldError(field=f"body.{field}", message=match["message"])])


def _handle(context: ApiContext, case_id: str) -> WorkflowHandle[DepartureWorkflow, DepartureState]:
    return context.temporal.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))


async def _first_run_id(handle: WorkflowHandle[DepartureWorkflow, DepartureState]) -> str | None:
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:  # past the namespace's retention
            return None
        raise
    info = description.raw_description.workflow_execution_info
    return info.first_run_id or description.run_id


async def start(context: ApiContext, principal: Principal, case_id: str) -> tuple[Departure, bool]:
    """(the departure, whether this call started it). A case has one departure for good: starting again returns
    it, and a closed departure is never started anew under the same id."""
    stored = await own_case(context, principal, case_id)
    workflow_id = departure_workflow_id(case_id)
    handle = _handle(context, case_id)
    if stored.phase is not None:
        return Departure(case_id=case_id, workflow_id=workflow_id, run_id=await _first_run_id(handle),
                         phase=stored.phase), False
    departure = DepartureInput(case_id=case_id, clinic_id=stored.case.medical_partner_id,
                               policy=context.settings.policy.for_country(stored.case.destination.country))
    try:
        started = await context.temporal.start_workflow(
            DepartureWorkflow.run, departure, id=workflow_id, task_queue=context.settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        created, run_id = True, started.first_execution_run_id or started.result_run_id
    except WorkflowAlreadyStartedError as already:
        created, run_id = False, already.first_run_id or await _first_run_id(handle)
    # Keyed by case: a start retried after a lost response, or raced by a colleague, records one event.
    await audit.record(context, principal, "departure.started", "case", case_id, key=f"departure.started:{case_id}",
                       workflow_id=workflow_id, run_id=run_id or "")
    return Departure(case_id=case_id, workflow_id=workflow_id, run_id=run_id, phase=Phase.PREPARING), created


async def _running_phase(context: ApiContext, principal: Principal, case_id: str) -> Phase | None:
    allowed, phase = await repository.office_phase(context, principal.org_id, case_id)
    if not allowed:
        raise not_found()
    if phase in TERMINAL_PHASES:
        raise ProblemError(409, f"the departure is already {phase.value}")
    return phase


async def _update(context: ApiContext, case_id: str, phase: Phase | None,
                  send: Callable[[WorkflowHandle[DepartureWorkflow, DepartureState]], object],
                  body_fields: dict[str, str]) -> DepartureState:
    try:
        state = await send(_handle(context, case_id))  # type: ignore[misc]
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError) and cause.type == "ValueError":  # a validator's domain rule
            raise refusal(cause.message, body_fields) from None
        # Anything else is not ours to quote: it could carry what the workflow holds.
        raise ProblemError(409, "the departure refused the change") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise ProblemError(503, "the departure did not answer in time; the change may still apply") from None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            detail = "no departure has been started for this case" if phase is None else "the departure has ended"
            raise ProblemError(409, detail) from None
        raise
    assert isinstance(state, DepartureState)
    return state


def status(state: DepartureState) -> DepartureStatus:
    steps = list(state.steps.values())
    return DepartureStatus(
        case_id=state.case_id, phase=state.phase, reason=state.reason, not_before=state.not_before,
        deferrals=[DeferralView.model_validate(d.model_dump()) for d in state.deferrals],
        blockers=blockers(steps), next_deadline=next_deadline(steps),
    )


def _precheck(check: Callable[[], None], body_fields: dict[str, str]) -> None:
    try:
        check()
    except ValueError as invalid:
        raise refusal(str(invalid), body_fields) from None


async def defer(context: ApiContext, principal: Principal, case_id: str, not_before: date,
                reason: str, *, action: str = "departure.deferred",
                body_fields: dict[str, str] | None = None) -> DepartureStatus:
    """Deferring to a date and changing the date are the same Update; only the audit and the field names differ."""
    fields = body_fields or {}
    phase = await _running_phase(context, principal, case_id)
    request = DeferRequest(not_before=not_before, reason=reason, requested_by=principal.subject[:REQUESTED_BY_MAX])
    known = DepartureState(case_id=case_id, phase=phase or Phase.PREPARING)
    _precheck(lambda: validation.validate_deferral(known, request, datetime.now(UTC).date()), fields)
    state = await _update(context, case_id, phase,
                          lambda handle: handle.execute_update(DepartureWorkflow.defer, request), fields)
    await audit.record(context, principal, action, "case", case_id, not_before=request.not_before.isoformat())
    return status(state)


async def cancel(context: ApiContext, principal: Principal, case_id: str, reason: str) -> DepartureStatus:
    phase = await _running_phase(context, principal, case_id)
    request = CancelRequest(reason=reason, requested_by=principal.subject[:REQUESTED_BY_MAX])
    state = await _update(context, case_id, phase,
                          lambda handle: handle.execute_update(DepartureWorkflow.cancel, request), {})
    await audit.record(context, principal, "departure.cancelled", "case", case_id)
    return status(state)
