"""What every part of a departure's orchestration shares: state, time, activity calls and persistence."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.partners import PARTNER_REJECTED
    from activities.store import StoreActivities
    from domain.audit import AuditEvent
    from domain.case import Case
    from domain.departure import BookingRecord, DepartureState, Phase, ProgressUpdate
    from domain.policy import DestinationPolicy
    from domain.steps import StepRecord, StepState
    from domain.windows import earliest_departure

T = TypeVar("T")

# Infrastructure failures retry for as long as it takes; business rejections are non-retryable at the source.
PARTNER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                            maximum_interval=timedelta(minutes=10))
# A call lost with its worker (killed, restarted) is retried once this passes, so it is kept short: partner calls
# answer in seconds, and a partner that needs longer answers later by callback or when polled.
CALL_TIMEOUT = timedelta(seconds=30)
# A departure's calls do not heartbeat, so a cancellation request could never reach one: when a step stops (the
# permit refused, the departure cancelled) the workflow stops waiting and asks nothing of the server. Asking anyway
# met a time-skipping test server bug (temporalio/sdk-java#2391): a call completing in the same task as the request
# made the server refuse the task, and the departure stalled for good.
ABANDON_STOPPED_CALLS_PATCH = "abandon-stopped-calls"
# A call whose result arrives together with the stop of its step can hand back the result and drop the stop (the
# SDK's choice, on some paths): the step then ran on, and in the chaos run a departure cancelled while cleared to
# board flew instead. A call made within a stopping attempt now ends the step itself.
STOP_AFTER_COMPLETED_CALL_PATCH = "stop-after-completed-call"
# A stopped step leaves its timer to run out rather than cancel it. A cancellation names a timer the server must
# still hold, and one that fired while the task was with the worker is gone from the time-skipping test server,
# which then refuses the task for good ("invalid history builder state for action", temporalio/sdk-java#2606; the
# real server takes it). A refused permit stops sibling steps whose daily polls fall due together, so the test
# stalled about one run in twelve under load. A timer left behind costs one empty wakeup, or nothing once the
# departure has ended.
LEAVE_STOPPED_TIMERS_PATCH = "leave-stopped-timers"
# True inside a departure's attempt and the tasks it starts (they inherit it), never in a handler's own calls.
IN_ATTEMPT: ContextVar[bool] = ContextVar("in_attempt", default=False)


class DepartureRefused(Exception):
    """A partner's final no (exit permit, travel document): the departure cannot go on."""


