"""What the chaos run plays itself, in its own process, so it survives every kill: the partner organisations (the
partner simulator service, with network faults), the reception teams' webhook receiver, and the partners'
callbacks. Each is served over real HTTP on a free loopback port."""

from __future__ import annotations

import contextlib
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from domain.webhooks import ManifestNotice
from partners.factory import CallbackSource
from predeparture.chaos_processes import ROLES
from predeparture.loopback import serving
from predeparture.partners_sim import PartnerSimConfig, SimulatedPartners, create_partners_sim
from predeparture.partners_sim_faults import NetworkFaults
from predeparture.receiver import MANIFEST_PATH, ReceivedManifests, build_receiver
from predeparture.settings import PartnerEndpoint, PartnerNetwork, SimulatorSettings

PARTNER_TIMEOUT_SECONDS = 10.0


def split_failures(rate: float) -> tuple[float, float]:
    """`rate` of partner calls fail: two thirds answered 503 before the partner acts, the rest cut after it acted
    (the answer is lost, the side effect is made). Returns (error_rate, drop_rate) with 1-(1-e)(1-d) == rate."""
    error = rate * 2 / 3
    drop = (rate - error) / (1 - error) if error < 1 else 0.0
    return error, drop


# Exponential latency: most answers within a few hundred ms, one in fifty over a second, a few up to the cap.
LATENCY_MEAN_MS, LATENCY_CAP_MS = 250, 4000
LATENCY = f"exponential, mean {LATENCY_MEAN_MS} ms, spikes up to {LATENCY_CAP_MS / 1000:.0f} s"


def network_faults(failure_rate: float, seed: int) -> NetworkFaults:
    """The run's faults: `failure_rate` of calls fail, and latency with spikes."""
    error, drop = split_failures(failure_rate)
    return NetworkFaults(latency="exponential", latency_ms_min=2, latency_ms_mean=LATENCY_MEAN_MS,
                         latency_ms_max=LATENCY_CAP_MS, error_rate=error, drop_rate=drop, seed=seed)


@dataclass
class PartnerService:
    url: str
    partners: SimulatedPartners
    api_keys: dict[str, str]

    def network(self) -> PartnerNetwork:
        return PartnerNetwork(**{role: PartnerEndpoint(
            organisation_id=f"org_sim_{role}", base_url=self.url, api_key=SecretStr(self.api_keys[role]),
            timeout_seconds=PARTNER_TIMEOUT_SECONDS) for role in ROLES})

    def callback_sources(self) -> list[CallbackSource]:
        """The authorities that decide later; their decisions go to the departures as the partners' callbacks."""
        return [p for p in self.partners.by_role.values() if isinstance(p, CallbackSource)]

    async def set_faults(self, faults: NetworkFaults) -> None:
        async with httpx.AsyncClient(base_url=self.url) as admin:
            (await admin.put("/admin/faults", json=faults.model_dump(mode="json"))).raise_for_status()

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url) as admin:
            response = await admin.get("/admin/stats")
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def partner_service(simulator: SimulatorSettings) -> AsyncIterator[PartnerService]:
    keys = {role: secrets.token_urlsafe(24) for role in ROLES}
    app = create_partners_sim(PartnerSimConfig(simulator=simulator, api_keys=keys, callback_interval=None))
    async with serving(app) as url:
        yield PartnerService(url, app.state.partners, keys)


class CountedManifests(ReceivedManifests):
    """The reference receiver's store, counting every copy that came: a repeated delivery is kept once, and the
    count says how often the sender had to try."""

    def __init__(self) -> None:
        super().__init__()
        self.copies: Counter[str] = Counter()

    def keep(self, notice: ManifestNotice, body: bytes) -> bool:
        self.copies[notice.delivery_id] += 1
        return super().keep(notice, body)


@dataclass
class Receiver:
    url: str
    secret: bytes
    manifests: CountedManifests


@contextlib.asynccontextmanager
async def reception_receiver() -> AsyncIterator[Receiver]:
    secret = secrets.token_bytes(32)
    manifests = CountedManifests()
    async with serving(build_receiver(secret, manifests)) as url:
        yield Receiver(f"{url}{MANIFEST_PATH}", secret, manifests)
