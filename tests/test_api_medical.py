"""The medical partner's routes against a real departure on the time-skipping server, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.app import create_app
from api.auth.dependencies import current_principal
from api.context import ApiContext
from api.medical import service
from api.principal import ROLE_SCOPES, Principal, Role
from api.problems import ProblemError
from domain.case import Case, FunctionalNeed
from domain.departure import Phase
from domain.medical import AssessmentResult
from domain.policy import DestinationPolicy
from domain.steps import Step, StepState
from predeparture.settings import Settings
from tests.departure_harness import Drive, World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.factories import family

FAST = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                       document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))
pytestmark = pytest.mark.parametrize("simulator_settings", [FAST])


def member(role: Role, org_id: str, subject: str) -> Principal:
    return Principal(subject=subject, org_id=org_id, role=role, scopes=ROLE_SCOPES[role])


CLINIC_A = member(Role.MEDICAL_PARTNER, "clinic_a", "usr_clinic_a_1")
CLINIC_B = member(Role.MEDICAL_PARTNER, "clinic_b", "usr_clinic_b_1")
COORDINATOR = member(Role.COORDINATOR, "office_nairobi", "usr_office_1")


class Api:
    """The app as a clinic (or anyone) calls it; `as_` says who is calling."""

    def __init__(self, app: FastAPI, http: httpx.AsyncClient) -> None:
        self.app = app
        self.http = http

    def as_(self, principal: Principal) -> httpx.AsyncClient:
        self.app.dependency_overrides[current_principal] = lambda: principal
        return self.http


@pytest_asyncio.fixture
async def api(world: World, tmp_path: Path) -> AsyncIterator[Api]:
    async with serve(world, tmp_path, world.client) as served:
        yield served


@asynccontextmanager
async def serve(world: World, tmp_path: Path, temporal: object) -> AsyncIterator[Api]:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    app = create_app(context=ApiContext(settings, world.store, cast(Client, temporal)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield Api(app, http)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text and 'File "' not in response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body["errors"]]


async def start(world: World, clinic: str, children: int = 1, policy: DestinationPolicy | None = None) -> Drive:
    case: Case = family(await world.today(), children=children).model_copy(update={"medical_partner_id": clinic})
    return await world.start(case, policy=policy)


async def assessments_scheduled(drive: Drive) -> None:
    for person in drive.case.people:
        await drive.until_step(Step.HEALTH_ASSESSMENT, person.person_id, StepState.SCHEDULED)


def assessment(person_id: str, exam_date: date, **changes: Any) -> dict[str, Any]:
    return {"person_id": person_id, "exam_date": exam_date.isoformat(), "tb_class": "none",
            "findings": "chest x-ray clear", **changes}


async def test_a_clinic_sees_only_its_own_people_and_nobody_else_sees_them(world: World, api: Api) -> None:
    ours, theirs = await start(world, "clinic_a", children=1), await start(world, "clinic_b", children=0)
    await assessments_scheduled(ours)
    await assessments_scheduled(theirs)

    response = await api.as_(CLINIC_A).get("/medical/worklist")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    ours_people = {(ours.case.case_id, p.person_id) for p in ours.case.people}
    assert {(i["case_id"], i["person_id"]) for i in items} == ours_people
    stored = {r.person_id: r for r in await world.store.step_records(ours.case.case_id)}
    for item in items:
        person = ours.case.person(item["person_id"])
        assert person is not None and item["family_name"] == person.family_name
        assert item["date_of_birth"] == person.date_of_birth.isoformat()
        assert item["step"] == "health_assessment" and item["state"] == "scheduled" and item["attempt"] == 1
        record = stored[item["person_id"]]
        assert item["appointment_reference"] == record.reference and record.due_by is not None
        assert datetime.fromisoformat(item["due_by"]) == record.due_by
        assert item["flight_departs_at"] is None
    deadlines = [i["due_by"] for i in items]
    assert deadlines == sorted(deadlines)
    only_fitness = await api.as_(CLINIC_A).get("/medical/worklist", params={"step": "fitness_to_travel"})
    assert only_fitness.status_code == 200 and only_fitness.json()["items"] == []
    problem(await api.as_(CLINIC_A).get("/medical/worklist", params={"step": "departure"}), 422)

    # Another clinic: an empty worklist for these people, and 404 for the case, as if it did not exist.
    other = (await api.as_(CLINIC_B).get("/medical/worklist")).json()["items"]
    assert {i["case_id"] for i in other} == {theirs.case.case_id}
    principal = ours.case.principal.person_id
    today = await world.today()
    outsider = await api.as_(CLINIC_B).post(f"/medical/cases/{ours.case.case_id}/assessments",
                                            json=assessment(principal, today))
    assert "no such case" in problem(outsider, 404)["detail"]
    unknown = await api.as_(CLINIC_B).post("/medical/cases/case_0000000000000000/assessments",
                                           json=assessment(principal, today))
    assert problem(unknown, 404)["detail"] == problem(outsider, 404)["detail"], "ids are not confirmed to outsiders"
    problem(await api.as_(CLINIC_B).get(f"/medical/cases/{ours.case.case_id}/people/{principal}"), 404)
    assert (await ours.state()).steps[f"health_assessment:{principal}"].state is StepState.SCHEDULED

    # A coordinator holds no medical scope: 403 on every route, whichever case.
    coordinator = api.as_(COORDINATOR)
    case_url = f"/medical/cases/{ours.case.case_id}"
    for response in [
        await coordinator.get("/medical/worklist"),
        await coordinator.post(f"{case_url}/assessments", json=assessment(principal, today)),
        await coordinator.post(f"{case_url}/screenings", json={"person_id": principal, "screened_on": str(today),
                                                               "cleared": True}),
        await coordinator.post(f"{case_url}/fitness-checks", json={"person_id": principal, "fit": True,
                                                                   "checked_at": f"{today}T08:00:00Z"}),
        await coordinator.get(f"{case_url}/people/{principal}"),
    ]:
        assert "medical" in problem(response, 403)["detail"]
    # The store is shared by the session's tests: look only at what concerns this test's people.
    ours_ids = {ours.case.case_id, *(p.person_id for p in ours.case.people)}
    assert not [e for e in await world.store.audit_events()
                if e.action.startswith("medical.") and (e.object_id in ours_ids or e.detail.get("case_id") in ours_ids)]


async def test_an_assessment_is_applied_once_and_its_file_read_is_audited(world: World, api: Api) -> None:
    drive = await start(world, "clinic_a", children=0)
    await assessments_scheduled(drive)
    case_id, principal = drive.case.case_id, drive.case.principal.person_id
    url = f"/medical/cases/{case_id}/assessments"
    today = await world.today()
    body = assessment(principal, today, tb_class="B1", findings="TB class B1, treated 2024",
                      functional_needs=["follow_up_after_arrival"], examined_by="clinic_forged")

    first = await api.as_(CLINIC_A).post(url, json=body)
    assert first.status_code == 200, first.text
    record = first.json()
    assert record["state"] == "done" and record["person_id"] == principal
    assert record["valid_from"] == today.isoformat() and record["valid_until"] is not None
    again = await api.as_(CLINIC_A).post(url, json=body)
    assert again.status_code == 200 and again.json() == record

    state = await drive.state()
    assert state.steps[f"health_assessment:{principal}"].state is StepState.DONE
    assert state.medical[principal].assessment is not None
    assert state.medical[principal].assessment.examined_by == "clinic_a", "signed by the caller's clinic"
    events = await world.store.audit_events(case_id)
    assert [e.action for e in events].count("medical.assessment_submitted") == 1, "applied once"
    submitted = [e for e in events if e.action == "medical.result_submitted"]
    assert len(submitted) == 1
    assert submitted[0].actor == "usr_clinic_a_1" and submitted[0].detail["person_id"] == principal
    assert "TB" not in str(submitted[0].model_dump()) and "Haidari" not in str(submitted[0].model_dump())
    worklist = (await api.as_(CLINIC_A).get("/medical/worklist")).json()["items"]
    assert principal not in {i["person_id"] for i in worklist}
    # Update ids are remembered per workflow run: after a continue-as-new the same result gets through to the
    # validator, which finds the step closed, by this very result, so the answer is still the step, not a 422.
    same = AssessmentResult.model_validate({**body, "examined_by": "clinic_a"})
    applied = await service.apply_result(api.app.state.context, case_id, service.ASSESSMENT, same, "new-run-retry")
    assert applied.state is StepState.DONE and applied.model_dump(mode="json") == record
    other = same.model_copy(update={"findings": "a different result"})
    with pytest.raises(ProblemError) as rejected:
        await service.apply_result(api.app.state.context, case_id, service.ASSESSMENT, other, "another-result")
    assert rejected.value.status == 422 and rejected.value.errors[0].field == "body.person_id"

    read = await api.as_(CLINIC_A).get(f"/medical/cases/{case_id}/people/{principal}")
    assert read.status_code == 200, read.text
    medical = read.json()
    assert medical["assessment"]["tb_class"] == "B1"
    assert medical["assessment"]["findings"] == "TB class B1, treated 2024"
    assert medical["screening"] is None and medical["fitness"] is None
    reads = [e for e in await world.store.audit_events(principal) if e.action == "medical.read"]
    assert len(reads) == 1 and reads[0].actor == "usr_clinic_a_1" and reads[0].detail["case_id"] == case_id
    problem(await api.as_(CLINIC_B).get(f"/medical/cases/{case_id}/people/{principal}"), 404)
    problem(await api.as_(CLINIC_A).get(f"/medical/cases/{case_id}/people/per_nobody"), 404)
    assert len([e for e in await world.store.audit_events() if e.action == "medical.read"
                and e.object_id in {principal, "per_nobody"}]) == 1


async def test_a_result_that_breaks_a_rule_is_a_422_naming_the_field(world: World, api: Api) -> None:
    drive = await start(world, "clinic_a", children=0)
    await assessments_scheduled(drive)
    case_id, principal = drive.case.case_id, drive.case.principal.person_id
    clinic = api.as_(CLINIC_A)
    today = await world.today()
    before = (await drive.state()).model_dump()

    unknown = await clinic.post(f"/medical/cases/{case_id}/assessments", json=assessment("per_nobody", today))
    assert fields(problem(unknown, 422)) == ["body.person_id"]
    # In the future by the departure's own clock, which the workflow judges.
    future = await clinic.post(f"/medical/cases/{case_id}/assessments",
                               json=assessment(principal, today + timedelta(days=3)))
    assert fields(problem(future, 422)) == ["body.exam_date"]
    assert "in the future" in problem(future, 422)["errors"][0]["message"]
    before_birth = await clinic.post(f"/medical/cases/{case_id}/assessments",
                                     json=assessment(principal, date(1980, 1, 1)))
    assert fields(problem(before_birth, 422)) == ["body.exam_date"]
    malformed = await clinic.post(f"/medical/cases/{case_id}/assessments",
                                  json=assessment(principal, today, tb_class="Z"))
    assert fields(problem(malformed, 422)) == ["body.tb_class"]
    no_flight = await clinic.post(f"/medical/cases/{case_id}/fitness-checks", json={
        "person_id": principal, "checked_at": f"{today}T08:00:00Z", "fit": True})
    body = problem(no_flight, 422)
    assert fields(body) == ["body.person_id"] and "not open" in body["errors"][0]["message"]
    assert (await drive.state()).model_dump() == before
    assert not [e for e in await world.store.audit_events(case_id) if e.action.startswith("medical.")]

    # A case whose departure has not started takes no result.
    idle = family(today, children=0).model_copy(update={"medical_partner_id": "clinic_a"})
    await world.store.save_case(idle)
    not_started = await clinic.post(f"/medical/cases/{idle.case_id}/assessments",
                                    json=assessment(idle.principal.person_id, today))
    assert "not started" in problem(not_started, 409)["detail"]


class Unreachable:
    """Temporal as seen through a broken network: every call fails before the server hears of it."""

    def get_workflow_handle_for(self, *args: object, **kwargs: object) -> Unreachable:
        return self

    async def start_update(self, *args: object, **kwargs: object) -> None:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


class AnswerLost:
    """Temporal accepts the Update, but the answer never reaches the API."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.handle: Any = None

    def get_workflow_handle_for(self, *args: Any, **kwargs: Any) -> AnswerLost:
        self.handle = self.client.get_workflow_handle_for(*args, **kwargs)
        return self

    async def start_update(self, *args: Any, **kwargs: Any) -> None:
        await self.handle.start_update(*args, **kwargs)
        raise WorkflowUpdateRPCTimeoutOrCancelledError()


