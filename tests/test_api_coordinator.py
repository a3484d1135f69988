"""Coordinators through the API: cases, filters, timelines, the departure's start and changes, the audit trail, and
the request limits. On both databases; the departure tests run on the time-skipping server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from temporalio.client import Client

from api.app import create_app
from api.auth.dependencies import current_principal
from api.context import ApiContext
from api.principal import ROLE_SCOPES, Principal, Role
from api.problems import ProblemError
from domain.case import Case, FunctionalNeed
from domain.departure import BookingRecord, BookingStatus, Phase, ProgressUpdate
from domain.medical import AssessmentResult, MedicalFile, TbClass
from domain.partner_messages import FlightBooking
from domain.policy import DestinationPolicy, PolicyBook
from domain.steps import Step, StepRecord, StepState
from predeparture.settings import ApiSettings, Settings, TemporalSettings
from store.repository import Store
from tests.departure_harness import World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.factories import family

AS = "x-test-principal"  # which test principal is calling: stands in for a bearer token


def member(role: Role, org_id: str, subject: str | None = None) -> Principal:
    return Principal(subject=subject or f"usr_{uuid.uuid4().hex[:8]}", org_id=org_id, role=role,
                     scopes=ROLE_SCOPES[role], is_client=role not in (Role.COORDINATOR, Role.RECEPTION_TEAM,
                                                                       Role.MEDICAL_PARTNER))


class Api:
    """The app, called as any of the principals registered with `who`."""

    def __init__(self, app: FastAPI, http: httpx.AsyncClient, store: Store) -> None:
        self.app, self.http, self.store = app, http, store
        self.principals: dict[str, Principal] = {}

        def from_header(request: Request) -> Principal:
            principal = self.principals.get(request.headers.get(AS, ""))
            if principal is None:
                raise ProblemError(401, "no test principal")
            return principal

        app.dependency_overrides[current_principal] = from_header

    def who(self, principal: Principal) -> dict[str, str]:
        key = f"{principal.org_id}/{principal.subject}"
        self.principals[key] = principal
        return {AS: key}

    async def call(self, principal: Principal, method: str, url: str, **kw: Any) -> httpx.Response:
        return await self.http.request(method, url, headers={**self.who(principal), **kw.pop("headers", {})}, **kw)


@asynccontextmanager
async def serving(store: Store, temporal: Client | None, settings: Settings) -> AsyncIterator[Api]:
    app = create_app(context=ApiContext(settings, store, cast(Client, temporal)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield Api(app, http, store)


def settings_for(tmp_path: Path, task_queue: str = "unused", **api: Any) -> Settings:
    # Permits and documents are polled rarely, so a partner's callback is what moves them.
    policy = PolicyBook(default=DestinationPolicy(partner_poll_interval=timedelta(days=30)))
    return Settings(_env_file=None, data_dir=tmp_path, temporal=TemporalSettings(task_queue=task_queue),  # type: ignore[call-arg]
                    policy=policy, api=ApiSettings(**api))


@pytest_asyncio.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    await store.migrate()
    yield store
    await store.close()


@pytest_asyncio.fixture
async def api(store: Store, tmp_path: Path) -> AsyncIterator[Api]:
    """Store only: for routes that never reach Temporal (a departure route here answers before it would)."""
    async with serving(store, None, settings_for(tmp_path)) as served:
        yield served


@pytest.fixture
def office() -> Iterator[str]:
    """A fresh office per test, so the shared database's other cases never show in its lists."""
    yield f"office_{uuid.uuid4().hex[:10]}"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text and 'File "' not in response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body["errors"]]


def case_body(today: date, *, country: str = "CA", reception: str = "org_reception_mb", children: int = 1,
              needs: list[FunctionalNeed] | None = None) -> dict[str, Any]:
    """A family as a coordinator would send it: no ids, no office."""
    case = family(today, children=children, country=country, needs=needs)
    body = case.model_dump(mode="json", exclude={"case_id", "office_id"})
    body["destination"]["receiving_organisation"] = reception
    for person in body["people"]:
        del person["person_id"]
    return body


