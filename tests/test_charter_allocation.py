"""A coordinator allocates ready families to a charter through the API, with real departures on the time-skipping
server: each family's departure books its seats on the charter with the travel partner, the movement counts them,
and the manifest at the cutoff lists them. A selection with a family that is not ready changes nothing, and a family
whose departure cannot take the charter is refused with its reason."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest_asyncio

from api.principal import Role
from domain.departure import BookingStatus, DepartureState, departure_workflow_id
from domain.documents import movement_id
from domain.planning import ready_case
from domain.steps import Step, StepState
from domain.windows import feasible_window
from store.rosters import manifest_roster
from tests.api_harness import FAST_PARTNERS, Cast, harness_settings, serving
from tests.departure_harness import Drive, open_world
from tests.test_api_coordinator import case_body
from tests.test_api_movements import Stage, ready_case_of_office_a
from workflows.departure import DepartureWorkflow

FAMILIES = 3


@pytest_asyncio.fixture
async def stage(database_url: str, tmp_path_factory) -> AsyncIterator[Stage]:  # type: ignore[no-untyped-def]
    async with open_world(database_url, f"tq-charter-{uuid.uuid4().hex[:8]}", FAST_PARTNERS) as world:
        settings = harness_settings(tmp_path_factory.mktemp("charter"), world.task_queue, rate_limits_enabled=False)
        async with serving(settings, world.store, world.client, world.sealer) as (app, http):
            yield Stage(world, app, http, await Cast.enrol(world.store, http))


async def started_family(stage: Stage) -> Drive:
    """A family of office A for reception A, its departure started through the API."""
    body = case_body(await stage.world.today(), children=0, reception=stage.cast.of(Role.RECEPTION_TEAM).org_id)
    body["medical_partner_id"] = stage.cast.of(Role.MEDICAL_PARTNER).org_id
    created = await stage.http.post("/cases", json=body, headers=stage.headers(Role.COORDINATOR))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    started = await stage.http.post(f"/cases/{case_id}/departure", headers=stage.headers(Role.COORDINATOR))
    assert started.status_code == 201, started.text
    handle = stage.world.client.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))
    stage.world.started.append(handle)
    case = await stage.world.store.load_case(case_id)
    assert case is not None
    return Drive(stage.world, case, handle)


async def assess_everyone(drive: Drive) -> None:
    """Once the store, not only the departure, has the appointment: a result saved while the appointment's own
    save is still on its way could be overwritten by it (the store keeps the last write of a step)."""
    for person in drive.case.people:
        await drive.until_step(Step.HEALTH_ASSESSMENT, person.person_id, StepState.SCHEDULED)
        key = f"{Step.HEALTH_ASSESSMENT.value}:{person.person_id}"
        for _ in range(200):
            stored = {r.key: r.state for r in await drive.world.store.step_records(drive.case.case_id)}
            if stored.get(key) is StepState.SCHEDULED:
                break
            await asyncio.sleep(0.05)
        await drive.assess(person.person_id)


def ready_unbooked(drive: Drive, today: date):  # type: ignore[no-untyped-def]
    def check(state: DepartureState) -> bool:
        return state.booking is None and ready_case(drive.case, state, today) is not None
    return check


async def test_allocated_families_are_booked_on_the_charter_and_listed_on_its_manifest(stage: Stage) -> None:
    world, coordinator = stage.world, stage.headers(Role.COORDINATOR)
    # The travel partner's scheduled flights are unreachable: ready families wait for a flight, as they would for
    # a charter in a busy operation, instead of flying off on the first scheduled one.
    world.partners.faults.fail_next("travel.book_flight", times=1_000_000)
    drives = [await started_family(stage) for _ in range(FAMILIES)]
    not_ready = await started_family(stage)
    for drive in drives:
        await assess_everyone(drive)
    for drive in drives:
        await drive.until(ready_unbooked(drive, await world.today()), every=timedelta(days=1), limit=timedelta(days=60))
    await world.env.sleep(timedelta(hours=2))  # the partner's retries now come ten minutes apart
    world.partners.faults.clear()
    booked_before = world.partners.travel.bookings_made  # type: ignore[attr-defined]

    # A charter on a day every family can fly, far enough ahead for the reception team's notice.
    states = [await drive.state() for drive in drives]
    windows = [feasible_window(s.steps.values(), date.today() + timedelta(days=16)) for s in states]
    start = max(w.start for w in windows if w)
    assert all(w is not None and w.contains(start + timedelta(days=2)) for w in windows), windows
    departs = datetime.combine(start + timedelta(days=2), time(22), tzinfo=UTC)
    flight_number = f"CH{uuid.uuid4().int % 10**4:04d}"
    created = await stage.http.post("/charters", headers=coordinator, json={
        "flight_number": flight_number, "departs_at": departs.isoformat(),
        "arrives_at": (departs + timedelta(hours=14)).isoformat(), "origin": "NBO", "destination_country": "CA",
        "destination_city": "Winnipeg", "seats": 20})
    assert created.status_code == 201, created.text
    movement = created.json()["movement_id"]
    assert movement == movement_id(flight_number, departs.date())
    path, allocation = f"/movements/{movement}", f"/charters/{movement}/allocation"
    case_ids = [drive.case.case_id for drive in drives]

    for _ in range(100):  # the departures' last steps may still be on their way to the store
        proposal = await stage.http.post(f"/charters/{movement}/proposal", headers=coordinator)
        assert proposal.status_code == 200, proposal.text
        if set(case_ids) <= set(proposal.json()["case_ids"]):
            break
        await asyncio.sleep(0.05)
    assert set(case_ids) <= set(proposal.json()["case_ids"]), proposal.json()["left_out"]
    assert not_ready.case.case_id not in proposal.json()["case_ids"]

    # One family not ready: the whole selection is refused, naming it, and no departure hears of the charter.
    refused = await stage.http.post(allocation, headers=coordinator,
                                    json={"case_ids": [*case_ids, not_ready.case.case_id]})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == f"body.case_ids.{FAMILIES}" and "not ready" in error["message"]
    assert (await stage.get(path)).json()["families"] == 0
    assert [(await drive.state()).booking for drive in drives] == [None] * FAMILIES

    # A family the store calls ready but whose departure is not running cannot take the charter: nothing taken.
    orphan = await ready_case_of_office_a(stage, "CA")
    nobody = await stage.http.post(allocation, headers=coordinator, json={"case_ids": [orphan.case_id]})
    assert nobody.status_code == 409, nobody.text
    assert nobody.json()["errors"] == [{"field": "body.case_ids.0",
                                        "message": f"case {orphan.case_id}: its departure is not running"}]
    assert (await stage.get(path)).json()["families"] == 0

    accepted = await stage.http.post(allocation, headers=coordinator, json={"case_ids": case_ids})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"movement_id": movement, "accepted": case_ids, "refused": []}
    travellers = sum(len(drive.case.people) for drive in drives)
    on_board = await stage.until(path, lambda view: view["families"] == FAMILIES)
    assert on_board["travellers"] == travellers and on_board["seats_taken"] == travellers + 1  # one escort

    for drive in drives:
        state = await drive.until(lambda s: s.booking is not None, every=timedelta(minutes=1),
                                  limit=timedelta(hours=1))
        assert state.booking is not None
        assert (state.booking.flight_number, state.booking.departs_at) == (flight_number, departs)
        stored = [b for b in await world.store.bookings(drive.case.case_id) if b.status is BookingStatus.BOOKED]
        assert [b.booking.flight_number for b in stored] == [flight_number]
    assert world.partners.travel.bookings_made == booked_before + FAMILIES  # type: ignore[attr-defined]

    # Sent again, the allocation books nothing twice and the movement is unchanged.
    again = await stage.http.post(allocation, headers=coordinator, json={"case_ids": case_ids[:1]})
    assert again.status_code == 200 and again.json()["accepted"] == case_ids[:1], again.text
    assert world.partners.travel.bookings_made == booked_before + FAMILIES  # type: ignore[attr-defined]
    assert (await stage.get(path)).json()["seats_taken"] == travellers + 1

    reception = stage.cast.of(Role.RECEPTION_TEAM).org_id
    def notice_sent(view: dict[str, Any]) -> bool:
        return any(o["organisation_id"] == reception and o["published_version"] for o in view["organisations"])

    for _ in range(30):  # a day at a time up to the cutoff, which the destination's calendar sets
        published = (await stage.get(path)).json()
        if notice_sent(published):
            break
        await world.env.sleep(timedelta(days=1))
    published = await stage.until(path, notice_sent)
    assert published["families"] == FAMILIES
    roster = await manifest_roster(world.store, movement, reception)
    assert roster is not None
    assert {p.person_id for p in roster.passengers} == {p.person_id for d in drives for p in d.case.people}