def rejection_code(error: ActivityError) -> str | None:
    """The partner's business reason code if the activity failed with a rejection, else None."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == PARTNER_REJECTED and cause.details:
        return str(cause.details[0])
    return None


def next_attempt(record: StepRecord) -> int:
    """A step's first try is attempt 1; every redo gets a new number, hence new idempotency keys."""
    return record.attempt if record.state is StepState.NOT_STARTED else record.attempt + 1


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class DepartureBase:
    state: DepartureState
    case: Case
    policy: DestinationPolicy
    clinic_id: str

    def __init__(self) -> None:
        self._in_flight = 0
        self._stopping_attempt = False

    # -- time ------------------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return workflow.now()

    def today(self) -> date:
        return workflow.now().date()

    def earliest(self) -> date:
        """The first date the family could fly: the reception team's notice, and any coordinator's deferral."""
        notice = earliest_departure(self.today(), self.policy)
        return max(notice, self.state.not_before) if self.state.not_before else notice

    async def sleep(self, delay: timedelta) -> None:
        await self._timed_wait(delay.total_seconds(), None)

    async def sleep_until(self, moment: datetime) -> None:
        delay = (moment - self.now()).total_seconds()
        if delay > 0:
            await self._timed_wait(delay, None)

    async def wait_until(self, condition: Callable[[], bool], deadline: datetime | None) -> bool:
        """Wait for `condition`; False if the deadline passes first."""
        if deadline is None:
            await workflow.wait_condition(condition)
            return True
        remaining = (deadline - self.now()).total_seconds()
        if remaining <= 0:
            return condition()
        return await self._timed_wait(remaining, condition)

    async def _timed_wait(self, seconds: float, condition: Callable[[], bool] | None) -> bool:
        """Wait `seconds`, or until `condition` holds (then True). Stopped, the wait leaves its timer running."""
        if not workflow.patched(LEAVE_STOPPED_TIMERS_PATCH):
            if condition is None:
                await workflow.sleep(seconds)
                return False
            try:
                await workflow.wait_condition(condition, timeout=seconds)
                return True
            except TimeoutError:
                return condition()
        timer = asyncio.ensure_future(workflow.sleep(seconds))
        await workflow.wait_condition(lambda: timer.done() or (condition is not None and condition()))
        if condition is None or not condition():
            return False
        timer.cancel()  # a no-op if it has fired
        return True

    # -- activities ------------------------------------------------------------------------------------------
    async def call(self, activity: Callable[..., Awaitable[T]], arg: Any, timeout: timedelta = CALL_TIMEOUT) -> T:
        cancellation = (ActivityCancellationType.ABANDON if workflow.patched(ABANDON_STOPPED_CALLS_PATCH)
                        else ActivityCancellationType.TRY_CANCEL)
        self._in_flight += 1
        try:
            result = await workflow.execute_activity_method(
                activity, arg, start_to_close_timeout=timeout, retry_policy=PARTNER_RETRY,
                cancellation_type=cancellation,
            )
        finally:
            self._in_flight -= 1
        if self._stopping_attempt and IN_ATTEMPT.get() and workflow.patched(STOP_AFTER_COMPLETED_CALL_PATCH):
            raise asyncio.CancelledError("the step was stopped as its call completed")
        return result

    # -- state and persistence -------------------------------------------------------------------------------
    def record(self, key: str) -> StepRecord:
        return self.state.steps[key]

    def update_step(self, key: str, **changes: Any) -> StepRecord:
        updated = self.state.steps[key].model_copy(update={**changes, "updated_at": self.now()})
        self.state.steps[key] = updated
        return updated

    def audit_event(self, action: str, object_type: str, object_id: str, **detail: str) -> AuditEvent:
        self.state.events_recorded += 1
        return AuditEvent(
            event_key=f"{self.state.case_id}:{self.state.events_recorded}",
            at=self.now(),
            actor="system:departure-workflow",
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
        )

    async def save(
        self,
        *keys: str,
        action: str | None = None,
        medical_for: str | None = None,
        bookings: list[BookingRecord] | None = None,
        events: list[AuditEvent] | None = None,
    ) -> None:
        """Persist what changed, with one audit event per changed step. Idempotent, so retries are harmless."""
        audit = list(events or [])
        for key in keys:
            rec = self.record(key)
            detail = {"step": key, "state": rec.state.value, "attempt": str(rec.attempt)}
            audit.append(self.audit_event(action or f"step.{rec.state.value}", "case", self.state.case_id, **detail))
        update = ProgressUpdate(
            case_id=self.state.case_id,
            phase=self.state.phase,
            reason=self.state.reason,
            steps=[self.record(k) for k in keys],
            medical=[self.state.medical[medical_for]] if medical_for in self.state.medical else [],
            bookings=bookings or [],
            audit=audit,
            sequence=self.state.events_recorded,
        )
        await self.call(StoreActivities.save_progress, update)

    async def save_everything(self, action: str, **detail: str) -> None:
        update = ProgressUpdate(
            case_id=self.state.case_id,
            phase=self.state.phase,
            reason=self.state.reason,
            steps=list(self.state.steps.values()),
            medical=list(self.state.medical.values()),
            audit=[self.audit_event(action, "case", self.state.case_id, phase=self.state.phase.value, **detail)],
            sequence=self.state.events_recorded,
        )
        await self.call(StoreActivities.save_progress, update)

    def set_phase(self, phase: Phase, reason: str | None = None) -> None:
        self.state.phase = phase
        self.state.reason = reason