async def test_a_result_temporal_did_not_take_is_a_503_to_retry_and_applied_once(world: World, api: Api,
                                                                                 tmp_path: Path) -> None:
    drive = await start(world, "clinic_a", children=1)
    await assessments_scheduled(drive)
    case_id = drive.case.case_id
    url = f"/medical/cases/{case_id}/assessments"
    today = await world.today()
    spouse, child = drive.case.people[1].person_id, drive.case.people[2].person_id

    async with serve(world, tmp_path, Unreachable()) as down:
        refused = await down.as_(CLINIC_A).post(url, json=assessment(spouse, today))
    assert problem(refused, 503) and refused.headers["retry-after"].isdigit()
    assert (await drive.state()).steps[f"health_assessment:{spouse}"].state is StepState.SCHEDULED
    retried = await api.as_(CLINIC_A).post(url, json=assessment(spouse, today))
    assert retried.status_code == 200 and retried.json()["state"] == "done", retried.text

    async with serve(world, tmp_path, AnswerLost(world.client)) as lossy:
        lost = await lossy.as_(CLINIC_A).post(url, json=assessment(child, today))
    assert problem(lost, 503) and lost.headers["retry-after"].isdigit()
    retried = await api.as_(CLINIC_A).post(url, json=assessment(child, today))
    assert retried.status_code == 200 and retried.json()["state"] == "done", retried.text
    events = [e.detail["step"] for e in await world.store.audit_events(case_id)
              if e.action == "medical.assessment_submitted"]
    assert sorted(events) == sorted([f"health_assessment:{spouse}", f"health_assessment:{child}"])


