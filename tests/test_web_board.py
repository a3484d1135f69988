"""The coordinator's board and case page as a coordinator sees them: the office's cases by step with blockers and
deadlines, its filters and search, another office's case kept out, the case's timeline refreshed live, and the
departure's actions through the forms, with a bad date said next to the field and nothing changed."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from fastapi import FastAPI

from api.app import create_app
from api.context import ApiContext
from api.principal import Role
from domain.audit import AuditEvent
from domain.departure import Phase, ProgressUpdate, departure_workflow_id
from domain.documents import movement_id
from domain.steps import Step, StepState
from store.repository import Store
from tests.departure_harness import World, simulator_settings, world  # noqa: F401
from tests.factories import family
from tests.test_api_coordinator import booking, case_body, settings_for, step, stored_case
from tests.web_harness import Account, Browser, app, browser, enrol, store, visible_text  # noqa: F401
from workflows.departure import DepartureWorkflow


@pytest_asyncio.fixture
async def coordinator(store: Store) -> Account:
    return await enrol(store, Role.COORDINATOR, f"office_{uuid.uuid4().hex[:10]}")


@pytest_asyncio.fixture
async def signed_in(app: FastAPI, coordinator: Account) -> AsyncIterator[Browser]:
    async with browser(app) as person:
        await person.sign_in(coordinator)
        yield person


def rows(page: str) -> dict[str, str]:
    """Each board row's visible text, by the case reference it starts with."""
    found = {}
    for row in re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", page, flags=re.DOTALL):
        text = visible_text(row)
        found[text.split()[0]] = text
    return found


async def rename(store: Store, case_id: str, reference: str) -> None:
    case = await store.load_case(case_id)
    assert case is not None
    case.reference = reference
    await store.save_case(case)


async def test_the_board_shows_each_case_by_step_with_its_blockers_and_next_deadline(
        store: Store, coordinator: Account, signed_in: Browser) -> None:
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=4)
    blocked = await stored_case(store, coordinator.org_id, steps=[
        step(Step.EXIT_PERMIT, StepState.BLOCKED, reason="authority asks for a birth certificate"),
        step(Step.ORIENTATION, StepState.SCHEDULED, due_by=due),
    ])
    await rename(store, blocked.case_id, "NBO-BLOCKED-1")
    people = [person.person_id for person in blocked.people]
    await store.apply_progress(ProgressUpdate(case_id=blocked.case_id, phase=Phase.PREPARING, steps=[
        step(Step.HEALTH_ASSESSMENT, StepState.DONE, people[0]),
        step(Step.HEALTH_ASSESSMENT, StepState.SCHEDULED, people[1]),
        step(Step.HEALTH_ASSESSMENT, StepState.DONE, people[2]),
    ]))
    foreign = await stored_case(store, f"office_{uuid.uuid4().hex[:8]}")
    await rename(store, foreign.case_id, "NBO-FOREIGN-1")

    board = await signed_in.get("/ui/board")
    assert board.status_code == 200
    shown = rows(board.text)
    assert list(shown) == ["NBO-BLOCKED-1"]  # another office's case is not on this office's board
    row = shown["NBO-BLOCKED-1"]
    assert "exit permit: authority asks for a birth certificate" in row  # the blocker, with its reason
    assert "blocked" in row and "scheduled" in row  # states are written, not only coloured
    assert "2 of 3 done" in row  # three travellers' health assessments in one cell
    assert due.strftime("%B") in row and str(due.day) in row  # the next deadline
    assert 'class="cell-blocked"' in board.text and 'class="cell-scheduled"' in board.text
    assert f'href="/ui/cases/{blocked.case_id}"' in board.text


