"""The coordinators' charts as a person meets them: where the office's departures wait (step and partner), and
departures per week, drawn as SVG with a title, a description and the same figures in tables; another office's
departures never counted; not a page for a clinic."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from fastapi import FastAPI

from api.principal import Role
from domain.audit import AuditEvent
from domain.case import Case
from domain.steps import Step, StepState, step_key
from store.repository import Store
from tests.factories import family
from tests.web_harness import Account, app, browser, enrol, store, visible_text  # noqa: F401

DAY = timedelta(days=1)


@pytest_asyncio.fixture
async def coordinator(store: Store) -> Account:
    return await enrol(store, Role.COORDINATOR)


async def departure(store: Store, office: str, clinic: str, children: int = 0) -> Case:
    case = family(datetime.now(UTC).date(), children=children, office=office).model_copy(
        update={"medical_partner_id": clinic})
    await store.save_case(case)
    return case


async def changed(store: Store, case: Case, at: datetime, step: Step, state: StepState,
                  person_id: str | None = None, action: str | None = None) -> None:
    """A step change as the departure workflow writes it into the audit trail."""
    key = step_key(step, person_id)
    await store.append_audit([AuditEvent(
        event_key=f"{case.case_id}:{key}:{state.value}:{at.isoformat()}", at=at, actor="system:departure-workflow",
        action=action or f"step.{state.value}", object_type="case", object_id=case.case_id,
        detail={"step": key, "state": state.value, "attempt": "1"})])


def bar_widths(page: str) -> list[float]:
    """The widths of the wait chart's bars, top to bottom."""
    chart = page.split('aria-labelledby="waits-title waits-desc"', 1)[1].split("</svg>", 1)[0]
    return [float(width) for width in re.findall(r'<rect class="bar[^"]*" [^>]*width="([0-9.]+)"', chart)]


async def test_the_longest_wait_leads_the_chart_and_every_figure_is_in_its_table(store: Store, app: FastAPI,
                                                                               coordinator: Account) -> None:
    now = datetime.now(UTC)
    slow = await departure(store, coordinator.org_id, "clinic-slow")
    await changed(store, slow, now - 30 * DAY, Step.EXIT_PERMIT, StepState.REQUESTED)
    await changed(store, slow, now - 2 * DAY, Step.EXIT_PERMIT, StepState.DONE)
    examined = await departure(store, coordinator.org_id, "clinic-slow")
    for person in examined.people:
        await changed(store, examined, now - 10 * DAY, Step.HEALTH_ASSESSMENT, StepState.SCHEDULED, person.person_id)
    await changed(store, examined, now - 6 * DAY, Step.HEALTH_ASSESSMENT, StepState.DONE, examined.people[0].person_id)
    elsewhere = await departure(store, "office-elsewhere", "clinic-elsewhere")
    await changed(store, elsewhere, now - 60 * DAY, Step.ORIENTATION, StepState.SCHEDULED)
    await changed(store, elsewhere, now - DAY, Step.ORIENTATION, StepState.DONE)

    async with browser(app) as person:
        await person.sign_in(coordinator)
        shown = await person.get("/ui/charts")
    assert shown.status_code == 200
    text = visible_text(shown)
    assert "Where departures wait" in text and "Time spent in each step, per partner" in text
    assert 'role="img"' in shown.text and '<desc id="waits-desc">' in shown.text
    # The table: the permit waited 28 days at the authority; the clinic answered one exam in 4 days and one
    # traveller still waits, for 10 days.
    assert "exit permit exit permit authority 1 28 28 28 0 —" in text
    assert "health assessment clinic-slow 1 4 4 4 1 10" in text
    assert "pre-departure orientation" not in text and "clinic-elsewhere" not in text  # another office's
    widths = bar_widths(shown.text)
    assert widths[0] == max(widths)  # the permit's 28 days, drawn longest, first
    assert widths[0] > 6 * widths[1]  # the exam's 4 days, to the same scale


async def test_departures_per_week_show_each_week_with_its_families_and_travellers(store: Store, app: FastAPI,
                                                                                   coordinator: Account) -> None:
    now = datetime.now(UTC)
    for days_ago, children in ((0, 2), (0, 0), (14, 1)):
        flown = await departure(store, coordinator.org_id, "clinic-a", children)
        await changed(store, flown, now - days_ago * DAY - timedelta(minutes=1), Step.DEPARTURE, StepState.DONE,
                      action="departure.departed")
    async with browser(app) as person:
        await person.sign_in(coordinator)
        shown = await person.get("/ui/charts?weeks=4")
    text = visible_text(shown)
    assert "Departures per week" in text and '<desc id="weeks-desc">' in shown.text
    table = text.split("Week of Families Travellers", 1)[1]
    weeks = re.findall(r"(\w+ \d{1,2}, \d{4}) (\d+) (\d+)", table)
    assert len(weeks) == 4 and [(f, t) for _, f, t in weeks][-1] == ("2", "6")  # this week: 4 + 2 travellers
    assert sum(int(f) for _, f, _ in weeks) == 3 and sum(int(t) for _, _, t in weeks) == 9


async def test_the_charts_speak_french_and_are_only_for_coordinators(store: Store, app: FastAPI,
                                                                    coordinator: Account) -> None:
    clinic = await enrol(store, Role.MEDICAL_PARTNER)
    async with browser(app) as person:
        await person.sign_in(clinic)
        assert (await person.get("/ui/charts")).status_code == 403
    async with browser(app) as person:
        assert (await person.get("/ui/charts")).status_code == 303  # to sign in first
        await person.sign_in(coordinator)
        french = await person.get("/ui/charts?lang=fr")
        assert french.status_code == 200 and 'lang="fr"' in french.text
        assert "Départs par semaine" in visible_text(french)
        wrong = await person.get("/ui/charts?weeks=0&lang=en")
        assert wrong.status_code == 422 and 'value="0"' in wrong.text
        assert "Enter a whole number of weeks from 1 to 104." in visible_text(wrong)
        assert "Departures per week" in visible_text(wrong)  # the default period is still shown
