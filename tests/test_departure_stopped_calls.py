"""A departure that stops a step while the step's partner call is still running stops waiting for it and asks the
server for nothing. Asking (a cancellation request) met a time-skipping server bug, temporalio/sdk-java#2391: when
the call completed in the same workflow task as the request, the server refused the task and the departure stood
still for good (the refused-permit test hung in about one run in three under load). The calls do not heartbeat,
so a request could never have reached one anyway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio import activity
from temporalio.api.enums.v1 import EventType

from activities import messages as m
from domain.departure import CancelRequest, Phase
from domain.partner_messages import PartnerAck
from tests.departure_harness import World, open_world, quiet_simulator
from tests.factories import family
from workflows.departure import DepartureWorkflow


class SlowPassportOffice:
    """Takes the travel document requests and answers only when the test lets it."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    @activity.defn(name="request_travel_document")
    async def request_travel_document(self, call: m.TravelDocumentCall) -> PartnerAck:
        self.asked.set()
        await self.answer.wait()
        return PartnerAck(reference=f"TD-{call.person_id}-{call.attempt}", received_at=call.requested_at)


@pytest_asyncio.fixture
async def slow_office(database_url: str, task_queue: str, document_renderer) -> AsyncIterator[  # type: ignore[no-untyped-def]
        tuple[World, SlowPassportOffice]]:
    office = SlowPassportOffice()
    try:
        async with open_world(database_url, task_queue, quiet_simulator(), document_renderer,
                              [office.request_travel_document]) as world:
            yield world, office
    finally:
        office.answer.set()


async def test_a_departure_cancelled_during_a_partner_call_ends_without_waiting_for_it(
        slow_office: tuple[World, SlowPassportOffice]) -> None:
    world, office = slow_office
    case = family(await world.today(), children=0)
    drive = await world.start(case)
    await asyncio.wait_for(office.asked.wait(), timeout=60)

    answer = await asyncio.wait_for(drive.handle.execute_update(
        DepartureWorkflow.cancel, CancelRequest(reason="family withdrew", requested_by="coord_1")), timeout=60)
    result = await asyncio.wait_for(drive.handle.result(), timeout=60)

    assert answer.phase is Phase.CANCELLED and result.phase is Phase.CANCELLED
    assert not office.answer.is_set(), "the passport office never answered"
    history = await drive.handle.fetch_history()
    requested = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED]
    assert requested == []
    assert await world.store.departure_phase(case.case_id) == (Phase.CANCELLED, "family withdrew")