async def stored_case(store: Store, office: str, *, country: str = "CA", reception: str = "org_reception_mb",
                      steps: list[StepRecord] = (), phase: Phase = Phase.PREPARING,  # type: ignore[assignment]
                      bookings: list[BookingRecord] = (), medical: list[MedicalFile] = (),  # type: ignore[assignment]
                      needs: list[FunctionalNeed] | None = None) -> Case:
    """A case whose departure has reported the given progress, written straight to the store."""
    case = family(date.today(), country=country, office=office, needs=needs)
    case.destination.receiving_organisation = reception
    await store.save_case(case)
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=phase, steps=list(steps),
                                              bookings=list(bookings), medical=list(medical)))
    return case


def step(step: Step, state: StepState, person_id: str | None = None, **fields: Any) -> StepRecord:
    return StepRecord(step=step, person_id=person_id, state=state, updated_at=datetime.now(UTC), **fields)


def booking(case_id: str, departs_in: timedelta, status: BookingStatus = BookingStatus.BOOKED,
            attempt: int = 1) -> BookingRecord:
    departs = datetime.now(UTC).replace(microsecond=0) + departs_in
    return BookingRecord(attempt=attempt, idempotency_key=f"{case_id}:flight:{attempt}", status=status,
                         booking=FlightBooking(booking_ref=f"FL-{uuid.uuid4().hex[:10]}", flight_number="ET302",
                                               departs_at=departs, arrives_at=departs + timedelta(hours=14),
                                               origin="Nairobi", destination="Winnipeg", seats=3,
                                               special_service_requests=["WCHR"]))


# -- cases ---------------------------------------------------------------------------------------------------------

async def test_a_coordinator_creates_reads_and_updates_a_case(api: Api, office: str) -> None:
    coordinator = member(Role.COORDINATOR, office)
    body = case_body(date.today(), needs=[FunctionalNeed.WHEELCHAIR])
    body["office_id"] = "office_someone_else"  # ignored: the office is the caller's

    created = await api.call(coordinator, "POST", "/cases", json=body)
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["office_id"] == office and case["case_id"].startswith("case_")
    assert case["departure_phase"] is None
    assert [p["given_name"] for p in case["people"]] == ["Mariam", "Ahmad", "Zahra"]
    assert all(p["person_id"].startswith("per_") for p in case["people"])
    assert case["people"][0]["functional_needs"] == ["wheelchair"]

    read = await api.call(coordinator, "GET", f"/cases/{case['case_id']}")
    assert read.status_code == 200 and read.json() == case

    principal, spouse, _child = case["people"]
    update = {**body, "priority": 1, "people": [
        {**principal, "languages": ["fa"]},  # kept, with its id
        {**{k: v for k, v in spouse.items() if k != "person_id"}, "given_name": "Omid", "relationship": "child",
         "date_of_birth": "2019-02-01"},  # new: no id
    ]}
    updated = await api.call(coordinator, "PUT", f"/cases/{case['case_id']}", json=update)
    assert updated.status_code == 200, updated.text
    people = updated.json()["people"]
    assert updated.json()["priority"] == 1 and updated.json()["office_id"] == office
    assert people[0]["person_id"] == principal["person_id"] and people[0]["languages"] == ["fa"]
    assert people[1]["person_id"] not in {p["person_id"] for p in case["people"]}
    stored = await api.store.load_case(case["case_id"])
    assert stored is not None and [p.person_id for p in stored.people] == [p["person_id"] for p in people]

    actions = [e.action for e in await api.store.audit_events(case["case_id"])]
    assert actions == ["case.created", "case.updated"]
    assert all(e.actor == f"{office}/{coordinator.subject}" for e in await api.store.audit_events(case["case_id"]))


