"""Plays the medical partner's clinicians for demos, benchmarks and end-to-end tests: it looks at a departure,
and answers every medical step that is waiting for a result, as a clinic would after the appointment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowHandle

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
    def __init__(self, clinician: SimulatedClinician, on_accepted: Accepted | None = None) -> None:
        self._clinician = clinician
        self._on_accepted = on_accepted

    async def attend(self, handle: WorkflowHandle[DepartureWorkflow, DepartureState]) -> DepartureState:
        """Submit whatever results are due now; returns the state seen before submitting."""
        state = await handle.query(DepartureWorkflow.get_state)
        if state.is_terminal:
            return state
        # A second back: the result must not look later than the workflow's own clock when it arrives.
        now = datetime.now(UTC) - timedelta(seconds=1)
        for record in state.steps.values():
            if not waiting_for_result(record) or record.person_id is None:
                continue
            pid = record.person_id
            saved: StepRecord | None = None
            result: MedicalResult
            if record.step is Step.HEALTH_ASSESSMENT:
                result = self._clinician.assessment(pid, now.date(), attempt=record.attempt)
                saved = await handle.execute_update(DepartureWorkflow.submit_assessment, result)
            elif record.step is Step.PRE_DEPARTURE_SCREENING:
                result = self._clinician.screening(pid, now.date())
                saved = await handle.execute_update(DepartureWorkflow.submit_screening, result)
            elif record.step is Step.FITNESS_TO_TRAVEL:
                result = self._clinician.fitness(pid, now, attempt=record.attempt)
                saved = await handle.execute_update(DepartureWorkflow.submit_fitness, result)
            if saved is not None and self._on_accepted is not None:
                self._on_accepted(handle.id, saved, result)
        return state
