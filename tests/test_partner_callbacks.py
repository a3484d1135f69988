"""Signed partner callbacks against a real worker: a bad, missing or stale signature is refused and changes
nothing; a decision that arrives before the partner's acknowledgement of our request reached us is kept and
used when the acknowledgement lands."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import select

from activities.messages import exit_permit_key
from api.auth import service as auth
from api.principal import Role
from domain.policy import DestinationPolicy
from domain.steps import Step, StepState
from partners.contract.signature import sign
from predeparture.settings import PartnerEndpoint, PartnerNetwork
from store.models import AuditRow
from tests.api_harness import Identity, harness_settings, serving, sign_in
from tests.departure_harness import World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.factories import family

SECRET = "exit-permit-authority-signing-key"
# Permits take months unless a callback says otherwise, and are polled rarely: only the callback decides here.
SLOW_PERMITS = quiet_simulator(permit_delay_min=timedelta(days=90), permit_delay_max=timedelta(days=100))
POLICY = DestinationPolicy(partner_poll_interval=timedelta(days=30))


@dataclass
class Authority:
    http: httpx.AsyncClient
    token: str

    async def post(self, reference: str, body: dict[str, object], signature: str | None,
                   raw: bytes | None = None) -> httpx.Response:
        content = raw if raw is not None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if signature is not None:
            headers["X-Partner-Signature"] = signature
        return await self.http.post(f"/callbacks/exit-permits/{reference}", content=content, headers=headers)


@pytest_asyncio.fixture
async def authority(world: World, tmp_path, task_queue: str) -> AsyncIterator[Authority]:  # type: ignore[no-untyped-def]
    settings = harness_settings(tmp_path, task_queue)
    settings.partner_network = PartnerNetwork(exit_permits=PartnerEndpoint(
        organisation_id="org_permits", base_url="http://permits.invalid", api_key=SecretStr("unused-here"),
        callback_secret=SecretStr(SECRET)))
    async with serving(settings, world.store, world.client) as (_, http):
        org = await auth.create_organisation(world.store, name="permits", role=Role.EXIT_PERMIT_AUTHORITY,
                                             org_id=f"org-permits-{uuid.uuid4().hex[:8]}")
        client, secret = await auth.create_client(world.store, org_id=org.org_id)
        token = await sign_in(http, Identity(Role.EXIT_PERMIT_AUTHORITY, "a", org.org_id, client.client_id, secret))
        yield Authority(http, token)


async def _callbacks_recorded(world: World, case_id: str) -> list[AuditRow]:
    async with world.store.session() as session:
        return list((await session.scalars(select(AuditRow).where(
            AuditRow.object_id == case_id, AuditRow.action == "callback.exit_permit"))).all())


def _issued(today: object, number: str = "EP-SIGNED-1", case_id: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"status": "issued", "valid_from": str(today), "document_number": number,
                               "valid_until": "2099-01-01"}
    if case_id is not None:
        body["case_id"] = case_id
    return body


@pytest.mark.parametrize("simulator_settings", [SLOW_PERMITS])
async def test_a_callback_with_a_bad_signature_is_refused_and_changes_nothing(world: World,
                                                                              authority: Authority) -> None:
    drive = await world.start(family(await world.today(), children=0), policy=POLICY)
    state = await drive.until_step(Step.EXIT_PERMIT, None, StepState.REQUESTED, every=timedelta(minutes=30))
    reference = state.steps[Step.EXIT_PERMIT.value].reference or ""
    body = _issued(await world.today())
    raw = json.dumps(body).encode()
    forged = {
        "missing": None,
        "wrong secret": sign("not-the-partners-secret-at-all", raw),
        "stale": sign(SECRET, raw, timestamp=int(time.time()) - 3600),
        "another body": sign(SECRET, json.dumps(_issued(await world.today(), "EP-FORGED")).encode()),
        "malformed": "sha256=deadbeef",
    }
    for why, signature in forged.items():
        response = await authority.post(reference, body, signature, raw)
        assert response.status_code == 401, why
        problem = response.json()
        assert problem["errors"][0]["field"] == "header.X-Partner-Signature", why
    await drive.world.env.sleep(timedelta(minutes=30))
    state = await drive.state()
    assert state.steps[Step.EXIT_PERMIT.value].state is StepState.REQUESTED
    assert state.callbacks == {}
    assert await _callbacks_recorded(world, drive.case.case_id) == []

    signed = await authority.post(reference, body, sign(SECRET, raw), raw)
    assert signed.status_code == 202, signed.text
    state = await drive.until_step(Step.EXIT_PERMIT, None, StepState.DONE, every=timedelta(minutes=10),
                                   limit=timedelta(days=1))
    assert state.steps[Step.EXIT_PERMIT.value].document_number == "EP-SIGNED-1"
    assert len(await _callbacks_recorded(world, drive.case.case_id)) == 1


@pytest.mark.parametrize("simulator_settings", [SLOW_PERMITS])
async def test_a_decision_before_the_acknowledgement_is_kept_until_it_lands(world: World,
                                                                            authority: Authority) -> None:
    # The authority files the request, but its answers are lost on the way back: we do not know its reference yet.
    world.partners.faults.fail_after_commit("exit_permits.request_exit_permit", times=10_000)
    drive = await world.start(family(await world.today(), children=0), policy=POLICY)
    case_id = drive.case.case_id
    filed = world.partners.exit_permits.requests
    for _ in range(200):
        if exit_permit_key(case_id, 1) in filed:
            break
        await world.env.sleep(timedelta(minutes=1))
    reference = filed[exit_permit_key(case_id, 1)].reference
    assert (await drive.state()).steps[Step.EXIT_PERMIT.value].reference is None

    body = _issued(await world.today(), "EP-EARLY-1")
    unplaced = await authority.post(reference, body, sign(SECRET, json.dumps(body).encode()))
    assert unplaced.status_code == 404, "without our case id the decision has nowhere to go"
    early = _issued(await world.today(), "EP-EARLY-1", case_id=case_id)
    raw = json.dumps(early).encode()
    for _ in range(2):  # a repeat is accepted and changes nothing
        response = await authority.post(reference, early, sign(SECRET, raw), raw)
        assert response.status_code == 202, response.text
    assert response.json()["duplicate"] is True

    world.partners.faults.clear()  # the acknowledgement gets through at the next retry
    state = await drive.until_step(Step.EXIT_PERMIT, None, StepState.DONE, every=timedelta(minutes=10),
                                   limit=timedelta(days=2))
    assert state.steps[Step.EXIT_PERMIT.value].reference == reference
    assert state.steps[Step.EXIT_PERMIT.value].document_number == "EP-EARLY-1"
    assert world.partners.exit_permits.requests_made == 1
    assert len(await _callbacks_recorded(world, case_id)) == 1