async def test_case_input_is_checked_field_by_field(api: Api, office: str) -> None:
    coordinator = member(Role.COORDINATOR, office)
    body = case_body(date.today())
    body["people"][1]["relationship"] = "principal"
    assert "body.people" in fields(problem(await api.call(coordinator, "POST", "/cases", json=body), 422))

    body = case_body(date.today())
    body["people"][0]["date_of_birth"] = "2999-01-01"
    assert "body.people" in fields(problem(await api.call(coordinator, "POST", "/cases", json=body), 422))

    body = case_body(date.today())
    body["reference"] = "NBO\x00-1"
    assert fields(problem(await api.call(coordinator, "POST", "/cases", json=body), 422)) == ["body.reference"]

    # Another case's person_id must not move that person into this case.
    first = (await api.call(coordinator, "POST", "/cases", json=case_body(date.today()))).json()
    second = (await api.call(coordinator, "POST", "/cases", json=case_body(date.today()))).json()
    stolen = first["people"][0] | {"person_id": second["people"][0]["person_id"]}
    hijack = {**case_body(date.today()), "people": [stolen]}
    body = problem(await api.call(coordinator, "PUT", f"/cases/{first['case_id']}", json=hijack), 422)
    assert fields(body) == ["body.people.0.person_id"]
    still = await api.store.load_case(second["case_id"])
    assert still is not None and len(still.people) == len(second["people"])


async def test_another_office_gets_404_on_every_case_route(api: Api, office: str) -> None:
    owner, outsider = member(Role.COORDINATOR, office), member(Role.COORDINATOR, f"{office}_other")
    body = case_body(date.today())
    case_id = (await api.call(owner, "POST", "/cases", json=body)).json()["case_id"]
    tomorrow = (date.today() + timedelta(days=1)).isoformat()

    routes = [
        ("GET", f"/cases/{case_id}", None),
        ("PUT", f"/cases/{case_id}", body),
        ("GET", f"/cases/{case_id}/timeline", None),
        ("POST", f"/cases/{case_id}/departure", None),
        ("POST", f"/cases/{case_id}/departure/defer", {"not_before": tomorrow, "reason": "family request"}),
        ("POST", f"/cases/{case_id}/departure/date", {"date": tomorrow, "reason": "charter moved"}),
        ("POST", f"/cases/{case_id}/departure/cancel", {"reason": "withdrawn"}),
    ]
    for method, url, payload in routes:
        foreign = problem(await api.call(outsider, method, url, json=payload), 404)
        unknown = problem(await api.call(outsider, method, url.replace(case_id, "case_0000000000000000"),
                                         json=payload), 404)
        assert foreign["detail"] == unknown["detail"], "a foreign case must look exactly like an unknown one"
    assert (await api.call(outsider, "GET", "/cases")).json()["items"] == []
    assert (await api.call(owner, "GET", f"/cases/{case_id}")).status_code == 200

    # Other audiences do not hold the coordinator's scopes at all.
    for role in (Role.RECEPTION_TEAM, Role.MEDICAL_PARTNER, Role.TRAVEL_PARTNER):
        problem(await api.call(member(role, office), "GET", f"/cases/{case_id}"), 403)
    problem(await api.http.get(f"/cases/{case_id}"), 401)


