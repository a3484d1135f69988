"""Movement and charter pages as coordinators and reception teams meet them, with a real MovementWorkflow on the
time-skipping server: the flight's seats and families (the office's own only named), each team's delivery status
refreshed live, the manifest's versions with what changed, boarding and arrival through the forms (a refusal shown
next to the form, what was ticked kept), and charter planning: inline errors on a bad charter, the proposal with
every family left out and why, and an edited allocation refused family by family."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
import pytest_asyncio

from api.principal import Role
from domain.departure import DepartureState, departure_workflow_id
from domain.movement import notice_cutoff
from domain.planning import ready_case
from domain.steps import Step, StepState
from domain.windows import feasible_window
from tests.api_harness import FAST_PARTNERS, Cast, harness_settings, serving
from tests.departure_harness import Drive, open_world
from tests.test_api_coordinator import case_body
from tests.test_api_movements import Flight, Stage, charter_with_one_family, ready_case_of_office_a
from tests.web_harness import Account, Browser, browser, csrf_of, visible_text
from workflows.departure import DepartureWorkflow


@pytest_asyncio.fixture(scope="module")
async def stage(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stage]:
    async with open_world(database_url, f"tq-web-movements-{uuid.uuid4().hex[:8]}", FAST_PARTNERS) as world:
        settings = harness_settings(tmp_path_factory.mktemp("web-movements"), world.task_queue,
                                    rate_limits_enabled=False)
        async with serving(settings, world.store, world.client) as (app, http):
            yield Stage(world, app, http, await Cast.enrol(world.store, http))


@asynccontextmanager
async def signed_in(stage: Stage, role: Role, side: str = "a") -> AsyncIterator[Browser]:
    identity = stage.cast.of(role, side)
    async with browser(stage.app) as person:
        await person.sign_in(Account(role, identity.org_id, identity.login, identity.secret))
        yield person


def flight_number(page: str) -> str:
    found = re.search(r"<h1>Flight (\w+) ", page)
    assert found, "the page names no flight"
    return found.group(1)


def page_of(flight: Flight) -> str:
    return f"/ui/movements/{flight.movement_id}"


def ticked(html: str) -> set[str]:
    """The values of the ticked checkboxes of the boarding and allocation forms."""
    boxes = re.findall(r'<input type="checkbox"[^>]*>', html)
    return {re.search(r'value="([^"]+)"', box).group(1) for box in boxes  # type: ignore[union-attr]
            if re.search(r'\schecked\b', box) and re.search(r'name="(boarded|case_ids)"', box)}


async def live_until(person: Browser, flight: Flight, text: str) -> str:
    """The live part of the page, fetched as live.js fetches it, until it says `text` (the clock only moves while
    the test sleeps on the test server)."""
    for _ in range(600):
        part = await person.get(f"{page_of(flight)}/live")
        if text in visible_text(part):
            return part.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"the delivery status never said {text!r}: {visible_text(part)}")


async def test_the_office_sees_its_flight_seats_and_families_and_outsiders_see_nothing(stage: Stage) -> None:
    flight = await charter_with_one_family(stage)
    travellers = len(flight.case.people)
    async with signed_in(stage, Role.COORDINATOR) as coordinator:
        shown = await coordinator.get(page_of(flight))
        assert shown.status_code == 200
        text = visible_text(shown)
        assert f"Seats 10 Seats taken, escorts included {travellers + 1} ({10 - travellers - 1} left)" in text
        assert "Escorts 1 operational, 0 medical" in text
        assert f'href="/ui/cases/{flight.case.case_id}">{flight.case.reference}</a>' in shown.text
        assert "Nothing delivered yet" in text
        assert "Plan this charter's seats" not in text  # chartered by no office of ours: nobody plans its seats
        assert ticked(shown.text) == {p.person_id for p in flight.case.people}  # the boarding form, all ticked
        listed = await coordinator.get("/ui/movements")
        assert listed.status_code == 200 and f'href="{page_of(flight)}"' in listed.text

        # Chartering that same flight again, smaller than what its families already take, is said at both fields.
        departs = flight.departs_at.replace(tzinfo=None)
        again = await coordinator.submit("/ui/charters/new", charter_form(
            flight_number=flight_number(shown.text), seats="2", departs_at=departs.isoformat(timespec="minutes"),
            arrives_at=(departs + timedelta(hours=14)).isoformat(timespec="minutes")))
        assert again.status_code == 409
        assert error_of(again.text, "field-flight_number") == "That flight already has a movement on that day."
        assert error_of(again.text, "field-seats") == \
            f"{travellers + 1} seats are taken on this flight already; it cannot have fewer."

        part = await coordinator.get(f"{page_of(flight)}/live")
        assert part.status_code == 200 and "<html" not in part.text and "Manifest delivery" in part.text
        again = await coordinator.get(f"{page_of(flight)}/live", headers={"If-None-Match": part.headers["etag"]})
        assert again.status_code == 304  # nothing changed: the open page stays as it is

    async with signed_in(stage, Role.COORDINATOR, "b") as other_office:
        assert (await other_office.get(page_of(flight))).status_code == 404
        assert f'href="{page_of(flight)}"' not in (await other_office.get("/ui/movements")).text
    async with signed_in(stage, Role.MEDICAL_PARTNER) as clinic:
        assert (await clinic.get(page_of(flight))).status_code == 403
    async with signed_in(stage, Role.RECEPTION_TEAM) as reception:
        theirs = await reception.get(page_of(flight))
        assert theirs.status_code == 200 and f"Travellers {travellers}" in visible_text(theirs)
        assert "Seats taken" not in theirs.text and "Record boarding" not in theirs.text
        assert not [p for p in flight.case.people if p.family_name in theirs.text]


async def test_delivery_failing_then_boarding_and_arrival_through_the_forms(stage: Stage) -> None:
    flight = await charter_with_one_family(stage)
    people = flight.case.people
    async with signed_in(stage, Role.COORDINATOR) as coordinator:
        everyone = [p.person_id for p in people]
        early = await coordinator.submit(f"{page_of(flight)}/boarding", {"boarded": everyone},
                                         form_page=page_of(flight))
        assert early.status_code == 409 and "departs at" in visible_text(early)
        assert 'id="boarding-error" role="alert"' in early.text and ticked(early.text) == set(everyone)

        # At the cutoff manifest v1 goes to reception A, which has no endpoint: the page says since when it fails.
        cutoff = notice_cutoff(flight.arrives_at.date(), 10, [])
        await stage.sleep_until(datetime.combine(cutoff, time(1), tzinfo=UTC))
        part = await live_until(coordinator, flight, "failing since")
        assert "no active reception endpoint" in visible_text(part)
        shown = await coordinator.get(page_of(flight))
        versions = visible_text(shown).split("Every version, newest first, with what it changed", 1)[1]
        assert versions.split("Version Issued Status Passengers What changed Download", 1)[1].lstrip().startswith("1 ")
        organisation = stage.cast.of(Role.RECEPTION_TEAM).org_id
        csv_url = f"{page_of(flight)}/manifests/{organisation}/manifest.csv?version=1"
        assert f'href="{csv_url}"' in shown.text
        csv = await coordinator.get(csv_url)
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert people[0].family_name in csv.text
        downloads = [e for e in await stage.world.store.audit_events()
                     if e.action == "manifest.downloaded" and e.detail.get("movement_id") == flight.movement_id]
        assert downloads and downloads[-1].detail["org_id"] == stage.cast.of(Role.COORDINATOR).org_id

        # The reception team acknowledges version 1 on its own page; the coordinator's page says when.
        async with signed_in(stage, Role.RECEPTION_TEAM) as reception:
            manifest_page = f"/ui/manifests/{flight.movement_id}"
            acknowledged = await reception.submit(f"{manifest_page}/acknowledgement", {"version": "1"},
                                                  form_page=manifest_page)
            assert acknowledged.status_code in (200, 303), visible_text(acknowledged)
        assert "current acknowledged on" in visible_text(await coordinator.get(page_of(flight)))

        await stage.sleep_until(flight.departs_at + timedelta(hours=1))
        nobody = await coordinator.submit(f"{page_of(flight)}/boarding", {}, form_page=page_of(flight))
        assert nobody.status_code == 422 and "nobody is ticked" in visible_text(nobody)
        stayed = people[-1]
        boarded = await coordinator.submit(f"{page_of(flight)}/boarding",
                                           {"boarded": [p.person_id for p in people[:-1]]}, form_page=page_of(flight))
        assert boarded.status_code == 303
        after = await coordinator.get(boarded.headers["location"])
        text = visible_text(after)
        assert "Boarding recorded" in text and "Phase departed" in text
        assert f"Boarded {len(people) - 1}" in text
        final = text.split("Version Issued Status Passengers What changed Download", 1)[1]
        assert final.lstrip().startswith("2 (final version)")
        assert f"removed: {stayed.given_name} {stayed.family_name} ({flight.case.reference})" in final

    async with signed_in(stage, Role.RECEPTION_TEAM) as reception:
        shown = await reception.get(page_of(flight))
        assert "Our families have arrived" in shown.text
        confirmed = await reception.submit(f"{page_of(flight)}/arrival", {}, form_page=page_of(flight))
        assert confirmed.status_code == 303
        closed = visible_text(await reception.get(confirmed.headers["location"]))
        assert "Arrival confirmed" in closed and "Phase closed" in closed and "arrival confirmed" in closed


def charter_form(**changes: str) -> dict[str, str]:
    departs = datetime.combine(date.today() + timedelta(days=40), time(22))
    return {"flight_number": f"CH{uuid.uuid4().hex[:6]}", "origin": "NBO", "destination_country": "CA",
            "destination_city": "Winnipeg", "departs_at": departs.isoformat(timespec="minutes"),
            "arrives_at": (departs + timedelta(hours=14)).isoformat(timespec="minutes"), "seats": "12", **changes}


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{re.escape(field)}-error" role="alert">([^<]*)</p>', html)
    assert found, f"no error next to {field}"
    return found.group(1)


async def test_a_charter_is_created_with_inline_errors_then_planned_family_by_family(stage: Stage) -> None:
    async with signed_in(stage, Role.COORDINATOR) as coordinator:
        form = await coordinator.get("/ui/charters/new")
        assert form.status_code == 200 and '<label for="field-seats">Seats</label>' in form.text
        wrong = charter_form(seats="0", departs_at="2020-01-01T22:00", arrives_at="2020-01-02T12:00")
        refused = await coordinator.submit("/ui/charters/new", wrong)
        assert refused.status_code == 422
        assert error_of(refused.text, "field-seats") == "A charter has at least one seat."
        assert error_of(refused.text, "field-departs_at") == "This date is in the past."
        assert f'value="{wrong["flight_number"]}"' in refused.text  # what was typed is kept

        body = charter_form()
        created = await coordinator.submit("/ui/charters/new", body)
        assert created.status_code == 303, visible_text(created)
        charter_page = created.headers["location"]
        assert re.fullmatch(r"/ui/charters/mov_[0-9a-f]{16}", charter_page)
        listed = await coordinator.get("/ui/movements")  # a charter with nobody on it yet is the office's too
        assert f'<a href="{charter_page}">Plan its seats</a>' in listed.text
        assert body["flight_number"].upper() in listed.text  # as the charter files it
        twice = await coordinator.submit("/ui/charters/new", body)
        assert twice.status_code == 409
        assert error_of(twice.text, "field-flight_number") == "That flight already has a movement on that day."

        ready, elsewhere = await ready_case_of_office_a(stage, "CA"), await ready_case_of_office_a(stage, "US")
        shown = await coordinator.get(charter_page)
        assert shown.status_code == 200
        text = visible_text(shown)
        proposed, left_out = text.split("Proposed families", 1)[1].split("Left out, and why", 1)
        assert ready.reference in proposed and elsewhere.reference not in proposed
        assert f"{elsewhere.reference} {len(elsewhere.people)} goes elsewhere: flies to United States" in left_out
        assert ready.case_id in ticked(shown.text) and elsewhere.case_id not in ticked(shown.text)

        allocation = charter_page + "/allocation"
        both = await coordinator.submit(allocation, {"case_ids": [ready.case_id, elsewhere.case_id]},
                                        form_page=charter_page)
        assert both.status_code == 422
        assert "cannot take this flight" in error_of(both.text, f"pick-{elsewhere.case_id}")
        assert ticked(both.text) == {ready.case_id, elsewhere.case_id}  # the coordinator's edit is kept
        movement = charter_page.replace("/charters/", "/movements/")
        on_movement = visible_text(await coordinator.get(movement))
        assert "Families 0" in on_movement and "Plan this charter's seats" in on_movement  # nothing changed

        none = await coordinator.submit(allocation, {}, form_page=charter_page)
        assert none.status_code == 422 and "Choose at least one family." in visible_text(none)

        # This family is ready in the store, but no departure runs for it: its departure cannot take the seats,
        # and the page says so next to it.
        alone = await coordinator.submit(allocation, {"case_ids": [ready.case_id]}, form_page=charter_page)
        assert alone.status_code == 409
        assert "its departure is not running" in error_of(alone.text, f"pick-{ready.case_id}")
        assert "Families 0" in visible_text(await coordinator.get(movement))

    async with signed_in(stage, Role.COORDINATOR, "b") as other_office:
        assert (await other_office.get(charter_page)).status_code == 404
        other_form = await other_office.get(charter_page.replace(charter_page, "/ui/charters/new"))
        posted = await other_office.http.post(allocation, data={"csrf_token": csrf_of(other_form),
                                                                "case_ids": [ready.case_id]})
        assert posted.status_code == 404


async def ready_departure(stage: Stage) -> Drive:
    """A family of office A whose departure runs and waits for a flight with every step done: the travel
    partner's scheduled flights fail meanwhile, as a busy operation's are full, so only a charter takes it."""
    world = stage.world
    world.partners.faults.fail_next("travel.book_flight", times=1_000_000)
    try:
        body = case_body(await world.today(), children=0, reception=stage.cast.of(Role.RECEPTION_TEAM).org_id)
        created = await stage.http.post("/cases", json=body, headers=stage.headers(Role.COORDINATOR))
        case_id = created.json()["case_id"]
        started = await stage.http.post(f"/cases/{case_id}/departure", headers=stage.headers(Role.COORDINATOR))
        assert started.status_code == 201, started.text
        handle = world.client.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))
        world.started.append(handle)
        case = await world.store.load_case(case_id)
        assert case is not None
        drive = Drive(world, case, handle)
        for person in case.people:
            await drive.until_step(Step.HEALTH_ASSESSMENT, person.person_id, StepState.SCHEDULED)
            key = f"{Step.HEALTH_ASSESSMENT.value}:{person.person_id}"
            for _ in range(200):  # the appointment's own save first, or it would overwrite the result
                if {r.key: r.state for r in await world.store.step_records(case_id)}.get(key) is StepState.SCHEDULED:
                    break
                await asyncio.sleep(0.05)
            await drive.assess(person.person_id)
        today = await world.today()

        def ready(state: DepartureState) -> bool:
            return state.booking is None and ready_case(case, state, today) is not None

        await drive.until(ready, every=timedelta(days=1), limit=timedelta(days=60))
        await world.env.sleep(timedelta(hours=2))  # the partner's retries now come ten minutes apart
    finally:
        world.partners.faults.clear()
    return drive


async def test_an_accepted_allocation_shows_each_family_on_the_charter(stage: Stage) -> None:
    drive = await ready_departure(stage)
    window = feasible_window((await drive.state()).steps.values(), await stage.world.today() + timedelta(days=16))
    assert window is not None and window.contains(window.start + timedelta(days=2)), window
    departs = datetime.combine(window.start + timedelta(days=2), time(22))
    form = charter_form(departs_at=departs.isoformat(timespec="minutes"), seats="40",
                        arrives_at=(departs + timedelta(hours=14)).isoformat(timespec="minutes"))
    async with signed_in(stage, Role.COORDINATOR) as coordinator:
        created = await coordinator.submit("/ui/charters/new", form)
        assert created.status_code == 303, visible_text(created)
        charter_page = created.headers["location"]
        for _ in range(100):  # the departure's last steps may still be on their way to the store
            shown = await coordinator.get(charter_page)
            if drive.case.reference in visible_text(shown):
                break
            await asyncio.sleep(0.05)
        assert drive.case.case_id in re.findall(r'name="case_ids" value="([^"]+)"', shown.text)

        allocated = await coordinator.submit(f"{charter_page}/allocation", {"case_ids": [drive.case.case_id]},
                                             form_page=charter_page)
        assert allocated.status_code == 200, visible_text(allocated)
        result = visible_text(allocated).split("Allocation result", 1)[1]
        assert f"{drive.case.reference} on the charter: its departure books these seats" in result
        movement = charter_page.replace("/charters/", "/movements/")
        for _ in range(200):  # the family joins the movement by signal
            families = visible_text(await coordinator.get(movement)).split("Families and their seats", 1)[1]
            if drive.case.reference in families:
                break
            await asyncio.sleep(0.05)
        assert f"{drive.case.reference} {stage.cast.of(Role.RECEPTION_TEAM).org_id} {len(drive.case.people)}" \
            in families