async def test_the_board_filters_by_blocked_expiry_destination_flight_and_reference(
        store: Store, coordinator: Account, signed_in: Browser) -> None:
    office = coordinator.org_id
    soon = date.today() + timedelta(days=5)
    blocked = await stored_case(store, office, steps=[step(Step.EXIT_PERMIT, StepState.BLOCKED, reason="x")])
    expiring = await stored_case(store, office, country="US", steps=[
        step(Step.ORIENTATION, StepState.DONE, valid_from=date.today(), valid_until=soon)])
    flying = await stored_case(store, office)
    flight = booking(flying.case_id, timedelta(days=20))
    await store.apply_progress(ProgressUpdate(case_id=flying.case_id, phase=Phase.AWAITING_FLIGHT, steps=[],
                                              bookings=[flight]))
    for case, reference in ((blocked, "NBO-2026-0001"), (expiring, "NBO-2026-0002"), (flying, "KAM-2026-0003")):
        await rename(store, case.case_id, reference)

    async def board(query: str) -> list[str]:
        response = await signed_in.get(f"/ui/board?{query}")
        assert response.status_code == 200, visible_text(response)
        return sorted(rows(response.text))

    assert await board("") == ["KAM-2026-0003", "NBO-2026-0001", "NBO-2026-0002"]
    assert await board("blocked=yes") == ["NBO-2026-0001"]
    assert await board("blocked=no") == ["KAM-2026-0003", "NBO-2026-0002"]
    assert await board("expiring=7") == ["NBO-2026-0002"]
    assert await board("expiring=2") == []
    assert await board("destination=us") == ["NBO-2026-0002"]
    flight_id = movement_id(flight.booking.flight_number, flight.booking.departs_at.date())
    assert await board(f"movement={flight_id}") == ["KAM-2026-0003"]
    assert await board("q=nbo-2026") == ["NBO-2026-0001", "NBO-2026-0002"]
    assert await board("q=0003") == ["KAM-2026-0003"]
    assert await board("q=%25") == []  # a wildcard typed into the search is a character, not "everything"

    everything = await signed_in.get("/ui/board")
    assert f'<option value="{flight_id}">' in everything.text  # the flights to choose from
    assert "No case matches these filters." in visible_text(await signed_in.get("/ui/board?q=nothing-like-it"))


async def test_a_bad_filter_is_said_next_to_its_field_and_the_others_still_apply(
        store: Store, coordinator: Account, signed_in: Browser) -> None:
    case = await stored_case(store, coordinator.org_id, steps=[step(Step.EXIT_PERMIT, StepState.BLOCKED)])
    await rename(store, case.case_id, "NBO-FILTER-1")
    response = await signed_in.get("/ui/board?expiring=soon&destination=Canada&blocked=yes")
    assert response.status_code == 422
    assert "Enter a whole number of days from 0 to 3650." in visible_text(response)
    assert "Enter a two-letter country code, such as CA." in visible_text(response)
    assert 'aria-describedby="field-expiring-error"' in response.text
    assert 'value="soon"' in response.text  # what was typed stays in the field
    assert list(rows(response.text)) == ["NBO-FILTER-1"]


async def test_the_board_and_case_pages_are_for_coordinators_of_the_office(
        app: FastAPI, store: Store, coordinator: Account, signed_in: Browser) -> None:
    for role in (Role.MEDICAL_PARTNER, Role.RECEPTION_TEAM):
        async with browser(app) as person:
            await person.sign_in(await enrol(store, role))
            refused = await person.get("/ui/board")
            assert refused.status_code == 403 and "This page is not for your account" in visible_text(refused)

    theirs = await stored_case(store, f"office_{uuid.uuid4().hex[:8]}", steps=[
        step(Step.EXIT_PERMIT, StepState.REQUESTED)])
    for url in (f"/ui/cases/{theirs.case_id}", f"/ui/cases/{theirs.case_id}/timeline"):
        missing = await signed_in.get(url)
        assert missing.status_code == 404 and "Page not found" in visible_text(missing)
        assert theirs.people[0].given_name not in missing.text
    refused = await signed_in.submit(f"/ui/cases/{theirs.case_id}/cancel", {"reason": "not mine"},
                                     form_page="/ui/board")
    assert refused.status_code == 404
    assert (await store.departure_phase(theirs.case_id))[0] is Phase.PREPARING


