"""What every simulated call goes through: latency, then transient failures, natural and scripted."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from partners.errors import PartnerUnavailable
from partners.simulators.draws import Draws
from partners.simulators.faults import FaultPlan
from predeparture.settings import SimulatorSettings

# Of the natural transient failures, this share happens after the partner acted (the response is lost),
# the rest before; both look the same to the caller, which is the point.
LOST_RESPONSE_SHARE = 0.5


@dataclass(frozen=True)
class Call:
    operation: str
    key: str
    number: int
    lose_response: bool


class CallGate:
    def __init__(self, role: str, settings: SimulatorSettings, faults: FaultPlan, draws: Draws) -> None:
        self.role = role
        self.settings = settings
        self.faults = faults
        self.draws = draws
        self.calls: Counter[tuple[str, str]] = Counter()

    async def enter(self, method: str, key: str) -> Call:
        """Before the partner acts. `key` is the idempotency key, or the reference a status call asks about."""
        operation = f"{self.role}.{method}"
        self.calls[(operation, key)] += 1
        number = self.calls[(operation, key)]
        await self._latency(operation, key, number)
        if self.faults.take_before_commit(operation):
            raise PartnerUnavailable(self.role, f"{method}: scripted failure before the request was processed")
        fails = self.draws.chance(self.settings.transient_failure_rate, "transient", operation, key, number)
        lost = fails and self.draws.chance(LOST_RESPONSE_SHARE, "lost_response", operation, key, number)
        if fails and not lost:
            raise PartnerUnavailable(self.role, f"{method}: service unavailable")
        return Call(operation, key, number, lost)

    def leave(self, call: Call) -> None:
        """After the partner acted: the response may still never reach the caller."""
        if self.faults.take_after_commit(call.operation):
            raise PartnerUnavailable(self.role, f"{call.operation}: scripted timeout after the request was processed")
        if call.lose_response:
            raise PartnerUnavailable(self.role, f"{call.operation}: timed out waiting for the response")

    async def _latency(self, operation: str, key: str, number: int) -> None:
        if self.settings.latency_ms <= 0:
            return  # benchmarks run at zero latency and must not even yield to the loop
        jitter = 0.5 + self.draws.unit("latency", operation, key, number)  # mean 1
        await asyncio.sleep(self.settings.latency_ms * jitter / 1000)