async def test_screenings_and_fitness_checks_are_timed_off_the_booked_flight(world: World, api: Api) -> None:
    drive = await start(world, "clinic_a", children=0, policy=DestinationPolicy(b1_screening_within_days=7))
    await assessments_scheduled(drive)
    case_id, principal, spouse = drive.case.case_id, drive.case.principal.person_id, drive.case.people[1].person_id
    clinic = api.as_(CLINIC_A)
    for person, tb in ((principal, "B1"), (spouse, "none")):
        sent = await clinic.post(f"/medical/cases/{case_id}/assessments",
                                 json=assessment(person, await world.today(), tb_class=tb))
        assert sent.status_code == 200, sent.text

    state = await drive.until_step(Step.PRE_DEPARTURE_SCREENING, principal, StepState.SCHEDULED,
                                   every=timedelta(hours=12))
    assert state.booking is not None
    departs = state.booking.departs_at
    screenings = (await clinic.get("/medical/worklist", params={"step": "pre_departure_screening"})).json()["items"]
    assert [(i["person_id"], i["step"]) for i in screenings] == [(principal, "pre_departure_screening")]
    assert datetime.fromisoformat(screenings[0]["flight_departs_at"]) == departs
    too_early = await clinic.post(f"/medical/cases/{case_id}/screenings", json={
        "person_id": principal, "screened_on": (departs.date() - timedelta(days=8)).isoformat(), "cleared": True})
    assert fields(problem(too_early, 422)) == ["body.screened_on"]
    screened = await clinic.post(f"/medical/cases/{case_id}/screenings", json={
        "person_id": principal, "screened_on": (await world.today()).isoformat(), "cleared": True,
        "findings": "sputum smear negative"})
    assert screened.status_code == 200 and screened.json()["state"] == "done", screened.text

    await drive.until_step(Step.FITNESS_TO_TRAVEL, spouse, StepState.SCHEDULED, every=timedelta(hours=3))
    fitness = (await clinic.get("/medical/worklist", params={"step": "fitness_to_travel"})).json()["items"]
    assert {i["person_id"] for i in fitness} == {principal, spouse}
    assert all(datetime.fromisoformat(i["flight_departs_at"]) == departs for i in fitness)
    naive = await clinic.post(f"/medical/cases/{case_id}/fitness-checks", json={
        "person_id": spouse, "checked_at": datetime.combine(await world.today(), time(8)).isoformat(), "fit": True})
    assert fields(problem(naive, 422)) == ["body.checked_at"]
    for person in (principal, spouse):
        checked = await clinic.post(f"/medical/cases/{case_id}/fitness-checks", json={
            "person_id": person, "checked_at": (await drive.now()).isoformat(), "fit": True,
            "functional_needs": [FunctionalNeed.WHEELCHAIR.value] if person == spouse else []})
        assert checked.status_code == 200 and checked.json()["state"] == "done", checked.text
    assert (await drive.until(lambda s: s.phase is Phase.DEPARTED)).phase is Phase.DEPARTED

    medical = (await clinic.get(f"/medical/cases/{case_id}/people/{principal}")).json()
    assert medical["screening"]["findings"] == "sputum smear negative" and medical["fitness"]["fit"] is True
    late = await clinic.post(f"/medical/cases/{case_id}/assessments", json=assessment(spouse, await world.today()))
    assert "departed" in problem(late, 409)["detail"]
