"""Reception teams' arrivals and manifests, and partners' callbacks, through the API on both databases. The
decision callbacks run against a real departure on the time-skipping server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from api.principal import Role
from domain.case import FunctionalNeed
from domain.departure import BookingStatus, Phase, ProgressUpdate
from domain.medical import AssessmentResult, FitnessResult, MedicalFile, TbClass
from domain.steps import Step, StepState
from store.repository import Store
from tests.departure_harness import Drive, World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.test_api_coordinator import (  # noqa: F401
    Api,
    api,
    booking,
    case_body,
    fields,
    member,
    problem,
    serving,
    settings_for,
    store,
    stored_case,
)

MEDICAL_WORDS = ("findings", "tb_class", "tuberculosis", "B1", "asthma", "sputum", "assessment", "examined_by")


def reception_org() -> str:
    return f"org_reception_{uuid.uuid4().hex[:8]}"


async def test_a_reception_team_sees_only_its_own_arrivals(api: Api, store: Store) -> None:
    ours, theirs = reception_org(), reception_org()
    office = f"office_{uuid.uuid4().hex[:8]}"
    flying = await stored_case(store, office, reception=ours, phase=Phase.AWAITING_FLIGHT,
                               needs=[FunctionalNeed.WHEELCHAIR])
    await store.apply_progress(_with_booking(flying.case_id, Phase.AWAITING_FLIGHT, timedelta(days=12)))
    landed = await stored_case(store, office, reception=ours, phase=Phase.DEPARTED)
    await store.apply_progress(_with_booking(landed.case_id, Phase.DEPARTED, timedelta(days=-2)))
    long_ago = await stored_case(store, office, reception=ours, phase=Phase.DEPARTED)
    await store.apply_progress(_with_booking(long_ago.case_id, Phase.DEPARTED, timedelta(days=-60)))
    rebooking = await stored_case(store, office, reception=ours, phase=Phase.DEFERRED)
    await store.apply_progress(_with_booking(rebooking.case_id, Phase.DEFERRED, timedelta(days=5),
                                             status=BookingStatus.CANCELLED))
    cancelled = await stored_case(store, office, reception=ours, phase=Phase.CANCELLED)
    await store.apply_progress(_with_booking(cancelled.case_id, Phase.CANCELLED, timedelta(days=5)))
    not_booked = await stored_case(store, office, reception=ours)
    elsewhere = await stored_case(store, office, reception=theirs, phase=Phase.AWAITING_FLIGHT)
    await store.apply_progress(_with_booking(elsewhere.case_id, Phase.AWAITING_FLIGHT, timedelta(days=3)))

    team = member(Role.RECEPTION_TEAM, ours)
    response = await api.call(team, "GET", "/arrivals")
    assert response.status_code == 200, response.text
    arrivals = response.json()["items"]
    assert [a["case_id"] for a in arrivals] == [landed.case_id, flying.case_id]  # by arrival time
    upcoming = arrivals[1]
    assert upcoming["travellers"] == 3 and upcoming["functional_needs"] == {"wheelchair": 1}
    assert upcoming["flight"]["flight_number"] == "ET302" and upcoming["phase"] == "awaiting_flight"
    assert not_booked.case_id not in response.text

    other_team = member(Role.RECEPTION_TEAM, theirs)
    assert [a["case_id"] for a in (await api.call(other_team, "GET", "/arrivals")).json()["items"]] == [
        elsewhere.case_id]
    problem(await api.call(member(Role.COORDINATOR, office), "GET", "/arrivals"), 403)


def _with_booking(case_id: str, phase: Phase, departs_in: timedelta,
                  status: BookingStatus = BookingStatus.BOOKED) -> ProgressUpdate:
    return ProgressUpdate(case_id=case_id, phase=phase, bookings=[booking(case_id, departs_in, status=status)])


async def test_a_manifest_carries_functional_needs_only_and_every_read_is_audited(api: Api, store: Store) -> None:
    ours = reception_org()
    office = f"office_{uuid.uuid4().hex[:8]}"
    case = await stored_case(store, office, reception=ours, phase=Phase.AWAITING_FLIGHT,
                             needs=[FunctionalNeed.WHEELCHAIR])
    mariam, ahmad, child = (p.person_id for p in case.people)
    now = datetime.now(UTC)
    medical = [
        MedicalFile(person_id=ahmad, assessment=AssessmentResult(
            person_id=ahmad, exam_date=date.today(), tb_class=TbClass.B1, examined_by="clinic_a",
            findings="latent tuberculosis; sputum culture pending", functional_needs=[FunctionalNeed.FOLLOW_UP])),
        MedicalFile(person_id=child, fitness=FitnessResult(
            person_id=child, checked_at=now, fit=True, findings="asthma, inhaler on board", examined_by="clinic_a",
            functional_needs=[FunctionalNeed.OXYGEN])),
    ]
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.AWAITING_FLIGHT, medical=medical,
                                              bookings=[booking(case.case_id, timedelta(days=9))]))
    team = member(Role.RECEPTION_TEAM, ours)

    response = await api.call(team, "GET", f"/arrivals/{case.case_id}/manifest")
    assert response.status_code == 200, response.text
    manifest = response.json()
    travellers = {t["person_id"]: t for t in manifest["travellers"]}
    assert list(travellers) == [mariam, ahmad, child]
    assert travellers[mariam]["given_name"] == "Mariam" and travellers[mariam]["date_of_birth"] == "1986-03-14"
    assert travellers[mariam]["languages"] == ["fa", "ps"] and travellers[mariam]["relationship"] == "principal"
    assert travellers[mariam]["functional_needs"] == ["wheelchair"]
    assert travellers[ahmad]["functional_needs"] == ["follow_up_after_arrival"]
    assert travellers[child]["functional_needs"] == ["oxygen"]
    assert manifest["flight"]["flight_number"] == "ET302"
    for word in MEDICAL_WORDS:
        assert word not in response.text, word
    assert "passport" not in response.text

    await api.call(team, "GET", f"/arrivals/{case.case_id}/manifest")
    reads = [e for e in await store.audit_events(case.case_id) if e.action == "manifest.read"]
    assert len(reads) == 2, "every read by an outside organisation is recorded"
    assert all(e.actor == f"{ours}/{team.subject}" and e.detail["org_id"] == ours for e in reads)

    arrivals = (await api.call(team, "GET", "/arrivals")).json()["items"]
    assert arrivals[0]["functional_needs"] == {"wheelchair": 1, "oxygen": 1, "follow_up_after_arrival": 1}
    for word in MEDICAL_WORDS:
        assert word not in str(arrivals), word

    # Another reception team, or a case with no flight, looks exactly like an unknown case.
    stranger = member(Role.RECEPTION_TEAM, reception_org())
    foreign = problem(await api.call(stranger, "GET", f"/arrivals/{case.case_id}/manifest"), 404)
    unbooked = await stored_case(store, office, reception=ours)
    assert problem(await api.call(team, "GET", f"/arrivals/{unbooked.case_id}/manifest"), 404) == {
        **foreign, "instance": f"/arrivals/{unbooked.case_id}/manifest"}
    assert len([e for e in await store.audit_events(case.case_id) if e.action == "manifest.read"]) == 2
    problem(await api.call(member(Role.COORDINATOR, office), "GET", f"/arrivals/{case.case_id}/manifest"), 403)


# -- partner callbacks ---------------------------------------------------------------------------------------------

SLOW_PARTNERS = quiet_simulator(permit_delay_min=timedelta(days=60), permit_delay_max=timedelta(days=61),
                                document_delay_min=timedelta(days=60), document_delay_max=timedelta(days=61))


@pytest_asyncio.fixture
async def departures(world: World, tmp_path: Path) -> AsyncIterator[Api]:
    async with serving(world.store, world.client, settings_for(tmp_path, world.task_queue)) as served:
        yield served


async def requested(world: World, drive: Drive, step_name: Step) -> dict[str, str]:
    """The partner references of the steps of this kind, once the departure has asked the partner."""
    state = await drive.until(lambda s: any(r.step is step_name and r.state is StepState.REQUESTED
                                             for r in s.steps.values()), every=timedelta(minutes=5))
    return {r.key: r.reference or "" for r in state.steps.values()
            if r.step is step_name and r.state is StepState.REQUESTED}


def issued(today: date, number: str) -> dict[str, Any]:
    return {"status": "issued", "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=300)).isoformat(), "document_number": number}


@pytest.mark.parametrize("simulator_settings", [SLOW_PARTNERS])
async def test_an_exit_permit_callback_reaches_the_departure_once(world: World, departures: Api) -> None:
    coordinator = member(Role.COORDINATOR, f"office_{uuid.uuid4().hex[:8]}")
    case_id = (await departures.call(coordinator, "POST", "/cases",
                                     json=case_body(await world.today()))).json()["case_id"]
    assert (await departures.call(coordinator, "POST", f"/cases/{case_id}/departure")).status_code == 201
    handle = world.client.get_workflow_handle(f"departure-{case_id}")
    world.started.append(handle)  # type: ignore[arg-type]
    case = await world.store.load_case(case_id)
    assert case is not None
    drive = Drive(world, case, handle)  # type: ignore[arg-type]
    reference = (await requested(world, drive, Step.EXIT_PERMIT))["exit_permit"]
    authority = member(Role.EXIT_PERMIT_AUTHORITY, "org_exit_authority")
    today = await world.today()
    url = f"/callbacks/exit-permits/{reference}"

    # Wrong partner, unknown reference, incomplete decision: refused, and nothing reaches the departure.
    problem(await departures.call(member(Role.TRAVEL_DOCUMENT_ISSUER, "org_issuer"), "POST", url,
                                  json=issued(today, "EP-1")), 403)
    problem(await departures.call(coordinator, "POST", url, json=issued(today, "EP-1")), 403)
    problem(await departures.call(authority, "POST", "/callbacks/exit-permits/EXP-unknown-000",
                                  json=issued(today, "EP-1")), 404)
    incomplete = {"status": "issued", "document_number": "EP-1"}
    assert fields(problem(await departures.call(authority, "POST", url, json=incomplete), 422)) == ["body.valid_until"]
    assert (await drive.state()).steps["exit_permit"].state is StepState.REQUESTED

    first = await departures.call(authority, "POST", url, json=issued(today, "EP-448120"))
    assert first.status_code == 202, first.text
    assert first.json()["duplicate"] is False
    state = await drive.until_step(Step.EXIT_PERMIT, None, StepState.DONE, every=timedelta(minutes=5),
                                   limit=timedelta(days=1))
    permit = state.steps["exit_permit"]
    assert permit.document_number == "EP-448120" and permit.valid_until == today + timedelta(days=300)
    await _until_stored(world.store, case_id, lambda records: records["exit_permit"].state is StepState.DONE)

    again = await departures.call(authority, "POST", url, json=issued(today, "EP-448120"))
    assert again.status_code == 202 and again.json()["duplicate"] is True
    after = await drive.state()
    assert after.steps["exit_permit"] == permit and after.callbacks == {}
    rows = [e for e in await world.store.audit_events(case_id) if e.action == "callback.exit_permit"]
    assert len(rows) == 1 and rows[0].actor == f"org_exit_authority/{authority.subject}"
    assert rows[0].detail["delivered"] == "true" and rows[0].detail["reference"] == reference


async def _until_stored(store: Store, case_id: str, ready: Any) -> None:
    for _ in range(100):
        if ready({r.key: r for r in await store.step_records(case_id)}):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the store never caught up")


@pytest.mark.parametrize("simulator_settings", [SLOW_PARTNERS])
async def test_travel_document_callbacks_issue_and_refuse(world: World, departures: Api) -> None:
    coordinator = member(Role.COORDINATOR, f"office_{uuid.uuid4().hex[:8]}")
    case_id = (await departures.call(coordinator, "POST", "/cases",
                                     json=case_body(await world.today(), children=0))).json()["case_id"]
    await departures.call(coordinator, "POST", f"/cases/{case_id}/departure")
    handle = world.client.get_workflow_handle(f"departure-{case_id}")
    world.started.append(handle)  # type: ignore[arg-type]
    case = await world.store.load_case(case_id)
    assert case is not None
    drive = Drive(world, case, handle)  # type: ignore[arg-type]
    await drive.until(lambda s: sum(r.step is Step.TRAVEL_DOCUMENT and r.state is StepState.REQUESTED
                                    for r in s.steps.values()) == 2, every=timedelta(minutes=5))
    references = await requested(world, drive, Step.TRAVEL_DOCUMENT)
    issuer = member(Role.TRAVEL_DOCUMENT_ISSUER, "org_issuer")
    (first_key, first_ref), (second_key, second_ref) = sorted(references.items())
    today = await world.today()

    problem(await departures.call(member(Role.EXIT_PERMIT_AUTHORITY, "org_exit"), "POST",
                                  f"/callbacks/travel-documents/{first_ref}", json=issued(today, "ETD-1")), 403)
    accepted = await departures.call(issuer, "POST", f"/callbacks/travel-documents/{first_ref}",
                                     json=issued(today, "ETD-7781"))
    assert accepted.status_code == 202, accepted.text
    state = await drive.until(lambda s: s.steps[first_key].state is StepState.DONE, every=timedelta(minutes=5),
                              limit=timedelta(days=1))
    assert state.steps[first_key].document_number == "ETD-7781"

    refused = await departures.call(issuer, "POST", f"/callbacks/travel-documents/{second_ref}",
                                    json={"status": "refused", "reason": "identity not established"})
    assert refused.status_code == 202, refused.text
    state = await drive.until(lambda s: s.phase is Phase.REFUSED, every=timedelta(minutes=5), limit=timedelta(days=1))
    assert state.steps[second_key].state is StepState.REFUSED
    assert state.steps[second_key].reason == "identity not established"

    # The departure is over: a late repeat is still accepted, and still changes nothing.
    late = await departures.call(issuer, "POST", f"/callbacks/travel-documents/{first_ref}",
                                 json={"status": "refused", "reason": "changed our mind"})
    assert late.status_code == 202
    assert (await drive.state()).steps[first_key].state is StepState.DONE


async def test_a_booking_callback_is_recorded_once(api: Api, store: Store) -> None:
    office = f"office_{uuid.uuid4().hex[:8]}"
    case = await stored_case(store, office, phase=Phase.AWAITING_FLIGHT)
    flight = booking(case.case_id, timedelta(days=6))
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.AWAITING_FLIGHT, bookings=[flight]))
    travel = member(Role.TRAVEL_PARTNER, "org_travel")
    url = f"/callbacks/bookings/{flight.booking.booking_ref}"

    for expected_duplicate in (False, True):
        response = await api.call(travel, "POST", url, json={"status": "confirmed"})
        assert response.status_code == 202, response.text
        assert response.json()["duplicate"] is expected_duplicate
    cancelled = await api.call(travel, "POST", url, json={"status": "cancelled_by_airline", "reason": "withdrawn"})
    assert cancelled.status_code == 202 and cancelled.json()["duplicate"] is False

    rows = [e for e in await store.audit_events(case.case_id) if e.action == "callback.booking"]
    assert [r.detail["status"] for r in rows] == ["confirmed", "cancelled_by_airline"]
    assert all(r.actor == f"org_travel/{travel.subject}" for r in rows)

    problem(await api.call(travel, "POST", "/callbacks/bookings/FL-unknown", json={"status": "confirmed"}), 404)
    problem(await api.call(member(Role.EXIT_PERMIT_AUTHORITY, "org_exit"), "POST", url,
                           json={"status": "confirmed"}), 403)
    assert fields(problem(await api.call(travel, "POST", url, json={"status": "lost"}), 422)) == ["body.status"]
    problem(await api.http.post(url, json={"status": "confirmed"}), 401)
