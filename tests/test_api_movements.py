"""Movements through the API, with real tokens and a real MovementWorkflow on the time-skipping server: who may
see a flight and which part of it, boarding (a stranger in the list changes nothing), the reception team's
confirmation that closes the movement, each team's manifest delivery as coordinators watch it, and the webhook
endpoint whose secret never comes back out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from activities.messages import flight_key
from activities.movements import JoinMovementCall, MovementActivities
from api.principal import Role
from domain.audit import AuditEvent
from domain.case import Case
from domain.departure import BookingRecord, BookingStatus, Phase, ProgressUpdate
from domain.documents import FlightLeg, movement_id
from domain.movement import MovementInput, MovementKind, notice_cutoff, party_of
from domain.partner_messages import FlightBooking
from domain.steps import Step, StepRecord, StepState
from tests.api_harness import FAST_PARTNERS, Cast, harness_settings, serving
from tests.departure_harness import World, open_world
from tests.test_api_coordinator import step, stored_case

SECRET = "a-shared-secret-of-forty-characters-0001"


@dataclass
class Stage:
    world: World
    app: FastAPI
    http: httpx.AsyncClient
    cast: Cast

    def headers(self, role: Role, side: str = "a") -> dict[str, str]:
        return self.cast.headers(role, side)

    async def get(self, path: str, role: Role = Role.COORDINATOR, side: str = "a") -> httpx.Response:
        return await self.http.get(path, headers=self.headers(role, side))

    async def until(self, path: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Polls in real time: the test server's clock only jumps while the test sleeps on it."""
        for _ in range(600):
            body = (await self.get(path)).json()
            if predicate(body):
                return dict(body)
            await asyncio.sleep(0.05)
        raise AssertionError(f"the movement never got there: {body}")

    async def sleep_until(self, moment: datetime) -> None:
        await self.world.env.sleep((moment - await self.world.env.get_current_time()).total_seconds())


@pytest_asyncio.fixture(scope="module")
async def stage(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stage]:
    async with open_world(database_url, f"tq-movements-{uuid.uuid4().hex[:8]}", FAST_PARTNERS) as world:
        settings = harness_settings(tmp_path_factory.mktemp("movements"), world.task_queue,
                                    rate_limits_enabled=False)
        async with serving(settings, world.store, world.client, world.sealer) as (app, http):
            yield Stage(world, app, http, await Cast.enrol(world.store, http))


@dataclass(frozen=True)
class Flight:
    movement_id: str
    departs_at: datetime
    arrives_at: datetime
    case: Case

    @property
    def path(self) -> str:
        return f"/movements/{self.movement_id}"


async def charter_with_one_family(stage: Stage) -> Flight:
    """A 10-seat charter three weeks out, with one family of office A bound for reception A, booked in the store
    (where the manifest is made from) and joined to the movement as its departure would join it."""
    now = await stage.world.env.get_current_time()
    departs = datetime.combine(now.date() + timedelta(days=21), time(22), tzinfo=UTC)
    booking = FlightBooking(booking_ref=f"CH{uuid.uuid4().hex[:6]}", flight_number=f"CH{uuid.uuid4().int % 10**4:04d}",
                            departs_at=departs, arrives_at=departs + timedelta(hours=14), origin="NBO",
                            destination="YWG", seats=3)
    reception = stage.cast.of(Role.RECEPTION_TEAM).org_id
    record = BookingRecord(attempt=1, idempotency_key=flight_key(uuid.uuid4().hex, 1), status=BookingStatus.BOOKED,
                           booking=booking)
    case = await stored_case(stage.world.store, stage.cast.of(Role.COORDINATOR).org_id, reception=reception,
                             phase=Phase.AWAITING_FLIGHT, bookings=[record])
    movement = movement_id(booking.flight_number, departs.date())
    leg = FlightLeg(flight_number=booking.flight_number, origin="NBO", destination="YWG", departs_at=departs,
                    arrives_at=booking.arrives_at)
    first = MovementInput(movement_id=movement, flight=leg, kind=MovementKind.CHARTER, capacity=10,
                          destination_country="CA")
    join = party_of(case.case_id, reception, len(case.people), {p.person_id: [] for p in case.people})
    await MovementActivities(stage.world.client, stage.world.task_queue).join_movement(
        JoinMovementCall(movement=first, join=join))
    flight = Flight(movement, departs, booking.arrives_at, case)
    await stage.until(flight.path, lambda body: body.get("families") == 1)
    return flight


