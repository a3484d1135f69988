"""The medical partner's work: what is due, results submitted as workflow Updates, and audited reads.

A result is applied once however often it is sent: its Update id is derived from its content and the step's
attempt, so Temporal answers a retry with the first outcome; a result the departure already holds is answered
from the store without asking the workflow again, or from the departure's own state when a retry overtakes the
store. Once Temporal has accepted an Update it is in the departure's history; a failure before that is a 503 the
clinic retries with the same content."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError, RPCStatusCode

from api.context import ApiContext
from api.medical import repository
from api.medical.schemas import MedicalFileView, MedicalStep, StepRecordView, WorklistItem
from api.principal import Principal
from api.problems import FieldError, ProblemError
from domain import validation
from domain.audit import AuditEvent
from domain.case import Case
from domain.departure import BookingStatus, DepartureState, departure_workflow_id
from domain.medical import AssessmentResult, FitnessResult, MedicalFile, ScreeningResult
from domain.policy import DestinationPolicy
from domain.steps import Step, StepRecord, step_key
from workflows.departure import DepartureWorkflow

MedicalResult = AssessmentResult | ScreeningResult | FitnessResult

ACCEPT_TIMEOUT = timedelta(seconds=10)  # one RPC: Temporal runs the validator and accepts or rejects
APPLY_TIMEOUT = 15.0  # seconds to wait for the accepted result to be applied and saved
RETRY_AFTER = "5"


@dataclass(frozen=True)
class Submission:
    """How one kind of result reaches the departure."""

    step: Step
    update: Callable[..., Awaitable[StepRecord]]
    validate: Callable[[DepartureState, Case, Any, DestinationPolicy, Any], None]
    # The validators' clock rules (not in the future, not expired) need the departure's own clock, which only
    # the workflow has; judged as of the result's own date, the pre-check applies every other rule.
    as_of: Callable[[Any], date | datetime]
    held: Callable[[MedicalFile], MedicalResult | None]


ASSESSMENT = Submission(Step.HEALTH_ASSESSMENT, DepartureWorkflow.submit_assessment, validation.validate_assessment,
                        lambda r: r.exam_date, lambda f: f.assessment)
SCREENING = Submission(Step.PRE_DEPARTURE_SCREENING, DepartureWorkflow.submit_screening,
                       validation.validate_screening, lambda r: r.screened_on, lambda f: f.screening)
FITNESS = Submission(Step.FITNESS_TO_TRAVEL, DepartureWorkflow.submit_fitness, validation.validate_fitness,
                     lambda r: r.checked_at, lambda f: f.fitness)


def not_found() -> ProblemError:
    # The same answer for an unknown case and another clinic's case: ids are not confirmed to outsiders.
    return ProblemError(404, "no such case or person for your organisation")


def unavailable(detail: str) -> ProblemError:
    return ProblemError(503, detail, headers={"Retry-After": RETRY_AFTER})


@asynccontextmanager
async def outage_is_unavailable() -> AsyncIterator[None]:
    """A database that cannot be reached is a reason to retry, not an internal error."""
    try:
        yield
    except (SQLAlchemyError, OSError) as error:
        raise unavailable("the store cannot be reached; retry the same request") from error


async def own_case(context: ApiContext, principal: Principal, case_id: str) -> Case:
    case = await context.store.load_case(case_id)
    if case is None or case.medical_partner_id != principal.org_id:
        raise not_found()
    return case


async def worklist(context: ApiContext, principal: Principal, step: MedicalStep | None,
                   limit: int) -> list[WorklistItem]:
    async with outage_is_unavailable():
        return await repository.worklist(context, principal.org_id, step, limit)


def content_digest(kind: Submission, result: MedicalResult) -> str:
    canonical = json.dumps(result.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{kind.step.value}|{result.person_id}|{canonical}".encode()).hexdigest()


def update_id(kind: Submission, result: MedicalResult, attempt: int) -> str:
    """The same result for the same attempt of a step is one Update, however often it is sent."""
    return f"{kind.step.value}:{attempt}:{content_digest(kind, result)}"


def rejection(message: str, result: MedicalResult) -> ProblemError:
    """A validator's "field: rule" becomes a 422 naming the body field; a rule about the departure, a 409."""
    field, separator, rule = message.partition(": ")
    if separator and field in type(result).model_fields:
        return ProblemError(422, "the result was not accepted",
                            errors=[FieldError(field=f"body.{field}", message=rule)])
    if "still starting" in message:
        return unavailable(message)
    return ProblemError(409, message)


def current_booking(bookings: list[Any]) -> Any:
    booked = [b for b in bookings if b.status is BookingStatus.BOOKED]
    return max(booked, key=lambda b: b.attempt).booking if booked else None