async def test_cases_are_listed_by_step_blocked_expiring_and_destination(api: Api, store: Store, office: str) -> None:
    coordinator = member(Role.COORDINATOR, office)
    today = date.today()
    waiting = await stored_case(store, office, steps=[
        step(Step.EXIT_PERMIT, StepState.REQUESTED, reference="EXP-1"),
        step(Step.ORIENTATION, StepState.DONE, valid_from=today, valid_until=today + timedelta(days=10)),
    ])
    blocked = await stored_case(store, office, country="US", steps=[
        step(Step.EXIT_PERMIT, StepState.BLOCKED, reason="authority closed until further notice"),
        step(Step.ORIENTATION, StepState.DONE, valid_from=today, valid_until=today + timedelta(days=200)),
    ])
    refused = await stored_case(store, office, steps=[
        step(Step.EXIT_PERMIT, StepState.DONE, valid_until=today + timedelta(days=300)),
        step(Step.TRAVEL_DOCUMENT, StepState.REFUSED, person_id="per_x", reason="no civil records"),
    ], phase=Phase.REFUSED)
    await stored_case(store, f"{office}_other", steps=[step(Step.EXIT_PERMIT, StepState.BLOCKED)])

    async def listed(query: str) -> set[str]:
        response = await api.call(coordinator, "GET", f"/cases?{query}")
        assert response.status_code == 200, response.text
        return {item["case_id"] for item in response.json()["items"]}

    assert await listed("") == {waiting.case_id, blocked.case_id, refused.case_id}
    assert await listed("step=exit_permit") == {waiting.case_id, blocked.case_id}  # open: requested or blocked
    assert await listed("step=exit_permit&state=requested") == {waiting.case_id}
    assert await listed("state=refused") == {refused.case_id}
    assert await listed("blocked=true") == {blocked.case_id, refused.case_id}
    assert await listed("blocked=false") == {waiting.case_id}
    assert await listed("expiring_within_days=30") == {waiting.case_id}
    assert await listed("expiring_within_days=250") == {waiting.case_id, blocked.case_id}
    assert await listed("destination=US") == {blocked.case_id}
    assert await listed("destination=ca&blocked=true") == {refused.case_id}

    summary = next(i for i in (await api.call(coordinator, "GET", "/cases?blocked=true")).json()["items"]
                   if i["case_id"] == blocked.case_id)
    assert summary["blockers"] == ["exit_permit: authority closed until further notice"]
    assert summary["travellers"] == 3 and summary["phase"] == "preparing"

    problem(await api.call(coordinator, "GET", "/cases?expiring_within_days=-1"), 422)
    assert fields(problem(await api.call(coordinator, "GET", "/cases?step=visa"), 422)) == ["query.step"]


async def test_cases_are_paginated_without_gaps_or_repeats(api: Api, store: Store, office: str) -> None:
    coordinator = member(Role.COORDINATOR, office)
    created = [(await stored_case(store, office)).case_id for _ in range(5)]

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = "/cases?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await api.call(coordinator, "GET", query)).json()
        seen.extend(item["case_id"] for item in page["items"])
        assert len(page["items"]) <= 2
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    assert seen == created  # oldest first, each once

    forged = await api.call(coordinator, "GET", "/cases?cursor=bm90LWEtY3Vyc29y")
    assert fields(problem(forged, 422)) == ["query.cursor"]


async def test_the_timeline_shows_steps_blockers_deadline_and_booking_but_no_medical_detail(
    api: Api, store: Store, office: str
) -> None:
    coordinator = member(Role.COORDINATOR, office)
    soon, later = datetime.now(UTC) + timedelta(days=2), datetime.now(UTC) + timedelta(days=9)
    case = family(date.today(), office=office)
    await store.save_case(case)
    mariam, ahmad = case.people[0].person_id, case.people[1].person_id
    assessment = AssessmentResult(person_id=ahmad, exam_date=date.today(), tb_class=TbClass.B1,
                                  findings="latent tuberculosis, sputum culture pending", examined_by="clinic_a")
    flight = booking(case.case_id, timedelta(days=20))
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.AWAITING_FLIGHT, steps=[
        step(Step.FLIGHT_BOOKING, StepState.DONE, reference=flight.booking.booking_ref),
        step(Step.HEALTH_ASSESSMENT, StepState.SCHEDULED, person_id=ahmad, due_by=later),
        step(Step.HEALTH_ASSESSMENT, StepState.DONE, person_id=mariam, valid_from=date.today(),
             valid_until=date.today() + timedelta(days=180)),
        step(Step.EXIT_PERMIT, StepState.BLOCKED, reason="authority asks for a new photo", due_by=soon),
    ], medical=[MedicalFile(person_id=ahmad, assessment=assessment)], bookings=[flight]))

    response = await api.call(coordinator, "GET", f"/cases/{case.case_id}/timeline")
    assert response.status_code == 200, response.text
    timeline = response.json()
    assert timeline["phase"] == "awaiting_flight"
    # In the order a departure takes them, each person's in the family's order.
    assert [s["key"] for s in timeline["steps"]] == [
        "exit_permit", f"health_assessment:{mariam}", f"health_assessment:{ahmad}", "flight_booking"]
    assert timeline["steps"][1]["valid_until"] == (date.today() + timedelta(days=180)).isoformat()
    assert timeline["blockers"] == ["exit_permit: authority asks for a new photo"]
    assert datetime.fromisoformat(timeline["next_deadline"]) == soon
    assert timeline["booking"]["flight_number"] == "ET302" and timeline["booking"]["status"] == "booked"
    for medical in ("tuberculosis", "sputum", "tb_class", "B1", "findings"):
        assert medical not in response.text


