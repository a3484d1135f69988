"""Plays the medical partner's clinicians for demos, benchmarks and end-to-end tests: it looks at a departure,
and answers every medical step that is waiting for a result, as a clinic would after the appointment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.departure import DepartureState
from domain.medical import AssessmentResult, FitnessResult, ScreeningResult
from domain.steps import Step, StepRecord, StepState
from partners.simulators.clinician import SimulatedClinician
from workflows.departure import DepartureWorkflow

MedicalResult = AssessmentResult | ScreeningResult | FitnessResult
# (workflow id, the step as the departure saved it, the result): called once the departure's Update returned.
Accepted = Callable[[str, StepRecord, MedicalResult], None]


def waiting_for_result(record: StepRecord) -> bool:
    """Scheduled, or blocked with a follow-up appointment booked (TB class A, re-examined after treatment)."""
    if record.state is StepState.SCHEDULED:
        return True
    return record.state is StepState.BLOCKED and record.step is Step.HEALTH_ASSESSMENT and record.reference is not None


class ClinicPlayer:
    """Each result goes as an Update named after its step and attempt, so a result whose answer was lost (the call
    timed out, the worker died) is not sent as a new one: the next visit asks the server how that Update ended."""

    def __init__(self, clinician: SimulatedClinician, on_accepted: Accepted | None = None) -> None:
        self._clinician = clinician
        self._on_accepted = on_accepted
        self._unanswered: dict[str, tuple[str, MedicalResult]] = {}  # Update id: (workflow id, result)

    async def attend(self, handle: WorkflowHandle[DepartureWorkflow, DepartureState]) -> DepartureState:
        """Submit whatever results are due now; returns the state seen before submitting."""
        await self._collect_answers(handle)
        state = await handle.query(DepartureWorkflow.get_state)
        if state.is_terminal:
            return state
        # A second back: the result must not look later than the workflow's own clock when it arrives.
        now = datetime.now(UTC) - timedelta(seconds=1)
        for record in state.steps.values():
            update_id = f"{record.key}:{record.attempt}"
            if not waiting_for_result(record) or record.person_id is None or update_id in self._unanswered:
                continue
            pid = record.person_id
            result: MedicalResult
            if record.step is Step.HEALTH_ASSESSMENT:
                result = self._clinician.assessment(pid, now.date(), attempt=record.attempt)
                update: Any = DepartureWorkflow.submit_assessment
            elif record.step is Step.PRE_DEPARTURE_SCREENING:
                result = self._clinician.screening(pid, now.date())
                update = DepartureWorkflow.submit_screening
            elif record.step is Step.FITNESS_TO_TRAVEL:
                result = self._clinician.fitness(pid, now, attempt=record.attempt)
                update = DepartureWorkflow.submit_fitness
            else:
                continue
            self._unanswered[update_id] = (handle.id, result)
            try:
                saved: StepRecord = await handle.execute_update(update, result, id=update_id)
            except WorkflowUpdateFailedError:
                del self._unanswered[update_id]  # refused: nothing was taken, so it may be sent again
                raise
            del self._unanswered[update_id]
            self._accepted(handle.id, saved, result)
        return state

    async def _collect_answers(self, handle: WorkflowHandle[DepartureWorkflow, DepartureState]) -> None:
        for update_id, (workflow_id, result) in list(self._unanswered.items()):
            if workflow_id != handle.id:
                continue
            saved: StepRecord | None = None
            try:
                saved = await handle.get_update_handle(update_id, result_type=StepRecord).result()
            except WorkflowUpdateFailedError:
                pass  # refused: nothing was taken
            except RPCError as error:
                if error.status is not RPCStatusCode.NOT_FOUND:  # not found: it never reached the departure
                    raise  # not answered yet: asked again next visit
            del self._unanswered[update_id]  # settled: taken, or to be sent again
            if saved is not None:
                self._accepted(handle.id, saved, result)

    def _accepted(self, workflow_id: str, saved: StepRecord, result: MedicalResult) -> None:
        if self._on_accepted is not None:
            self._on_accepted(workflow_id, saved, result)
