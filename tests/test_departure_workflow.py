"""The departure on the time-skipping server: months pass in seconds, partners are the simulators."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.departure import Phase
from domain.steps import Step, StepState
from tests.departure_harness import Drive, World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.factories import family

FAST = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                       document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))


def departed(state) -> bool:
    return state.phase is Phase.DEPARTED


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_a_family_goes_from_approved_to_departed(world: World) -> None:
    drive = await world.start(family(await world.today(), children=2))
    await drive.assess_everyone()
    await drive.until_step(Step.FLIGHT_BOOKING, None, StepState.DONE, every=timedelta(days=1))
    await drive.check_fitness()
    state = await drive.until(departed, every=timedelta(hours=6))
    assert all(state.steps[k].state is StepState.DONE for k in state.steps), state.steps
    assert state.booking is not None and state.departed_at is not None
    assert world.partners.travel.bookings_made == 1
    stored = await world.store.departure_phase(drive.case.case_id)
    assert stored is not None and stored[0] is Phase.DEPARTED