async def test_outsiders_are_told_the_movement_does_not_exist(stage: Stage) -> None:
    flight = await charter_with_one_family(stage)
    assert (await stage.http.get(flight.path)).status_code == 401
    assert (await stage.get(flight.path, Role.COORDINATOR, "b")).status_code == 404
    assert (await stage.get(flight.path, Role.RECEPTION_TEAM, "b")).status_code == 404
    assert (await stage.get(flight.path, Role.MEDICAL_PARTNER)).status_code == 403
    unknown = await stage.get(f"/movements/mov_{'0' * 16}")
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no such movement for your organisation"
    boarding = await stage.http.post(f"{flight.path}/boarding", headers=stage.headers(Role.COORDINATOR, "b"),
                                     json={"boarded_person_ids": [flight.case.people[0].person_id]})
    assert boarding.status_code == 404
    arrival = await stage.http.post(f"{flight.path}/arrival", headers=stage.headers(Role.RECEPTION_TEAM, "b"))
    assert arrival.status_code == 404


async def test_the_coordinator_sees_the_aircraft_and_the_reception_team_only_its_own_part(stage: Stage) -> None:
    flight = await charter_with_one_family(stage)
    coordinator = (await stage.get(flight.path)).json()
    travellers = len(flight.case.people)
    assert (coordinator["kind"], coordinator["phase"], coordinator["capacity"]) == ("charter", "open", 10)
    assert coordinator["seats_taken"] == travellers + 1  # one operational escort on a charter
    assert coordinator["escorts"] == {"operational": 1, "medical": 0}
    assert coordinator["flight"]["departs_at"].startswith(flight.departs_at.date().isoformat())
    reception = (await stage.get(flight.path, Role.RECEPTION_TEAM)).json()
    assert (reception["capacity"], reception["seats_taken"], reception["escorts"]) == (None, None, None)
    assert [o["organisation_id"] for o in reception["organisations"]] == [stage.cast.of(Role.RECEPTION_TEAM).org_id]
    assert reception["travellers"] == travellers
    names = {p.given_name for p in flight.case.people} | {p.family_name for p in flight.case.people}
    assert not [name for name in names if name in str(coordinator) + str(reception)]


async def test_boarding_refuses_a_stranger_then_the_only_team_confirming_closes_the_movement(stage: Stage) -> None:
    flight = await charter_with_one_family(stage)
    coordinator, reception = stage.headers(Role.COORDINATOR), stage.headers(Role.RECEPTION_TEAM)
    people = [p.person_id for p in flight.case.people]

    early = await stage.http.post(f"{flight.path}/boarding", headers=coordinator, json={"boarded_person_ids": people})
    assert early.status_code == 409 and "departs at" in early.json()["detail"]
    not_yet = await stage.http.post(f"{flight.path}/arrival", headers=reception)
    assert not_yet.status_code == 409

    # The notice at the cutoff: reception A has no endpoint, so its delivery fails, and the coordinator sees since
    # when and why.
    cutoff = notice_cutoff(flight.arrives_at.date(), 10, [])
    await stage.sleep_until(datetime.combine(cutoff, time(1), tzinfo=UTC))
    noticed = await stage.until(flight.path, lambda body: bool(body["organisations"][0]["deliveries"]))
    [team] = noticed["organisations"]
    assert noticed["phase"] == "notice_sent" and team["published_version"] == 1
    assert team["delivery"]["status"] == "failing" and team["delivery"]["failing_since"] is not None
    assert team["delivery"]["last_error"] == "no active reception endpoint" and team["delivery"]["attempts"] == 1

    await stage.sleep_until(flight.departs_at + timedelta(hours=1))
    before = (await stage.get(flight.path)).json()
    stranger = await stage.http.post(f"{flight.path}/boarding", headers=coordinator,
                                     json={"boarded_person_ids": [*people, "per_stowaway"]})
    assert stranger.status_code == 422, stranger.text
    assert [e["field"] for e in stranger.json()["errors"]] == ["body.boarded_person_ids"]
    assert (await stage.get(flight.path)).json() == before

    boarded = await stage.http.post(f"{flight.path}/boarding", headers=coordinator,
                                    json={"boarded_person_ids": people[:-1]})
    assert boarded.status_code == 200, boarded.text
    assert (boarded.json()["phase"], boarded.json()["boarded"]) == ("departed", len(people) - 1)
    assert boarded.json()["organisations"][0]["final"] is True

    closed = await stage.http.post(f"{flight.path}/arrival", headers=reception)
    assert closed.status_code == 200, closed.text
    assert closed.json()["phase"] == "closed" and closed.json()["organisations"][0]["arrival_confirmed"] is True
    assert (await stage.get(flight.path, Role.RECEPTION_TEAM)).json()["phase"] == "closed"


