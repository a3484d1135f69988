"""Callbacks from the partner simulator service, signed, duplicated and reordered by fault injection, reach the
departures through our API: every decision is used once, and a repeat records nothing."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import select
from starlette.types import Receive, Scope, Send

from api.auth import service as auth
from api.principal import Role
from domain.policy import DestinationPolicy
from domain.steps import Step, StepState
from predeparture.partners_sim_callbacks import CallbackClient, CallbackSender
from predeparture.partners_sim_faults import FaultState
from predeparture.settings import PartnerEndpoint, PartnerNetwork
from store.models import AuditRow
from tests.api_harness import harness_settings, serving
from tests.departure_harness import World, quiet_simulator
from tests.factories import family
from tests.partner_harness import SimService, network_world, serving_sim

SIM = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                      document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))
# Polled monthly: within the days this test runs, only a callback can decide a permit or document.
POLICY = DestinationPolicy(partner_poll_interval=timedelta(days=30))
SECRETS = {"exit_permits": "permit-authority-signing-key", "travel_documents": "document-issuer-signing-key"}
ROLES = {"exit_permits": Role.EXIT_PERMIT_AUTHORITY, "travel_documents": Role.TRAVEL_DOCUMENT_ISSUER}


class LateApp:
    """The API, known only once the world it serves is open (the world needs the simulator first)."""

    app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@pytest_asyncio.fixture
async def scene(database_url: str, task_queue: str, tmp_path: Any,
                document_renderer: Any) -> AsyncIterator[tuple[World, SimService, CallbackSender]]:
    api = LateApp()
    faults = FaultState()
    clients: dict[str, CallbackClient] = {}
    sender = CallbackSender("http://api", clients, faults, transport=httpx.ASGITransport(app=api))
    async with serving_sim(SIM, faults=faults, sender=sender) as sim, \
            network_world(database_url, task_queue, SIM, sim, document_renderer) as world:
        settings = harness_settings(tmp_path, task_queue)
        settings.partner_network = PartnerNetwork(**{role: PartnerEndpoint(
            organisation_id=f"org_{role}", base_url=sim.url, api_key=SecretStr("unused"),
            callback_secret=SecretStr(secret)) for role, secret in SECRETS.items()})
        async with serving(settings, world.store, world.client) as (app, _):
            api.app = app
            for role, api_role in ROLES.items():
                org = await auth.create_organisation(world.store, name=role, role=api_role,
                                                     org_id=f"org-{role}-{uuid.uuid4().hex[:8]}")
                client, secret = await auth.create_client(world.store, org_id=org.org_id)
                clients[role] = CallbackClient(client.client_id, secret, SECRETS[role])
            yield world, sim, sender


def _decided(state: Any) -> bool:
    steps = [r for r in state.steps.values() if r.step in (Step.EXIT_PERMIT, Step.TRAVEL_DOCUMENT)]
    return bool(steps) and all(r.state is StepState.DONE for r in steps)


def _requested(state: Any) -> bool:
    steps = [r for r in state.steps.values() if r.step in (Step.EXIT_PERMIT, Step.TRAVEL_DOCUMENT)]
    return len(steps) == 3 and all(r.state is StepState.REQUESTED for r in steps)


async def test_duplicated_and_reordered_callbacks_decide_each_step_once(
        scene: tuple[World, SimService, CallbackSender]) -> None:
    world, sim, sender = scene
    await sim.set_faults(duplicate_callback_rate=1.0, reorder_callbacks=True)
    drives = [await world.start(family(await world.today(), children=0), policy=POLICY) for _ in range(2)]
    for drive in drives:
        await drive.until(_requested, every=timedelta(minutes=30))
    await world.env.sleep(timedelta(days=4))  # every decision falls due; no poll comes for weeks

    async with httpx.AsyncClient(base_url=sim.url) as admin:
        as_of = (await world.env.get_current_time()).isoformat()
        pushed = await admin.post("/admin/callbacks", params={"as_of": as_of})
    assert pushed.json()["due"] == 6  # a permit and two documents per family
    for drive in drives:
        state = await drive.until(_decided, every=timedelta(minutes=10), limit=timedelta(days=1))
        references = {r.reference for r in state.steps.values() if r.step in (Step.EXIT_PERMIT, Step.TRAVEL_DOCUMENT)}
        assert all(r.document_number for r in state.steps.values() if r.reference in references)

    assert sender.refused == []
    sent = Counter(reference for _, reference, _ in sender.sent)
    assert len(sent) == 6 and set(sent.values()) == {2}, "each callback arrived twice"
    stats = await sim.stats()
    assert stats["injected"] == {"exit_permits.callback_duplicated": 2, "travel_documents.callback_duplicated": 4,
                                 "exit_permits.callback_reordered": 2, "travel_documents.callback_reordered": 4}
    async with world.store.session() as session:
        recorded = (await session.scalars(select(AuditRow.detail).where(
            AuditRow.action.in_(("callback.exit_permit", "callback.travel_document"))))).all()
    mine = [detail["reference"] for detail in recorded if detail.get("reference") in sent]
    assert sorted(mine) == sorted(sent), "the repeat of each callback recorded nothing"
    assert stats["side_effects"]["exit_permits.request_exit_permit"] == 2
    assert stats["side_effects"]["travel_documents.request_travel_document"] == 4
