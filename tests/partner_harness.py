"""The partner simulator service on a free local port (real HTTP, uvicorn in the test's loop), and the network
settings that point our HTTP adapters at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from predeparture.loopback import serving
from predeparture.partners_sim import PartnerSimConfig, create_partners_sim
from predeparture.partners_sim_callbacks import CallbackSender
from predeparture.partners_sim_faults import FaultState, NetworkFaults
from predeparture.settings import AdapterKind, PartnerAdapters, PartnerEndpoint, PartnerNetwork, SimulatorSettings

ROLES = ("exit_permits", "travel_documents", "medical", "orientation", "travel")
API_KEYS = {role: f"test-key-{role}-0123456789" for role in ROLES}
ALL_HTTP = PartnerAdapters(**{role: AdapterKind.HTTP for role in ROLES})


@dataclass
class SimService:
    url: str
    app: FastAPI

    def network(self, timeout: float = 5.0, keys: dict[str, str] | None = None) -> PartnerNetwork:
        chosen = keys or API_KEYS
        return PartnerNetwork(**{role: PartnerEndpoint(
            organisation_id=f"org_sim_{role}", base_url=self.url, api_key=SecretStr(chosen[role]),
            timeout_seconds=timeout, connect_timeout_seconds=min(timeout, 2.0)) for role in ROLES})

    async def set_faults(self, **faults: Any) -> None:
        async with httpx.AsyncClient(base_url=self.url) as admin:
            response = await admin.put("/admin/faults", json=NetworkFaults(**faults).model_dump(mode="json"))
            response.raise_for_status()

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url) as admin:
            response = await admin.get("/admin/stats")
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]


@asynccontextmanager
async def serving_sim(simulator: SimulatorSettings, config: PartnerSimConfig | None = None,
                      faults: FaultState | None = None, sender: CallbackSender | None = None,
                      ) -> AsyncIterator[SimService]:
    chosen = config or PartnerSimConfig(simulator=simulator, api_keys=dict(API_KEYS), callback_interval=None)
    app = create_partners_sim(chosen, faults, sender)
    async with serving(app) as url:
        yield SimService(url, app)


@asynccontextmanager
async def network_world(database_url: str, task_queue: str, simulator: SimulatorSettings,
                        service: SimService, renderer: Any = None) -> AsyncIterator[Any]:
    """tests/departure_harness.open_world, with every partner reached over HTTP at `service`."""
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from partners.factory import build_partners
    from predeparture.temporal import data_converter
    from predeparture.worker import build_worker
    from store.repository import Store
    from store.webhooks import SecretSealer
    from tests.conftest import venv_binary
    from tests.departure_harness import TEST_KEY, World

    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=venv_binary("temporal-test-server"))
    store = Store.from_url(database_url)
    await store.migrate()
    partners = build_partners(ALL_HTTP, simulator, service.network())
    client = Client(**{**env.client.config(), "data_converter": data_converter("test", TEST_KEY)})
    sealer = SecretSealer("test", TEST_KEY)
    try:
        async with build_worker(client, task_queue, store, partners, renderer=renderer, sealer=sealer):
            world = World(env, client, store, partners, task_queue, sealer)
            yield world
            await world.stop_all()
    finally:
        await partners.aclose()
        await store.close()
        await env.shutdown()