async def test_a_reception_team_sets_its_webhook_and_never_reads_the_secret_back(stage: Stage) -> None:
    team = stage.headers(Role.RECEPTION_TEAM, "b")
    assert (await stage.http.get("/reception/webhook", headers=team)).json()["secret_set"] is False
    for body, field in (({"url": "http://reception.example.org/hooks", "secret": SECRET}, "body.url"),
                        ({"url": "https://reception.example.org/hooks", "secret": "too-short"}, "body.secret")):
        refused = await stage.http.put("/reception/webhook", headers=team, json=body)
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [field]
        assert SECRET not in refused.text and "too-short" not in refused.text

    local = await stage.http.put("/reception/webhook", headers=team,
                                 json={"url": "http://127.0.0.1:9000/hooks", "secret": SECRET})
    assert local.status_code == 200, local.text
    answers = [local, await stage.http.put("/reception/webhook", headers=team, json={
        "url": "https://reception.example.org/hooks", "secret": SECRET})]
    answers.append(await stage.http.get("/reception/webhook", headers=team))
    assert all(SECRET not in answer.text for answer in answers)
    assert answers[-1].json() | {"updated_at": None} == {
        "url": "https://reception.example.org/hooks", "secret_set": True, "active": True, "updated_at": None}
    # Stored sealed, and opened with the key the worker holds: the movement would sign with this very secret.
    opened = await stage.app.state.context.webhooks().endpoint(stage.cast.of(Role.RECEPTION_TEAM, "b").org_id)
    assert opened is not None and opened.secret.get_secret_value() == SECRET.encode()
    other = await stage.http.get("/reception/webhook", headers=stage.headers(Role.RECEPTION_TEAM))
    assert other.json()["url"] is None
    assert (await stage.http.get("/reception/webhook", headers=stage.headers(Role.COORDINATOR))).status_code == 403


def ready_steps(case: Case, today: date) -> list[StepRecord]:
    """Every step that bounds the flight date done for every member, valid for a year."""
    valid = {"valid_from": today - timedelta(days=10), "valid_until": today + timedelta(days=365)}
    people = [p.person_id for p in case.people]
    return [step(Step.EXIT_PERMIT, StepState.DONE, **valid), step(Step.ORIENTATION, StepState.DONE, **valid),
            *(step(s, StepState.DONE, person_id, **valid)
              for s in (Step.TRAVEL_DOCUMENT, Step.HEALTH_ASSESSMENT) for person_id in people)]


async def ready_case_of_office_a(stage: Stage, country: str) -> Case:
    office, reception = stage.cast.of(Role.COORDINATOR).org_id, stage.cast.of(Role.RECEPTION_TEAM).org_id
    case = await stored_case(stage.world.store, office, country=country, reception=reception)
    await stage.world.store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.BOOKING,
                                                          steps=ready_steps(case, date.today())))
    return case


