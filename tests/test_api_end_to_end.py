"""One whole departure driven through the API alone, with real tokens: the coordinator opens and starts it, the
clinic submits results from its worklist, partners call back, the reception team reads the manifest. Only the
clock is moved by the test (months pass on the time-skipping server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from api.auth.seed import seed_demo_identities
from api.context import ApiContext
from api.principal import Role
from predeparture.settings import ApiSettings, Settings, TemporalSettings
from tests.departure_harness import World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.factories import family

OFFICE, CLINIC, RECEPTION = "office_e2e", "clinic_e2e", "org_reception_e2e"
SLOW_PERMIT = quiet_simulator(permit_delay_min=timedelta(days=60), permit_delay_max=timedelta(days=61),
                              document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))


class Session:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.headers = http, {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, url: str, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.http.request(method, url, headers=self.headers, **kwargs)
        assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text}"
        return response.json() if response.content else None


@pytest_asyncio.fixture
async def http(world: World, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                        api=ApiSettings(rate_limits_enabled=False),
                        temporal=TemporalSettings(task_queue=world.task_queue))
    app = create_app(context=ApiContext(settings, world.store, world.client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def login(http: httpx.AsyncClient, **form: str) -> str:
    response = await http.post("/auth/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.mark.parametrize("simulator_settings", [SLOW_PERMIT])
async def test_a_departure_from_case_creation_to_arrival_manifest_through_the_api(
    world: World, http: httpx.AsyncClient
) -> None:
    logins = {(d.role, d.is_client): d for d in await seed_demo_identities(
        world.store, office_id=OFFICE, reception_org_id=RECEPTION, clinic_id=CLINIC)}
    people = {role: Session(http, await login(http, grant_type="password", username=d.username, password=d.password))
              for (role, is_client), d in logins.items() if not is_client}
    coordinator, clinic, reception = people[Role.COORDINATOR], people[Role.MEDICAL_PARTNER], people[Role.RECEPTION_TEAM]
    authority = logins[(Role.EXIT_PERMIT_AUTHORITY, True)]
    permit_office = Session(http, await login(http, grant_type="client_credentials", client_id=authority.username,
                                              client_secret=authority.password))

    # The coordinator opens the case and starts its departure (twice: the second start is the same departure).
    draft = family(await world.today(), children=1)
    body = draft.model_dump(mode="json", exclude={"case_id", "office_id"})
    body["medical_partner_id"] = CLINIC
    body["destination"]["receiving_organisation"] = RECEPTION
    for person in body["people"]:
        person.pop("person_id")
    case = await coordinator.call("POST", "/cases", 201, json=body)
    case_id = case["case_id"]
    first = await coordinator.call("POST", f"/cases/{case_id}/departure", 201)
    again = await coordinator.call("POST", f"/cases/{case_id}/departure", 200)
    assert again["workflow_id"] == first["workflow_id"] and case["reference"] not in first["workflow_id"]

    async def timeline() -> dict[str, Any]:
        return dict(await coordinator.call("GET", f"/cases/{case_id}/timeline"))

    async def until(predicate: Any, every: timedelta = timedelta(hours=6), limit: int = 2000) -> dict[str, Any]:
        for _ in range(limit):
            current = await timeline()
            if predicate(current):
                return current
            await world.env.sleep(every)
        raise AssertionError(f"timeline never got there: {current}")

    def step(current: dict[str, Any], key: str) -> dict[str, Any]:
        return next((s for s in current["steps"] if s["key"] == key), {"state": None})

    # The clinic works through its worklist.
    await until(lambda t: all(step(t, f"health_assessment:{p['person_id']}")["state"] == "scheduled"
                              for p in case["people"]))
    worklist = await clinic.call("GET", "/medical/worklist")
    due = [i for i in worklist["items"] if i["case_id"] == case_id]
    assert len(due) == len(case["people"])
    today = (await world.env.get_current_time()).date().isoformat()
    for item in due:
        await clinic.call("POST", f"/medical/cases/{case_id}/assessments",
                          json={"person_id": item["person_id"], "exam_date": today, "tb_class": "none",
                                "findings": "no abnormality"})

    # The permit authority answers by callback instead of waiting to be polled; a repeat changes nothing.
    await until(lambda t: step(t, "exit_permit")["state"] == "requested", every=timedelta(hours=1))
    reference = world.partners.exit_permits.requests[f"{case_id}-exit-permit-1"].reference  # the authority's own file
    decision = {"status": "issued", "valid_from": today, "document_number": "EP-2026-0042",
                "valid_until": (await world.env.get_current_time()).date().replace(year=2030).isoformat()}
    await permit_office.call("POST", f"/callbacks/exit-permits/{reference}", 202, json=decision)
    await permit_office.call("POST", f"/callbacks/exit-permits/{reference}", 202, json=decision)

    # The answer reaches the store through the workflow: wait for it, minutes not the weeks a poll would take.
    await until(lambda t: step(t, "exit_permit")["state"] == "done", every=timedelta(minutes=1), limit=120)
    permit = next(r for r in await world.store.step_records(case_id) if r.key == "exit_permit")
    assert permit.document_number == "EP-2026-0042", "issued by the callback, weeks before a poll would see it"

    # Orientation, then the booking; the fitness checks open 72 hours before the flight.
    await until(lambda t: t.get("booking") is not None, every=timedelta(days=1))
    await until(lambda t: all(step(t, f"fitness_to_travel:{p['person_id']}")["state"] == "scheduled"
                              for p in case["people"]))
    now = (await world.env.get_current_time()).isoformat()
    for person in case["people"]:
        await clinic.call("POST", f"/medical/cases/{case_id}/fitness-checks",
                          json={"person_id": person["person_id"], "checked_at": now, "fit": True})

    # The reception team sees the arrival and its manifest: functional needs, never a diagnosis.
    arrivals = await reception.call("GET", "/arrivals")
    assert case_id in {a["case_id"] for a in arrivals["items"]}
    manifest = await reception.call("GET", f"/arrivals/{case_id}/manifest")
    assert len(manifest["travellers"]) == len(case["people"])
    assert "no abnormality" not in str(manifest) and "tb_class" not in str(manifest)

    final = await until(lambda t: t["phase"] == "departed", every=timedelta(hours=6))
    assert all(s["state"] == "done" for s in final["steps"])
    audit = await coordinator.call("GET", "/audit", params={"object_id": case_id, "limit": 500})
    actions = {row["action"] for row in audit["items"]}
    assert {"departure.started", "departure.departed"} <= actions