# -- departures on the time-skipping server ------------------------------------------------------------------------

SLOW_PARTNERS = quiet_simulator(permit_delay_min=timedelta(days=60), permit_delay_max=timedelta(days=61),
                                document_delay_min=timedelta(days=60), document_delay_max=timedelta(days=61))


@pytest_asyncio.fixture
async def departures(world: World, tmp_path: Path) -> AsyncIterator[Api]:
    async with serving(world.store, world.client, settings_for(tmp_path, world.task_queue)) as served:
        yield served


async def started(api: Api, world: World, coordinator: Principal, **body: Any) -> tuple[str, httpx.Response]:
    created = await api.call(coordinator, "POST", "/cases", json=case_body(await world.today(), **body))
    case_id = created.json()["case_id"]
    response = await api.call(coordinator, "POST", f"/cases/{case_id}/departure")
    world.started.append(world.client.get_workflow_handle(f"departure-{case_id}"))  # stopped after the test
    return case_id, response


async def reported(api: Api, world: World, coordinator: Principal, case_id: str,
                   ready: Any = lambda timeline: bool(timeline["steps"])) -> dict[str, Any]:
    """The timeline once the departure has written what `ready` looks for, moving the clock a little each time."""
    for _ in range(200):
        timeline = (await api.call(coordinator, "GET", f"/cases/{case_id}/timeline")).json()
        if ready(timeline):
            return timeline
        await world.env.sleep(timedelta(minutes=5))
    raise AssertionError(f"the departure never reported: {timeline}")


@pytest.mark.parametrize("simulator_settings", [SLOW_PARTNERS])
async def test_starting_a_departure_twice_returns_the_same_departure(world: World, departures: Api) -> None:
    coordinator = member(Role.COORDINATOR, f"office_{uuid.uuid4().hex[:8]}")
    case_id, first = await started(departures, world, coordinator)
    assert first.status_code == 201, first.text
    again = await departures.call(coordinator, "POST", f"/cases/{case_id}/departure")
    assert again.status_code == 200, again.text
    assert again.json()["workflow_id"] == first.json()["workflow_id"] == f"departure-{case_id}"
    assert again.json()["run_id"] == first.json()["run_id"] is not None

    timeline = await reported(departures, world, coordinator, case_id,
                              lambda t: any(s["key"] == "exit_permit" and s["state"] == "requested"
                                            for s in t["steps"]))
    # Once the departure has reported, a third start is answered from the store: still the same run.
    third = await departures.call(coordinator, "POST", f"/cases/{case_id}/departure")
    assert third.status_code == 200 and third.json()["run_id"] == first.json()["run_id"]
    assert timeline["phase"] in ("preparing", "booking")
    assert {s["step"] for s in timeline["steps"]} >= {"exit_permit", "travel_document", "health_assessment"}
    assert all(s["step"] not in ("pre_departure_screening", "fitness_to_travel") for s in timeline["steps"])

    started_rows = [e for e in await world.store.audit_events(case_id) if e.action == "departure.started"]
    by_api = [e for e in started_rows if e.actor == f"{coordinator.org_id}/{coordinator.subject}"]
    assert len(by_api) == 1 and by_api[0].detail["run_id"] == first.json()["run_id"]


