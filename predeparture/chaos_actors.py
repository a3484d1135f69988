"""The clinic and the watch of a chaos run, played by the chaos process: every round it looks at each open departure
and files the medical results due, writing down each one the departure accepted, to look for it in the store
afterwards. Also how the run's actors make an Update stick while workers die and the server restarts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from domain.departure import DepartureState, Phase
from domain.medical import AssessmentResult, FitnessResult
from domain.steps import StepRecord, StepState
from predeparture.clinic import ClinicPlayer, MedicalResult
from predeparture.demo import waits_beyond
from workflows.departure import DepartureWorkflow

log = logging.getLogger(__name__)

CALL_TIMEOUT_SECONDS = 8.0
CONCURRENT_CALLS = 24
STUCK_AFTER_ATTEMPTS = 3
Departure = WorkflowHandle[DepartureWorkflow, DepartureState]
_ENDED = frozenset({RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION})


@dataclass(frozen=True)
class AcceptedResult:
    """A medical result whose Update returned: the departure says it has it."""

    case_id: str
    step_key: str
    attempt: int
    kind: str  # assessment, screening, fitness
    result: MedicalResult


def result_kind(result: MedicalResult) -> str:
    if isinstance(result, AssessmentResult):
        return "assessment"
    return "fitness" if isinstance(result, FitnessResult) else "screening"


async def settle_call(make: Callable[[], Awaitable[Any]], give_up: asyncio.Event | None = None) -> tuple[str, Any]:
    """An Update under chaos: asked again (same update id) until the departure or movement answers for good.
    Returns ("done", result), ("rejected", error) when its validator said no, or ("closed", None) when the workflow
    had ended, so whether an earlier try got through is told by its result, not here."""
    while True:
        try:
            return "done", await asyncio.wait_for(make(), CALL_TIMEOUT_SECONDS)
        except WorkflowUpdateFailedError as refused:
            return "rejected", refused
        except RPCError as error:
            if error.status in _ENDED:
                return "closed", None
            log.debug("update not answered yet: %s", error.status)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            # An Update cut short by our timeout says so with its own error, not TimeoutError.
            log.debug("update not answered within %.0f s; asking again", CALL_TIMEOUT_SECONDS)
        if give_up is not None and give_up.is_set():
            return "closed", None
        await asyncio.sleep(1.0)


class Watch:
    """Looks at every open departure once a round, and plays its clinic while there."""

    def __init__(self, handles: dict[str, Departure], clinic_of: Callable[[Callable[..., None]], ClinicPlayer]) -> None:
        self.handles = handles
        self.states: dict[str, DepartureState] = {}
        self.accepted: list[AcceptedResult] = []
        self.stuck: set[str] = set()
        self._case_of = {handle.id: case_id for case_id, handle in handles.items()}
        self._clinic = clinic_of(self._accepted)
        self._limit = asyncio.Semaphore(CONCURRENT_CALLS)

    def _accepted(self, workflow_id: str, saved: StepRecord, result: MedicalResult) -> None:
        self.accepted.append(AcceptedResult(self._case_of[workflow_id], saved.key, saved.attempt,
                                            result_kind(result), result))

    @property
    def settled(self) -> set[str]:
        return {case_id for case_id, state in self.states.items() if state.is_terminal}

    def given_up(self, run_ends: datetime) -> set[str]:
        """Departures the run no longer waits for: stuck (their workflow task keeps failing), or whose next move
        comes after `run_ends` (replanned for another day when a result came after its deadline). The checks
        report them as not ended."""
        return self.stuck | {case_id for case_id, state in self.states.items()
                             if not state.is_terminal and waits_beyond(state, run_ends)}

    async def find_stuck(self) -> None:
        """A workflow task that fails again and again (a nondeterminism error, say) never ends by itself. One that
        timed out a few times (a worker killed, a busy machine) is not stuck."""
        async def look(case_id: str) -> None:
            async with self._limit:
                with contextlib.suppress(RPCError, TimeoutError):
                    if await asyncio.wait_for(_task_failing(self.handles[case_id]), CALL_TIMEOUT_SECONDS):
                        log.warning("departure %s: its workflow task keeps failing", case_id)
                        self.stuck.add(case_id)

        await asyncio.gather(*(look(c) for c in self.handles if c not in self.settled | self.stuck))

    def progress(self) -> float:
        """Share of the run done: steps done per departure, a settled departure counting whole."""
        total = 0.0
        for case_id in self.handles:
            state = self.states.get(case_id)
            if state is None:
                continue
            if state.is_terminal:
                total += 1
            elif state.steps:
                done = sum(r.state in (StepState.DONE, StepState.NOT_REQUIRED) for r in state.steps.values())
                total += done / (len(state.steps) + 1)  # + the flight itself
        return total / max(len(self.handles), 1)

    async def round(self) -> None:
        """Departures holding a flight first: their fitness checks must be in before it leaves."""
        open_ones = [case_id for case_id in self.handles if case_id not in self.settled | self.stuck]
        open_ones.sort(key=lambda case_id: self._urgency(self.states.get(case_id)))
        await asyncio.gather(*(self._look(case_id) for case_id in open_ones))

    @staticmethod
    def _urgency(state: DepartureState | None) -> int:
        if state is None:
            return 2
        return 0 if state.phase in (Phase.AWAITING_FLIGHT, Phase.BOOKING) else 1

    async def _look(self, case_id: str) -> None:
        handle = self.handles[case_id]
        async with self._limit:
            try:
                self.states[case_id] = await asyncio.wait_for(self._clinic.attend(handle), CALL_TIMEOUT_SECONDS)
            except WorkflowUpdateFailedError as refused:
                log.debug("result for %s not taken: %s", case_id, refused.cause)
            except WorkflowQueryFailedError as failed:
                # The worker could not answer: a departure that has ended still tells its result.
                log.warning("departure %s did not answer its query: %s", case_id, failed)
                with contextlib.suppress(RPCError, TimeoutError):
                    if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
                        self.states[case_id] = await asyncio.wait_for(handle.result(), CALL_TIMEOUT_SECONDS)
            except (RPCError, TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
                log.debug("departure %s not reachable this round: %s", case_id, type(error).__name__)


async def _task_failing(handle: Departure) -> bool:
    """Retried several times, and the last attempt written down failed (timeouts are not written as failures)."""
    if (await handle.describe()).raw_description.pending_workflow_task.attempt < STUCK_AFTER_ATTEMPTS:
        return False
    failed = False
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failed = True
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            failed = False
    return failed

