"""One departure through the pages, in Debian's chromium: a coordinator signs in and starts it from the case page;
the clinic signs in and files its results from the worklist, the first one refused with the message beside the
field, corrected and saved (one by keyboard alone), and sees a new appointment appear in its open worklist without a
reload; the reception team signs in, opens the flight's manifest and acknowledges it, which the office then sees.
Every page is screenshotted into test-artifacts/screenshots/ and checked with axe-core; one is read in Arabic.

The time-skipping server moves the departure's clock between the people's visits, as months pass in real life."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from fastapi import FastAPI

from api.app import create_app
from api.context import ApiContext
from api.principal import Role
from domain.case import Case, FunctionalNeed
from domain.departure import departure_workflow_id
from domain.documents import DocumentKind, document_subject, movement_id
from domain.steps import Step, StepState
from predeparture.loopback import serving
from store.acknowledgements import acknowledgements
from store.documents import DocumentArchive, StoredDocument
from tests.api_harness import FAST_PARTNERS, harness_settings
from tests.browser.harness import look
from tests.departure_harness import Drive, World, simulator_settings, world  # noqa: F401
from tests.factories import family
from tests.web_harness import Account, enrol
from workflows.departure import DepartureWorkflow

pytestmark = pytest.mark.parametrize("simulator_settings", [FAST_PARTNERS])

DIAGNOSIS = "latent tuberculosis, treated 2024"  # the clinic's own words: never shown outside its pages


@pytest_asyncio.fixture
async def app(world: World, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = harness_settings(tmp_path, world.task_queue, rate_limits_enabled=False)
    yield create_app(context=ApiContext(settings, world.store, world.client, sealer=world.sealer))


async def signed_in(chromium: Any, base: str, account: Account, name: str) -> Any:
    """A browser of that person's own (its own cookies), signed in through the form, on their home page."""
    context = await chromium.new_context(base_url=base, locale="en-GB")
    page = await context.new_page()
    await page.goto("/ui/")
    assert "/ui/sign-in" in page.url
    await look(page, f"{name} 1 sign-in")
    await page.get_by_label("Username").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
    assert "/ui/sign-in" not in page.url, await page.content()
    return page


async def manifest_of(world: World, drive: Drive, movement: str, team: str) -> StoredDocument:
    """The movement files manifest v1 at the notice cutoff; move the clock until it has."""
    subject = document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=movement, organisation_id=team)
    for _ in range(200):
        found = await DocumentArchive(world.store).latest(subject)
        if found is not None:
            return found
        await world.env.sleep(timedelta(hours=6))
    raise AssertionError(f"no manifest for {team} on {movement}: {(await drive.state()).phase}")