@pytest.mark.parametrize("simulator_settings", [SLOW_PARTNERS])
async def test_a_coordinator_defers_changes_the_date_and_cancels(world: World, departures: Api) -> None:
    coordinator = member(Role.COORDINATOR, f"office_{uuid.uuid4().hex[:8]}")
    case_id, _ = await started(departures, world, coordinator)
    await reported(departures, world, coordinator, case_id)
    today = await world.today()

    past = {"not_before": (today - timedelta(days=1)).isoformat(), "reason": "family request"}
    body = problem(await departures.call(coordinator, "POST", f"/cases/{case_id}/departure/defer", json=past), 422)
    assert fields(body) == ["body.not_before"] and "in the past" in body["errors"][0]["message"]
    moved = {"date": (today - timedelta(days=1)).isoformat(), "reason": "charter moved"}
    assert fields(problem(await departures.call(coordinator, "POST", f"/cases/{case_id}/departure/date",
                                                json=moved), 422)) == ["body.date"]

    not_before = today + timedelta(days=40)
    deferred = await departures.call(coordinator, "POST", f"/cases/{case_id}/departure/defer",
                                     json={"not_before": not_before.isoformat(), "reason": "newborn's papers"})
    assert deferred.status_code == 200, deferred.text
    assert deferred.json()["phase"] == "deferred" and deferred.json()["not_before"] == not_before.isoformat()
    assert deferred.json()["deferrals"][-1]["by"] == coordinator.subject
    timeline = (await departures.call(coordinator, "GET", f"/cases/{case_id}/timeline")).json()
    assert timeline["phase"] == "deferred" and timeline["reason"] == "newborn's papers"

    new_date = today + timedelta(days=55)
    changed = await departures.call(coordinator, "POST", f"/cases/{case_id}/departure/date",
                                    json={"date": new_date.isoformat(), "reason": "charter moved"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["not_before"] == new_date.isoformat() and len(changed.json()["deferrals"]) == 2

    # The workflow's clock runs ahead of the API's here, so this date passes the API's check and the departure
    # itself refuses it: the refusal still names the field.
    await world.env.sleep(timedelta(days=3))
    tomorrow_for_the_api = {"date": (date.today() + timedelta(days=1)).isoformat(), "reason": "earlier flight"}
    body = problem(await departures.call(coordinator, "POST", f"/cases/{case_id}/departure/date",
                                         json=tomorrow_for_the_api), 422)
    assert fields(body) == ["body.date"]

    cancelled = await departures.call(coordinator, "POST", f"/cases/{case_id}/departure/cancel",
                                      json={"reason": "case withdrawn"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["phase"] == "cancelled"
    for url, payload in ((f"/cases/{case_id}/departure/cancel", {"reason": "again"}),
                         (f"/cases/{case_id}/departure/defer", {"not_before": new_date.isoformat(), "reason": "x"})):
        assert "cancelled" in problem(await departures.call(coordinator, "POST", url, json=payload), 409)["detail"]
    problem(await departures.call(coordinator, "PUT", f"/cases/{case_id}", json=case_body(today)), 409)

    actions = [e.action for e in await world.store.audit_events(case_id)
               if e.actor.startswith(f"{coordinator.org_id}/")]
    assert actions == ["case.created", "departure.started", "departure.deferred", "departure.date_changed",
                       "departure.cancelled"]


async def test_changing_a_departure_that_has_ended_is_a_conflict(api: Api, office: str) -> None:
    coordinator = member(Role.COORDINATOR, office)
    case_id = (await api.call(coordinator, "POST", "/cases", json=case_body(date.today()))).json()["case_id"]
    # A departure the store shows as over is refused from the store alone (this app has no Temporal client).
    await api.store.apply_progress(ProgressUpdate(case_id=case_id, phase=Phase.DEPARTED))
    body = problem(await api.call(coordinator, "POST", f"/cases/{case_id}/departure/cancel",
                                  json={"reason": "too late"}), 409)
    assert "departed" in body["detail"]


@pytest.mark.parametrize("simulator_settings", [SLOW_PARTNERS])
async def test_a_departure_not_started_cannot_be_deferred(world: World, departures: Api) -> None:
    coordinator = member(Role.COORDINATOR, f"office_{uuid.uuid4().hex[:8]}")
    case_id = (await departures.call(coordinator, "POST", "/cases",
                                     json=case_body(await world.today()))).json()["case_id"]
    tomorrow = (await world.today() + timedelta(days=1)).isoformat()
    body = problem(await departures.call(coordinator, "POST", f"/cases/{case_id}/departure/defer",
                                         json={"not_before": tomorrow, "reason": "family request"}), 409)
    assert "no departure has been started" in body["detail"]


# -- audit ---------------------------------------------------------------------------------------------------------

async def test_a_coordinator_reads_only_its_own_offices_audit_trail(api: Api, office: str) -> None:
    ours, theirs = member(Role.COORDINATOR, office), member(Role.COORDINATOR, f"{office}_other")
    our_case = (await api.call(ours, "POST", "/cases", json=case_body(date.today()))).json()["case_id"]
    their_case = (await api.call(theirs, "POST", "/cases", json=case_body(date.today()))).json()["case_id"]
    await api.call(ours, "PUT", f"/cases/{our_case}", json=case_body(date.today()))
    await api.store.apply_progress(ProgressUpdate(case_id=our_case, phase=Phase.PREPARING))

    rows = (await api.call(ours, "GET", "/audit")).json()["items"]
    assert {row["object_id"] for row in rows} == {our_case}
    assert [row["action"] for row in rows] == ["case.updated", "case.created"]  # newest first
    assert all(row["actor"] == f"{office}/{ours.subject}" for row in rows)
    assert (await api.call(ours, "GET", f"/audit?object_id={their_case}")).json()["items"] == []

    only = (await api.call(ours, "GET", "/audit?action=case.created")).json()["items"]
    assert [row["action"] for row in only] == ["case.created"]
    first = (await api.call(ours, "GET", "/audit?limit=1")).json()
    rest = (await api.call(ours, "GET", f"/audit?limit=1&cursor={first['next_cursor']}")).json()
    assert [first["items"][0]["action"], rest["items"][0]["action"]] == ["case.updated", "case.created"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert (await api.call(ours, "GET", "/audit", params={"since": future})).json()["items"] == []
    problem(await api.call(ours, "GET", "/audit", params={"since": "2026-01-01T00:00:00"}), 422)  # no time zone
    problem(await api.call(member(Role.RECEPTION_TEAM, office), "GET", "/audit"), 403)


# -- limits --------------------------------------------------------------------------------------------------------

async def test_a_body_over_the_limit_is_refused_with_413(store: Store, tmp_path: Path, office: str) -> None:
    coordinator = member(Role.COORDINATOR, office)
    async with serving(store, None, settings_for(tmp_path, max_body_bytes=4096)) as api:
        body = case_body(date.today())
        small = await api.call(coordinator, "POST", "/cases", json=body)
        assert small.status_code == 201
        body["people"][0]["given_name"] = "M" * 100
        body["reference"] = "R"
        body["people"] = body["people"] * 20  # still valid field by field, but over 4 KiB
        too_large = problem(await api.call(coordinator, "POST", "/cases", json=body), 413)
        assert "4096" in too_large["detail"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b" " * 1024

        problem(await api.call(coordinator, "POST", "/cases", content=chunks(),
                               headers={"content-type": "application/json"}), 413)
    assert await store.load_case(small.json()["case_id"]) is not None


async def test_the_expensive_routes_are_rate_limited_per_caller(store: Store, tmp_path: Path, office: str) -> None:
    first, second = member(Role.COORDINATOR, office), member(Role.COORDINATOR, office)
    async with serving(store, None, settings_for(tmp_path, rate_limit_case_list="2/minute")) as api:
        for _ in range(2):
            assert (await api.call(first, "GET", "/cases")).status_code == 200
        refused = await api.call(first, "GET", "/cases")
        body = problem(refused, 429)
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "retry" in body["detail"]
        assert (await api.call(second, "GET", "/cases")).status_code == 200, "another caller has its own count"
        assert (await api.call(first, "GET", f"/cases/{uuid.uuid4().hex[:8]}")).status_code == 404, \
            "routes outside the bucket are not counted"

    async with serving(store, None, settings_for(tmp_path, rate_limit_case_list="1/minute",
                                                 rate_limits_enabled=False)) as api:
        for _ in range(3):
            assert (await api.call(first, "GET", "/cases")).status_code == 200
