"""The operator's bad day in a chaos run: the worker killed with SIGKILL and started again, and the Temporal server
restarted, each at a random point of the run's progress."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from predeparture.chaos_processes import RestartableServer, WorkerProcess

log = logging.getLogger(__name__)


@dataclass
class Disruption:
    at_progress: float
    kind: Literal["worker_kill", "server_restart"]


def plan_disruptions(kills: int, restarts: int, rng: random.Random) -> list[Disruption]:
    """Spread over the run's progress, not its clock: the run's length is not known beforehand."""
    plan = [Disruption(rng.uniform(0.02, 0.85), "worker_kill") for _ in range(kills)]
    plan += [Disruption(rng.uniform(0.2, 0.7), "server_restart") for _ in range(restarts)]
    return sorted(plan, key=lambda d: d.at_progress)


class Monkey:
    """Carries out the disruptions, each at a random moment once the run has come far enough; meanwhile keeps a
    worker running (one that died by itself is started again, and counted)."""

    def __init__(self, plan: list[Disruption], worker: WorkerProcess, server: RestartableServer,
                 progress: Callable[[], float], rng: random.Random, min_gap_seconds: float = 0.0) -> None:
        self._plan = list(plan)
        # A new worker first replays every open departure; disruptions closer than this would keep it replaying.
        self._min_gap = min_gap_seconds
        self._worker = worker
        self._server = server
        self._progress = progress
        self._rng = rng
        self.done: list[tuple[str, float]] = []  # (kind, progress when done)

    @property
    def finished(self) -> bool:
        return not self._plan

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = -self._min_gap
        while True:
            await self._worker.restart_if_gone()
            due = self._plan and self._progress() >= self._plan[0].at_progress
            if due and loop.time() - last >= self._min_gap:
                disruption = self._plan.pop(0)
                await asyncio.sleep(self._rng.uniform(0.0, 2.0))  # a random moment, not the round's edge
                await self._disrupt(disruption)
                last = loop.time()
            await asyncio.sleep(0.5)

    async def _disrupt(self, disruption: Disruption) -> None:
        progress = self._progress()
        if disruption.kind == "worker_kill":
            log.info("chaos: SIGKILL to worker %s at %.0f%% of the run", self._worker.pid, 100 * progress)
            await self._worker.kill()
            await self._worker.start()
        else:
            log.info("chaos: restarting the Temporal server at %.0f%% of the run", 100 * progress)
            await self._server.restart()
        self.done.append((disruption.kind, progress))