async def test_a_departure_through_the_pages_of_its_three_audiences(world: World, app: FastAPI, chromium: Any) -> None:
    coordinator = await enrol(world.store, Role.COORDINATOR)
    clinic = await enrol(world.store, Role.MEDICAL_PARTNER)
    team = await enrol(world.store, Role.RECEPTION_TEAM)
    case: Case = family(await world.today(), children=0, office=coordinator.org_id)
    case.medical_partner_id = clinic.org_id
    case.destination.receiving_organisation = team.org_id
    await world.store.save_case(case)  # opened by the office (POST /cases); its departure is started on the page
    principal, spouse = case.people

    async with serving(app) as base:
        # The coordinator starts the departure from the case page.
        office = await signed_in(chromium, base, coordinator, "coordinator")
        assert office.url.endswith("/ui/board")
        await look(office, "coordinator 2 board")
        await office.goto(f"/ui/cases/{case.case_id}")
        await look(office, "coordinator 3 case")
        await office.get_by_role("button", name="Start the departure").click()
        await office.wait_for_load_state()
        handle = world.client.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case.case_id))
        world.started.append(handle)
        await handle.describe()  # started, or this raises
        drive = Drive(world, case, handle)
        await look(office, "coordinator 4 case started")

        # The clinic files both assessments from its worklist; the first try has an exam date still to come.
        for person in case.people:
            await drive.until_step(Step.HEALTH_ASSESSMENT, person.person_id, StepState.SCHEDULED)
        today = (await drive.now()).date()
        doctor = await signed_in(chromium, base, clinic, "clinic")
        assert doctor.url.endswith("/ui/worklist")
        await look(doctor, "clinic 2 worklist")
        await open_result(doctor, "health assessment", principal.given_name)
        await look(doctor, "clinic 3 assessment form")
        later = (today + timedelta(days=30)).isoformat()
        await fill_assessment(doctor, later, "B1", DIAGNOSIS, needs=[])
        await doctor.get_by_role("button", name="Save result").click()
        await doctor.wait_for_load_state()
        error = doctor.locator("#field-exam_date-error")
        assert (await error.inner_text()).strip() == "This date is in the future."
        assert await doctor.get_by_label("Exam date").get_attribute("aria-describedby") == "field-exam_date-error"
        assert await doctor.get_by_label("Exam date").input_value() == later, "the value typed is kept"
        assert await doctor.get_by_label("Findings").input_value() == DIAGNOSIS
        await look(doctor, "clinic 4 assessment refused")
        assert (await drive.state()).steps[f"health_assessment:{principal.person_id}"].state is StepState.SCHEDULED

        await doctor.get_by_label("Exam date").fill(today.isoformat())
        await doctor.get_by_role("button", name="Save result").click()
        await doctor.wait_for_load_state()
        assert doctor.url.endswith("/ui/worklist?recorded=1")
        assert await doctor.get_by_role("status").filter(has_text="The result was recorded.").count() == 1
        await look(doctor, "clinic 5 worklist after a result")
        # The spouse's result by keyboard alone: Tab to the link, Enter; the date as the form offers it (today).
        await tab_to(doctor, "link", f"Enter result: health assessment, Haidari, {spouse.given_name}")
        await doctor.keyboard.press("Enter")
        await doctor.wait_for_url(f"**/people/{spouse.person_id}/assessment")
        await tab_to(doctor, "combobox", "TB class")
        await doctor.keyboard.type("n")  # "no TB class"
        await tab_to(doctor, "checkbox", "wheelchair")
        await doctor.keyboard.press("Space")
        await tab_to(doctor, "button", "Save result")
        await doctor.keyboard.press("Enter")
        await doctor.wait_for_url("**/ui/worklist?recorded=1")

        # Months later the flight is booked. Class B1: the principal is screened again in the 21 days before it.
        # The clinic's worklist stays open meanwhile: the new appointment appears in it without a reload.
        assert doctor.url.endswith("/ui/worklist?recorded=1")
        await doctor.evaluate("window.openSinceTheLastResult = true")
        await drive.until(lambda state: state.booking is not None, every=timedelta(days=1))
        await drive.until_step(Step.PRE_DEPARTURE_SCREENING, principal.person_id, StepState.SCHEDULED,
                               every=timedelta(hours=12))
        screening = doctor.get_by_role("link", name=f"Enter result: pre-departure medical screening, Haidari, "
                                                    f"{principal.given_name}")
        await screening.wait_for()  # live.js polls the worklist's table and swaps it in
        assert await doctor.evaluate("window.openSinceTheLastResult === true"), "the page was not reloaded"
        await screening.click()
        await doctor.wait_for_url(f"**/people/{principal.person_id}/screening")
        assert "class B1" in await doctor.locator("main").inner_text(), "the clinic sees what it filed"
        await look(doctor, "clinic 6 screening form")
        await doctor.get_by_label("Screening date").fill((await drive.now()).date().isoformat())
        await doctor.get_by_role("group", name="Cleared to travel?").get_by_label("Yes").check()
        await doctor.get_by_role("button", name="Save result").click()
        await doctor.wait_for_load_state()
        assert doctor.url.endswith("/ui/worklist?recorded=1"), await doctor.content()

        # 72 hours before the flight the clinic checks each traveller is fit to fly.
        for person in case.people:
            await drive.until_step(Step.FITNESS_TO_TRAVEL, person.person_id, StepState.SCHEDULED,
                                   every=timedelta(hours=3))
        checked = (await drive.now()).astimezone(UTC).replace(second=0, microsecond=0)
        await doctor.goto("/ui/worklist")
        for index, person in enumerate(case.people):
            await open_result(doctor, "fitness-to-travel check", person.given_name)
            if index == 0:
                await look(doctor, "clinic 7 fitness form")
            await doctor.get_by_label("Checked at (UTC)").fill(checked.strftime("%Y-%m-%dT%H:%M"))
            await doctor.get_by_role("group", name="Fit to travel?").get_by_label("Yes").check()
            await doctor.get_by_role("button", name="Save result").click()
            await doctor.wait_for_load_state()
            assert doctor.url.endswith("/ui/worklist?recorded=1"), await doctor.content()
        state = await drive.state()
        assert all(state.steps[f"fitness_to_travel:{p.person_id}"].state is StepState.DONE for p in case.people)

        # The reception team reads the flight's manifest and acknowledges it.
        assert state.booking is not None
        booking = state.booking
        movement = movement_id(booking.flight_number, booking.departs_at.date())
        manifest = await manifest_of(world, drive, movement, team.org_id)
        reception = await signed_in(chromium, base, team, "reception")
        assert reception.url.endswith("/ui/arrivals")
        await look(reception, "reception 2 arrivals")
        await reception.get_by_role("link", name=f"Manifest of flight {booking.flight_number}, version "
                                                 f"{manifest.version}").click()
        await reception.wait_for_load_state()
        await look(reception, "reception 3 manifest")
        travellers = await reception.locator("table", has=reception.get_by_role("columnheader", name="Sex")) \
            .inner_text()
        assert f"{principal.family_name}, {principal.given_name}" in travellers
        assert FunctionalNeed.WHEELCHAIR.value in travellers
        assert DIAGNOSIS not in await reception.content() and "class B1" not in await reception.content()
        await reception.get_by_role("button", name=f"Acknowledge version {manifest.version}").click()
        await reception.wait_for_load_state()
        assert await reception.get_by_role("status").filter(has_text="Acknowledged.").count() == 1
        await look(reception, "reception 4 manifest acknowledged")
        acks = await acknowledgements(world.store, movement, [team.org_id])
        assert [a.version for a in acks] == [manifest.version]

        # The office that sent the family sees the acknowledgement on the flight's page.
        await office.goto(f"/ui/movements/{movement}")
        assert "acknowledged on" in await office.locator("main").inner_text()
        await look(office, "coordinator 5 movement acknowledged")

        # The same page in Arabic reads right to left.
        await reception.goto(f"/ui/manifests/{movement}?lang=ar")
        assert await reception.locator("html").get_attribute("dir") == "rtl"
        assert await reception.locator("html").get_attribute("lang") == "ar"
        await look(reception, "reception 5 manifest in arabic")