async def test_the_case_page_shows_the_timeline_and_refreshes_it_when_the_departure_moves(
        store: Store, coordinator: Account, signed_in: Browser) -> None:
    case = await stored_case(store, coordinator.org_id, steps=[step(Step.EXIT_PERMIT, StepState.REQUESTED)])
    page = await signed_in.get(f"/ui/cases/{case.case_id}")
    assert page.status_code == 200
    text = visible_text(page)
    assert f"{case.people[0].given_name} {case.people[0].family_name}" in text
    assert "exit permit" in text and "requested" in text and "preparing" in text
    live = f"/ui/cases/{case.case_id}/timeline"
    assert f'data-live="{live}"' in page.text

    first = await signed_in.get(live)
    assert first.status_code == 200 and "requested" in visible_text(first)
    etag = first.headers["etag"]
    page_etag = re.search(r'data-live-etag="([^"]+)"', page.text)
    assert page_etag and html.unescape(page_etag.group(1)) == etag  # the page's own copy: the first poll is a 304
    assert (await signed_in.get(live, headers={"If-None-Match": etag})).status_code == 304

    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.PREPARING, steps=[
        step(Step.EXIT_PERMIT, StepState.DONE, valid_from=date.today(),
             valid_until=date.today() + timedelta(days=90))]))
    moved = await signed_in.get(live, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and "done" in visible_text(moved) and moved.headers["etag"] != etag


async def test_a_deferral_into_the_past_is_said_next_to_the_date_and_changes_nothing(
        store: Store, coordinator: Account, signed_in: Browser) -> None:
    case = await stored_case(store, coordinator.org_id, steps=[step(Step.EXIT_PERMIT, StepState.REQUESTED)])
    url = f"/ui/cases/{case.case_id}"
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    refused = await signed_in.submit(f"{url}/defer", {"not_before": yesterday, "reason": "family asked"},
                                     form_page=url)
    assert refused.status_code == 422
    assert "The date must be today or later." in visible_text(refused)
    assert 'aria-describedby="defer-not_before-error"' in refused.text
    assert f'value="{yesterday}"' in refused.text and "family asked" in refused.text  # values kept

    for data, message in (({"not_before": "next week", "reason": "x"}, "Enter a date as year-month-day."),
                          ({"not_before": (date.today() + timedelta(days=30)).isoformat(), "reason": " "},
                           "This field is required.")):
        refused = await signed_in.submit(f"{url}/defer", data, form_page=url)
        assert refused.status_code == 422 and message in visible_text(refused)
    refused = await signed_in.submit(f"{url}/cancel", {"reason": ""}, form_page=url)
    assert refused.status_code == 422 and 'aria-describedby="cancel-reason-error"' in refused.text

    assert (await store.departure_phase(case.case_id))[0] is Phase.PREPARING
    assert [e.action for e in await store.audit_events(case.case_id)] == []


async def test_a_french_coordinator_reads_the_inline_error_in_french(
        store: Store, coordinator: Account, signed_in: Browser) -> None:
    case = await stored_case(store, coordinator.org_id)
    url = f"/ui/cases/{case.case_id}"
    await signed_in.get(f"{url}?lang=fr")
    refused = await signed_in.submit(f"{url}/date", {"date": "2001-01-01", "reason": "vol déplacé"}, form_page=url)
    assert refused.status_code == 422 and '<html lang="fr"' in refused.text
    assert "La date doit être aujourd’hui ou plus tard." in visible_text(refused)


# -- through the departure workflow -------------------------------------------------------------------------------

async def test_a_coordinator_starts_and_cancels_a_departure_through_the_forms(world: World, tmp_path: Path) -> None:
    app = create_app(context=ApiContext(settings_for(tmp_path, world.task_queue), world.store, world.client))
    account = await enrol(world.store, Role.COORDINATOR, f"office_{uuid.uuid4().hex[:10]}")
    body = case_body(await world.today(), children=0)
    async with browser(app) as person:
        await person.sign_in(account)
        token = person.http.cookies["predeparture_session"]
        created = await person.http.post("/cases", json=body, headers={"Authorization": f"Bearer {token}"})
        case_id = created.json()["case_id"]
        url = f"/ui/cases/{case_id}"

        started = await person.submit(f"{url}/departure", {}, form_page=url)
        assert started.status_code == 303 and started.headers["location"] == f"{url}?done=started"
        handle = world.client.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))
        world.started.append(handle)
        assert "The departure has started." in visible_text(await person.get(started.headers["location"]))
        for _ in range(400):  # until the departure has reported and waits on its partners, nothing in flight
            described = await handle.describe()
            if await world.store.departure_phase(case_id) and not described.raw_description.pending_activities:
                break
            await asyncio.sleep(0.05)
        page = visible_text(await person.get(url))
        assert "preparing" in page and "exit permit" in page

        cancelled = await person.submit(f"{url}/cancel", {"reason": "withdrawn by the receiving state"},
                                        form_page=url)
        assert cancelled.status_code == 303, visible_text(cancelled)
        assert (await world.store.departure_phase(case_id))[0] is Phase.CANCELLED
        after = visible_text(await person.get(url))
        assert "cancelled" in after and "The departure has ended; it can no longer change." in after
        history = after.split("History", 1)[1]  # newest first, who acted said without naming anyone
        assert history.index("Departure cancelled (your office)") < history.index("Departure started (your office)")
        assert account.username not in after
        actions = [event.action for event in await world.store.audit_events(case_id)]
        assert "departure.started" in actions and "departure.cancelled" in actions