async def test_a_charter_is_planned_with_the_office_ready_families_and_a_refused_allocation_changes_nothing(
    stage: Stage
) -> None:
    coordinator = stage.headers(Role.COORDINATOR)
    departs = datetime.combine(date.today() + timedelta(days=40), time(22), tzinfo=UTC)
    body = {"flight_number": f"CH{uuid.uuid4().hex[:6]}", "departs_at": departs.isoformat(),
            "arrives_at": (departs + timedelta(hours=14)).isoformat(), "origin": "NBO",
            "destination_country": "CA", "destination_city": "Winnipeg", "seats": 12}
    for wrong, field in (({"seats": 0}, "body.seats"),
                         ({"departs_at": "2020-01-01T22:00:00Z", "arrives_at": "2020-01-02T12:00:00Z"},
                          "body.departs_at")):
        refused = await stage.http.post("/charters", headers=coordinator, json=body | wrong)
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [field]
    created = await stage.http.post("/charters", headers=coordinator, json=body)
    assert created.status_code == 201, created.text
    charter = created.json()
    assert (charter["kind"], charter["capacity"], charter["families"]) == ("charter", 12, 0)
    path = f"/movements/{charter['movement_id']}"
    assert (await stage.get(path)).status_code == 200
    assert (await stage.get(path, Role.COORDINATOR, "b")).status_code == 404
    assert (await stage.http.post("/charters", headers=coordinator, json=body)).status_code == 409

    ready, elsewhere = await ready_case_of_office_a(stage, "CA"), await ready_case_of_office_a(stage, "US")
    proposal = await stage.http.post(f"/charters/{charter['movement_id']}/proposal", headers=coordinator)
    assert proposal.status_code == 200, proposal.text
    assert ready.case_id in proposal.json()["case_ids"]
    assert {"case_id": elsewhere.case_id, "reason": "other_destination"}.items() <= next(
        o for o in proposal.json()["left_out"] if o["case_id"] == elsewhere.case_id).items()
    other_office = await stage.http.post(f"/charters/{charter['movement_id']}/proposal",
                                         headers=stage.headers(Role.COORDINATOR, "b"))
    assert other_office.status_code == 404

    allocation = f"/charters/{charter['movement_id']}/allocation"
    refused = await stage.http.post(allocation, headers=coordinator,
                                    json={"case_ids": [ready.case_id, elsewhere.case_id]})
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["body.case_ids.1"]
    assert (await stage.get(path)).json()["families"] == 0
    # These families live in the store only: no departure runs to book the seats, so none is taken.
    # (tests/test_charter_allocation.py puts running departures on a charter.)
    untaken = await stage.http.post(allocation, headers=coordinator, json={"case_ids": [ready.case_id]})
    assert untaken.status_code == 409, untaken.text
    assert [e["message"] for e in untaken.json()["errors"]] == [f"case {ready.case_id}: its departure is not running"]
    assert (await stage.get(path)).json()["families"] == 0


async def deferred_case_of_office_a(stage: Stage, *not_before: date) -> Case:
    """A ready case whose departure was deferred, once per date given, as its workflow audits a deferral."""
    case = await ready_case_of_office_a(stage, "CA")
    await stage.world.store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.DEFERRED))
    start = datetime.now(UTC)
    await stage.world.store.append_audit([
        AuditEvent(event_key=f"{case.case_id}:{n}", at=start + timedelta(seconds=n), actor="system:departure-workflow",
                   action="departure.deferred" if n == 0 else "departure.replanned", object_type="case",
                   object_id=case.case_id, detail={"phase": "deferred", "not_before": day.isoformat()})
        for n, day in enumerate(not_before)])
    return case


async def test_a_family_deferred_past_the_charter_is_left_out_with_its_date_and_its_latest_deferral_counts(
    stage: Stage
) -> None:
    coordinator = stage.headers(Role.COORDINATOR)
    departs = datetime.combine(date.today() + timedelta(days=40), time(22), tzinfo=UTC)
    created = await stage.http.post("/charters", headers=coordinator, json={
        "flight_number": f"CH{uuid.uuid4().hex[:6]}", "departs_at": departs.isoformat(),
        "arrives_at": (departs + timedelta(hours=14)).isoformat(), "origin": "NBO", "destination_country": "CA",
        "destination_city": "Winnipeg", "seats": 12})
    assert created.status_code == 201, created.text
    movement = created.json()["movement_id"]
    past_it = departs.date() + timedelta(days=5)
    deferred = await deferred_case_of_office_a(stage, past_it)
    replanned = await deferred_case_of_office_a(stage, past_it, departs.date() - timedelta(days=3))

    proposal = await stage.http.post(f"/charters/{movement}/proposal", headers=coordinator)
    assert proposal.status_code == 200, proposal.text
    left_out = {o["case_id"]: o for o in proposal.json()["left_out"]}
    assert deferred.case_id not in proposal.json()["case_ids"]
    assert {"reason": "deferred", "not_before": past_it.isoformat()}.items() <= left_out[deferred.case_id].items()
    assert replanned.case_id in proposal.json()["case_ids"]

    refused = await stage.http.post(f"/charters/{movement}/allocation", headers=coordinator,
                                    json={"case_ids": [deferred.case_id]})
    assert refused.status_code == 422, refused.text
    assert "deferred until" in refused.json()["errors"][0]["message"]
