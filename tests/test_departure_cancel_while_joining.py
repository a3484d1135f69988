"""A coordinator cancels a family cleared to board while its join to the flight's movement is still being retried.

Found by `predeparture chaos`: the cancellation stopped the join, the departure took the stopped call for a failed
one and carried on to wait for every handler to finish, the coordinator's cancellation among them, which was
waiting for the departure: neither ever moved again, and the family stayed "awaiting flight" past its flight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.movements import JoinMovementCall
from domain.departure import CancelRequest, Phase
from domain.steps import Step, StepState
from tests.departure_harness import World, open_world, quiet_simulator
from tests.factories import family
from workflows.departure import DepartureWorkflow

FAST = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                       document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))


class UnreachableMovements:
    """The movement never answers: every join fails, so Temporal keeps retrying it."""

    def __init__(self) -> None:
        self.joins_tried = 0

    @activity.defn(name="join_movement")
    async def join_movement(self, call: JoinMovementCall) -> None:
        self.joins_tried += 1
        raise ApplicationError("movement unreachable")


@pytest_asyncio.fixture
async def stalled_join(database_url: str, task_queue: str, document_renderer) -> AsyncIterator[  # type: ignore[no-untyped-def]
        tuple[World, UnreachableMovements]]:
    movements = UnreachableMovements()
    async with open_world(database_url, task_queue, FAST, document_renderer, [movements.join_movement]) as world:
        yield world, movements


async def test_cancelling_while_the_join_is_retried_cancels_the_departure(
        stalled_join: tuple[World, UnreachableMovements]) -> None:
    world, movements = stalled_join
    case = family(await world.today(), children=0)
    drive = await world.start(case)
    await drive.assess_everyone()
    await drive.check_fitness()
    fitness = [f"{Step.FITNESS_TO_TRAVEL.value}:{p.person_id}" for p in case.people]
    state = await drive.until(lambda s: all(s.steps[k].state is StepState.DONE for k in fitness),
                              every=timedelta(minutes=10))
    assert state.phase is Phase.AWAITING_FLIGHT and movements.joins_tried > 0  # cleared, its papers still pending

    answer = await asyncio.wait_for(drive.handle.execute_update(
        DepartureWorkflow.cancel, CancelRequest(reason="family withdrew", requested_by="coord_1")), timeout=60)

    assert answer.phase is Phase.CANCELLED
    result = await asyncio.wait_for(drive.handle.result(), timeout=60)
    assert result.phase is Phase.CANCELLED and result.booking is None
    assert f"{case.case_id}-flight-1" in world.partners.travel.cancelled_keys
    assert await world.store.departure_phase(case.case_id) == (Phase.CANCELLED, "family withdrew")