async def test_the_case_history_says_each_decision_once_with_its_date_and_who_took_it(
        store: Store, coordinator: Account, signed_in: Browser) -> None:
    case = await stored_case(store, coordinator.org_id)
    at = datetime.now(UTC).replace(microsecond=0)
    day = date.today() + timedelta(days=40)
    system = [AuditEvent(event_key=f"{case.case_id}:{n}", at=at, actor="system:departure-workflow",
                         action=action, object_type="case", object_id=case.case_id, detail=detail)
              for n, (action, detail) in enumerate([
                  ("step.done", {"step": "exit_permit", "state": "done", "attempt": "1"}),
                  ("departure.replanned", {"step": "orientation", "not_before": day.isoformat()}),
                  ("departure.replanned", {"step": "flight_booking", "not_before": day.isoformat()}),
              ])]
    await store.append_audit(system)
    page = visible_text(await signed_in.get(f"/ui/cases/{case.case_id}"))
    history = page.split("History", 1)[1]
    assert history.count("Replanned: no flight before") == 1  # one decision, though it touched two steps
    assert f"{day.strftime('%B')} {day.day}, {day.year} (the system)" in history
    assert "step.done" not in history and "system:departure-workflow" not in history


async def test_a_departure_started_but_not_yet_reported_is_not_offered_to_start_again(
        store: Store, coordinator: Account, signed_in: Browser) -> None:
    case = family(date.today(), office=coordinator.org_id)
    await store.save_case(case)  # no phase yet: the workflow has not reported
    url = f"/ui/cases/{case.case_id}"
    assert "Start the departure" in visible_text(await signed_in.get(url))
    await store.append_audit([AuditEvent(event_key=f"departure.started:{case.case_id}", at=datetime.now(UTC),
                                         actor=f"{coordinator.org_id}/usr_x", action="departure.started",
                                         object_type="case", object_id=case.case_id)])
    page = visible_text(await signed_in.get(url))
    assert "started, waiting for its first report" in page and "Start the departure" not in page