async def submit(context: ApiContext, principal: Principal, case_id: str, kind: Submission,
                 result: MedicalResult) -> StepRecordView:
    async with outage_is_unavailable():
        case = await own_case(context, principal, case_id)
        record = await _already_held(context, case_id, kind, result) or await _submit(context, case, kind, result)
        # Keyed by content, so a retry records nothing new, and a retry after a failed write records it then.
        await context.store.append_audit([AuditEvent(
            event_key=f"medical.result_submitted:{content_digest(kind, result)}", at=datetime.now(UTC),
            actor=principal.subject, action="medical.result_submitted", object_type="case", object_id=case_id,
            detail={"person_id": result.person_id, "step": kind.step.value, "attempt": str(record.attempt),
                    "organisation": principal.org_id},
        )])
    return StepRecordView.model_validate(record.model_dump())


async def _already_held(context: ApiContext, case_id: str, kind: Submission,
                        result: MedicalResult) -> StepRecord | None:
    """The step, if the departure already holds this very result: a retry is answered as the first time."""
    held = {f.person_id: f for f in await context.store.medical_files(case_id)}.get(result.person_id)
    if held is None or kind.held(held) != result:
        return None
    steps = {r.key: r for r in await context.store.step_records(case_id)}
    return steps.get(step_key(kind.step, result.person_id))


async def _submit(context: ApiContext, case: Case, kind: Submission, result: MedicalResult) -> StepRecord:
    case_id = case.case_id
    phase = await context.store.departure_phase(case_id)
    if phase is None:
        raise ProblemError(409, "the departure of this case has not started")
    steps = {r.key: r for r in await context.store.step_records(case_id)}
    state = DepartureState(case_id=case_id, phase=phase[0], steps=steps,
                           booking=current_booking(await context.store.bookings(case_id)))
    policy = context.settings.policy.for_country(case.destination.country)
    try:
        kind.validate(state, case, result, policy, kind.as_of(result))
    except ValueError as invalid:
        # The departure may have saved this very result between our reads, closing the step with it.
        if (applied := await _already_held(context, case_id, kind, result)) is not None:
            return applied
        raise rejection(str(invalid), result) from None
    attempt = steps[step_key(kind.step, result.person_id)].attempt
    return await apply_result(context, case_id, kind, result, update_id(kind, result, attempt))


async def apply_result(context: ApiContext, case_id: str, kind: Submission, result: MedicalResult,
                       update: str) -> StepRecord:
    """Sends the result as Update `update`; the step as the departure now holds it."""
    handle = context.temporal.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))
    accepted = False
    try:
        started = await handle.start_update(kind.update, result, id=update, rpc_timeout=ACCEPT_TIMEOUT,
                                            wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        accepted = True
        outcome: StepRecord = await asyncio.wait_for(started.result(), APPLY_TIMEOUT)
        return outcome
    except WorkflowUpdateFailedError as failed:
        if (applied := await _applied_already(handle, kind, result)) is not None:
            return applied
        cause = failed.cause
        raise rejection(getattr(cause, "message", None) or str(cause), result) from None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise ProblemError(409, "the departure of this case is not running") from None
        raise unavailable(_retry_advice(accepted)) from None
    except (RPCTimeoutOrCancelledError, TimeoutError):
        raise unavailable(_retry_advice(accepted)) from None


async def _applied_already(handle: WorkflowHandle[Any, DepartureState], kind: Submission,
                           result: MedicalResult) -> StepRecord | None:
    """The step a rejected result is already applied to. A retry racing the store's copy, or arriving after the
    departure continued as new (Update ids are remembered per run), is rejected as "not open"; the departure's
    own state tells whether that is because this very result closed the step."""
    try:
        state = await handle.query(DepartureWorkflow.get_state)
    except (RPCError, RPCTimeoutOrCancelledError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None
    held = state.medical.get(result.person_id)
    if held is None or kind.held(held) != result:
        return None
    return state.steps.get(step_key(kind.step, result.person_id))


def _retry_advice(accepted: bool) -> str:
    if accepted:
        # In the departure's history now; the same content again returns the outcome once it is applied.
        return "the result was accepted and is being recorded; send the same result again to see it"
    return "the departure could not be reached; send the same result again"


async def medical_file(context: ApiContext, principal: Principal, case_id: str, person_id: str) -> MedicalFileView:
    if not principal.sees_medical_details:
        raise ProblemError(403, "medical files are for medical roles only")
    async with outage_is_unavailable():
        case = await own_case(context, principal, case_id)
        if case.person(person_id) is None:
            raise not_found()
        files = {f.person_id: f for f in await context.store.medical_files(case_id)}
        found = files.get(person_id) or MedicalFile(person_id=person_id)
        # Audited before it is shown: a read that cannot be recorded is not served.
        await context.store.append_audit([AuditEvent(
            event_key=f"medical.read:{uuid.uuid4().hex}", at=datetime.now(UTC), actor=principal.subject,
            action="medical.read", object_type="person", object_id=person_id,
            detail={"case_id": case_id, "organisation": principal.org_id},
        )])
    return MedicalFileView.model_validate(found.model_dump())
