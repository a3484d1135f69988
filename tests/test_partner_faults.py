"""Each network fault, injected through the partner simulator service, against a real worker whose partners are
all reached over HTTP: the family still departs, and each partner side effect happened exactly once (counted at
the simulator, where a resent request with the same idempotency key does not count again)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from domain.departure import Phase
from domain.steps import Step
from tests.departure_harness import World, quiet_simulator
from tests.factories import family
from tests.partner_harness import SimService, network_world, serving_sim

SIM = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                      document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))
MEDICAL = (Step.HEALTH_ASSESSMENT, Step.PRE_DEPARTURE_SCREENING, Step.FITNESS_TO_TRAVEL)

FAULTS: dict[str, dict[str, Any]] = {
    "latency": {"latency": "exponential", "latency_ms_min": 2, "latency_ms_mean": 15, "latency_ms_max": 80},
    "server errors": {"error_rate": 0.4, "retry_after_seconds": 2, "seed": 1},
    "throttling": {"throttle_rate": 0.4, "retry_after_seconds": 1, "seed": 2},
    "dropped connections": {"drop_rate": 0.4, "seed": 3},
    "down for a while": {"down_for_seconds": 1.0},
}


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimService]:
    async with serving_sim(SIM) as service:
        yield service


@pytest_asyncio.fixture
async def world(database_url: str, task_queue: str, sim: SimService,
                document_renderer: Any) -> AsyncIterator[World]:
    async with network_world(database_url, task_queue, SIM, sim, document_renderer) as opened:
        yield opened


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_family_departs_through_each_network_fault_with_each_side_effect_once(
        world: World, sim: SimService, fault: str) -> None:
    await sim.set_faults(**FAULTS[fault])
    drive = await world.start(family(await world.today(), children=1))
    await drive.assess_everyone()
    await drive.until(lambda s: s.booking is not None, every=timedelta(days=1))
    await drive.check_fitness()
    state = await drive.until(lambda s: s.phase is Phase.DEPARTED, every=timedelta(hours=6))

    stats = await sim.stats()
    injected = sum(count for kind, count in stats["injected"].items())
    if fault != "latency":
        assert injected > 0, f"the {fault} fault never fired: the test would prove nothing"
    made = stats["side_effects"]
    documents = [r for r in state.steps.values() if r.step is Step.TRAVEL_DOCUMENT]
    appointments = [r for r in state.steps.values() if r.step in MEDICAL]
    assert made == {
        "exit_permits.request_exit_permit": 1,
        "travel_documents.request_travel_document": len(documents),
        "medical.schedule_appointment": sum(r.attempt for r in appointments),
        "medical.cancel_appointment": 0,
        "orientation.reserve_seat": 1,
        "orientation.release_seat": 0,
        "travel.book_flight": 1,
        "travel.cancel_booking": 0,
    }, fault
    assert len(documents) == len(drive.case.people), "no passports: a travel document each"