async def open_result(page: Any, step: str, given_name: str) -> None:
    """From the worklist, the link of that person's examination (each link names step and patient)."""
    if not page.url.endswith("/ui/worklist") and "/ui/worklist?" not in page.url:
        await page.goto("/ui/worklist")
    link = page.get_by_role("link", name=f"Enter result: {step}, Haidari, {given_name}")
    await link.click()
    await page.wait_for_load_state()


async def tab_to(page: Any, role: str, name: str, presses: int = 60) -> None:
    """Tab until that control has the focus, as someone without a mouse would; fails if Tab never reaches it."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("""() => {
            const e = document.activeElement;
            const labels = e && e.labels ? Array.from(e.labels).map(l => l.innerText.trim()) : [];
            return {tag: e ? e.tagName.toLowerCase() : '', type: e && e.type || '',
                    name: (e && (e.getAttribute('aria-label') || labels[0] || e.innerText) || '').trim()};
        }""")
        kind = {"a": "link", "button": "button", "select": "combobox"}.get(focused["tag"], focused["type"])
        if kind == role and focused["name"] == name:
            return
    raise AssertionError(f"Tab never reached the {role} {name!r} on {page.url}")


async def fill_assessment(page: Any, exam_date: str, tb_class: str, findings: str, needs: list[str]) -> None:
    await page.get_by_label("Exam date").fill(exam_date)
    await page.get_by_label("TB class").select_option(tb_class)
    await page.get_by_label("Findings").fill(findings)
    for need in needs:
        await page.locator(f"#need-{need}").check()

