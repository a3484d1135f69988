"""The simulated clinic the chaos run, the demo and the benchmark use: a result whose answer was lost is counted
once it is known to have been taken, and is not sent a second time."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError

from domain.departure import DepartureState
from domain.steps import Step, StepRecord, StepState
from partners.simulators.clinician import SimulatedClinician
from predeparture.clinic import ClinicPlayer, MedicalResult
from tests.departure_harness import World, simulator_settings, world  # noqa: F401
from tests.factories import family
from workflows.departure import DepartureWorkflow


class AnswerLost:
    """The departure takes the Update, but its answer never comes back (the call timed out on the way)."""

    def __init__(self, handle: WorkflowHandle[DepartureWorkflow, DepartureState]) -> None:
        self._handle = handle
        self.id = handle.id
        self.sent: list[str] = []

    async def execute_update(self, update: Any, arg: Any, *, id: str | None = None) -> StepRecord:
        self.sent.append(id or "")
        await self._handle.execute_update(update, arg, id=id)
        raise WorkflowUpdateRPCTimeoutOrCancelledError()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


async def test_a_result_whose_answer_was_lost_is_counted_on_the_next_visit_and_not_sent_again(world: World) -> None:
    case = family(await world.today(), children=0)
    drive = await world.start(case)
    principal = case.principal.person_id
    await drive.until_step(Step.HEALTH_ASSESSMENT, principal, StepState.SCHEDULED)
    await drive.until_step(Step.HEALTH_ASSESSMENT, case.people[1].person_id, StepState.SCHEDULED)
    accepted: list[tuple[str, StepRecord, MedicalResult]] = []
    clinic = ClinicPlayer(SimulatedClinician(7), lambda *taken: accepted.append(taken))
    lossy = AnswerLost(drive.handle)

    try:
        await clinic.attend(lossy)  # type: ignore[arg-type]
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        pass
    assert accepted == [] and len(lossy.sent) == 1

    await clinic.attend(drive.handle)

    first = lossy.sent[0]
    assert first.startswith("health_assessment:") and first.endswith(":1")
    assert [f"{record.key}:{record.attempt}" for _, record, _ in accepted].count(first) == 1
    assert len(accepted) == 2, "the lost one counted once, the other traveller's sent and counted"
    assert {record.state for _, record, _ in accepted} <= {StepState.DONE, StepState.BLOCKED}
