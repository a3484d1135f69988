"""The clinic's pages against a real departure on the time-skipping server: the worklist with its deadlines, and
the result forms, whose refusals (a form that cannot be read, a rule the departure holds) show next to the field
with the values kept and nothing saved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from fastapi import FastAPI

from api.app import create_app
from api.context import ApiContext
from api.principal import Role
from domain.steps import Step, StepState
from predeparture.settings import ApiSettings, Settings, TemporalSettings
from tests.departure_harness import Drive, World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.factories import family
from tests.test_api_medical import Unreachable
from tests.web_harness import Account, browser, enrol, visible_text

FAST = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                       document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))
pytestmark = pytest.mark.parametrize("simulator_settings", [FAST])


@pytest_asyncio.fixture
async def app(world: World, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                        api=ApiSettings(rate_limits_enabled=False),
                        temporal=TemporalSettings(task_queue=world.task_queue))
    yield create_app(context=ApiContext(settings, world.store, world.client))


async def scheduled_family(world: World, clinic: Account) -> Drive:
    case = family(await world.today(), children=0).model_copy(update={"medical_partner_id": clinic.org_id})
    drive = await world.start(case)
    for person in case.people:
        await drive.until_step(Step.HEALTH_ASSESSMENT, person.person_id, StepState.SCHEDULED)
    return drive


def form_url(drive: Drive, person_id: str, slug: str = "assessment") -> str:
    return f"/ui/medical/cases/{drive.case.case_id}/people/{person_id}/{slug}"


async def test_the_worklist_shows_the_clinics_examinations_soonest_deadline_first(world: World, app: FastAPI) -> None:
    clinic = await enrol(world.store, Role.MEDICAL_PARTNER)
    drive = await scheduled_family(world, clinic)
    principal, spouse = drive.case.people
    async with browser(app) as person:
        await person.sign_in(clinic)
        home = await person.get("/ui/")
        assert home.status_code == 303 and home.headers["location"] == "/ui/worklist"
        page = await person.get("/ui/worklist")
        assert page.status_code == 200, page.text
        text = visible_text(page)
        assert "Haidari, Mariam" in text and f"Haidari, {spouse.given_name}" in text
        assert "health assessment" in text and "scheduled" in text
        assert form_url(drive, principal.person_id) in page.text and form_url(drive, spouse.person_id) in page.text
        # Soonest deadline first: the rows follow the service's order, which sorts by due date.
        stored = {r.person_id: r.due_by for r in await world.store.step_records(drive.case.case_id) if r.person_id}
        first, second = sorted(stored, key=lambda pid: (stored[pid], pid != principal.person_id))
        names = {p.person_id: f"Haidari, {p.given_name}" for p in drive.case.people}
        assert text.index(names[first]) < text.index(names[second]) or stored[first] == stored[second]
        live = await person.get("/ui/worklist/live")
        assert live.status_code == 200 and "Haidari, Mariam" in live.text and "<html" not in live.text


async def test_a_result_with_errors_is_shown_again_next_to_the_fields_and_nothing_is_saved(
    world: World, app: FastAPI
) -> None:
    clinic = await enrol(world.store, Role.MEDICAL_PARTNER)
    drive = await scheduled_family(world, clinic)
    principal = drive.case.people[0].person_id
    today = await world.today()
    url = form_url(drive, principal)
    async with browser(app) as person:
        await person.sign_in(clinic)
        form = await person.get(url)
        assert form.status_code == 200, form.text
        assert '<label for="field-exam_date">Exam date</label>' in form.text
        assert 'for="need-wheelchair"' in form.text and "TB class" in visible_text(form)
        assert 'name="csrf_token" value=""' not in form.text, "the result form carries the session's CSRF token"

        unreadable = await person.submit(url, {"exam_date": "14/03/2026", "tb_class": "Z",
                                               "findings": "chest x-ray clear"})
        assert unreadable.status_code == 422
        text = visible_text(unreadable)
        assert "Enter a date as year-month-day." in text and "Choose one of the listed TB classes." in text
        assert 'id="field-exam_date-error"' in unreadable.text and 'aria-describedby="field-exam_date-error"' \
            in unreadable.text
        assert 'value="14/03/2026"' in unreadable.text and "chest x-ray clear" in unreadable.text

        # A date the departure's own clock says is still to come: refused by the departure, shown by the field.
        future = (today + timedelta(days=30)).isoformat()
        refused = await person.submit(url, {"exam_date": future, "tb_class": "B1", "findings": "latent TB",
                                            "functional_needs": ["wheelchair", "follow_up_after_arrival"]})
        assert refused.status_code == 422, refused.text
        assert "This date is in the future." in visible_text(refused)
        assert 'id="field-exam_date-error"' in refused.text
        assert f'value="{future}"' in refused.text and "latent TB" in refused.text
        assert 'value="B1" selected' in refused.text and 'value="wheelchair" checked' in refused.text
        assert (await drive.state()).steps[f"health_assessment:{principal}"].state is StepState.SCHEDULED
        assert not [f for f in await world.store.medical_files(drive.case.case_id) if f.assessment]

        saved = await person.submit(url, {"exam_date": today.isoformat(), "tb_class": "B1", "findings": "latent TB",
                                          "functional_needs": ["follow_up_after_arrival"]})
        assert saved.status_code == 303 and saved.headers["location"] == "/ui/worklist?recorded=1"
        again = await person.submit(url, {"exam_date": today.isoformat(), "tb_class": "B1", "findings": "latent TB",
                                          "functional_needs": ["follow_up_after_arrival"]},
                                    form_page="/ui/worklist")
        assert again.status_code == 303, "the same result sent twice is recorded once"
        worklist = await person.get("/ui/worklist?recorded=1")
        assert "The result was recorded." in visible_text(worklist)
        assert form_url(drive, principal) not in worklist.text

    state = await drive.state()
    assert state.steps[f"health_assessment:{principal}"].state is StepState.DONE
    held = state.medical[principal].assessment
    assert held is not None and held.tb_class.value == "B1" and held.examined_by == clinic.org_id
    events = [e.action for e in await world.store.audit_events(drive.case.case_id)]
    assert events.count("medical.assessment_submitted") == 1


async def test_only_the_clinic_of_the_case_opens_its_forms(world: World, app: FastAPI) -> None:
    clinic, other = await enrol(world.store, Role.MEDICAL_PARTNER), await enrol(world.store, Role.MEDICAL_PARTNER)
    coordinator = await enrol(world.store, Role.COORDINATOR)
    drive = await scheduled_family(world, clinic)
    url = form_url(drive, drive.case.people[0].person_id)
    async with browser(app) as outsider:
        await outsider.sign_in(other)
        assert (await outsider.get(url)).status_code == 404
        worklist = await outsider.get("/ui/worklist")
        assert "Haidari" not in worklist.text and "Nothing is due from your clinic." in visible_text(worklist)
        posted = await outsider.submit(url, {"exam_date": (await world.today()).isoformat(), "tb_class": "none"},
                                       form_page="/ui/worklist")
        assert posted.status_code == 404
    async with browser(app) as office:
        await office.sign_in(coordinator)
        assert (await office.get("/ui/worklist")).status_code == 403
        assert (await office.get(url)).status_code == 403
    async with browser(app) as own:
        await own.sign_in(clinic)
        forged = await own.http.post(url, data={"csrf_token": "forged", "exam_date": "2026-01-01",
                                                "tb_class": "none"})
        assert forged.status_code == 403
    async with browser(app) as anonymous:
        away = await anonymous.get(url)
        assert away.status_code == 303 and away.headers["location"].startswith("/ui/sign-in?next=")
    assert (await drive.state()).steps[f"health_assessment:{drive.case.people[0].person_id}"].state \
        is StepState.SCHEDULED


async def test_a_result_the_departure_did_not_hear_comes_back_to_send_again(world: World, app: FastAPI,
                                                                           tmp_path: Path) -> None:
    clinic = await enrol(world.store, Role.MEDICAL_PARTNER)
    drive = await scheduled_family(world, clinic)
    principal = drive.case.people[0].person_id
    url = form_url(drive, principal)
    typed = {"exam_date": (await world.today()).isoformat(), "tb_class": "none", "findings": "chest x-ray clear"}
    settings = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                        api=ApiSettings(rate_limits_enabled=False))
    down = create_app(context=ApiContext(settings, world.store, Unreachable()))  # type: ignore[arg-type]
    async with browser(down) as person:
        await person.sign_in(clinic)
        refused = await person.submit(url, typed)
        assert refused.status_code == 503 and refused.headers["retry-after"].isdigit()
        assert "Send the same result again: it is recorded only once." in visible_text(refused)
        assert 'value="none" selected' in refused.text and "chest x-ray clear" in refused.text
    assert (await drive.state()).steps[f"health_assessment:{principal}"].state is StepState.SCHEDULED
    async with browser(app) as person:
        await person.sign_in(clinic)
        assert (await person.submit(url, typed)).status_code == 303
    assert (await drive.state()).steps[f"health_assessment:{principal}"].state is StepState.DONE


async def test_the_worklist_shows_one_kind_of_examination_when_asked(world: World, app: FastAPI) -> None:
    clinic = await enrol(world.store, Role.MEDICAL_PARTNER)
    drive = await scheduled_family(world, clinic)
    async with browser(app) as person:
        await person.sign_in(clinic)
        assessments = await person.get("/ui/worklist?step=health_assessment")
        assert assessments.status_code == 200
        assert form_url(drive, drive.case.people[0].person_id) in assessments.text
        assert 'value="health_assessment" selected' in assessments.text
        assert 'data-live="/ui/worklist/live?step=health_assessment"' in assessments.text
        fitness = await person.get("/ui/worklist?step=fitness_to_travel")
        assert "Nothing is due from your clinic." in visible_text(fitness)
        live = await person.get("/ui/worklist/live?step=fitness_to_travel")
        assert "Haidari" not in live.text
        wrong = await person.get("/ui/worklist?step=departure")
        assert wrong.status_code == 422
        assert "Choose one of the listed examinations." in visible_text(wrong)
        assert 'id="field-step-error"' in wrong.text


async def test_a_class_a_traveller_comes_back_to_the_worklist_for_the_re_examination(world: World,
                                                                                    app: FastAPI) -> None:
    clinic = await enrol(world.store, Role.MEDICAL_PARTNER)
    drive = await scheduled_family(world, clinic)
    principal = drive.case.people[0].person_id
    url = form_url(drive, principal)
    today = (await world.today()).isoformat()
    async with browser(app) as person:
        await person.sign_in(clinic)
        held = await person.submit(url, {"exam_date": today, "tb_class": "A", "findings": "active TB, treatment"})
        assert held.status_code == 303
        # Treatment first, then a new appointment: the assessment stays blocked, and is due from the clinic again.
        await drive.until(lambda s: s.steps[f"health_assessment:{principal}"].attempt == 2
                          and s.steps[f"health_assessment:{principal}"].reference is not None)
        worklist = visible_text(await person.get("/ui/worklist"))
        assert "Haidari, Mariam" in worklist and "blocked" in worklist and "attempt 2" in worklist
        again = await person.get(url)
        assert again.status_code == 200 and "attempt 2" in visible_text(again)
        assert "class A. active TB, treatment" in visible_text(again), "the clinic sees the class it filed"
        cleared = await person.submit(url, {"exam_date": (await world.today()).isoformat(), "tb_class": "none"})
        assert cleared.status_code == 303, cleared.text
    state = await drive.state()
    assert state.steps[f"health_assessment:{principal}"].state is StepState.DONE
