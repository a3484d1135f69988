"""The API part of the `load` section: the real API, hammered by many concurrent clients with a coordinator's mix.

The API (`uvicorn --factory api.server:app_from_environment`, as in the `api` section) reads the store the worker
writes, holding every open departure of the section. Each caller has a client and a kept-alive connection of its
own and takes the next request as its last one returns. The mix, by request number: seven in ten a case's timeline
(GET /cases/{id}/timeline), two a page of the office's cases (GET /cases, half of them filtered on a step's state),
one a case update (PUT /cases/{id}, the whole case again with a new priority). Every answer that is not 2xx, and
every request that got no answer, is an error.

Rate limits stay on, as in production, with each limit raised far beyond what the run sends: the limiter's own cost
is part of what a request costs, but 200 callers sharing one coordinator's login must not turn the benchmark into
a count of 429s.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from api.auth.seed import DemoLogin
from domain.case import Case
from predeparture import bench_api  # a module, its names read at run time: it imports predeparture.bench

KINDS = ("timeline",) * 7 + ("case_list",) * 2 + ("case_update",)
RAISED_LIMIT = "100000/second"  # per caller: beyond anything the run sends
RAISED = ("RATE_LIMIT_CASE_LIST", "RATE_LIMIT_DEPARTURES", "RATE_LIMIT_MEDICAL_RESULTS", "RATE_LIMIT_MANIFEST")
WARM_UP_PER_CALLER = 2  # requests per caller before anything counts: first queries, caches, connections
LIST_FILTERED = "/cases?step=health_assessment&state=scheduled&limit=50"
LIST_FIRST_PAGE = "/cases?limit=50"


def load_api_environment(database_url: str, temporal: Client, task_queue: str, key: bytes,
                         data_dir: Path) -> dict[str, str]:
    environment = bench_api.api_environment(database_url, temporal, task_queue, key, data_dir)
    environment["PREDEPARTURE_API__RATE_LIMITS_ENABLED"] = "true"
    environment.update({f"PREDEPARTURE_API__{name}": RAISED_LIMIT for name in RAISED})
    return environment


def kind_of(index: int) -> str:
    return KINDS[index % len(KINDS)]


def update_body(case: Case, priority: int) -> dict[str, Any]:
    """The whole case again, every traveller keeping their id, with another priority."""
    return {"reference": case.reference, "medical_partner_id": case.medical_partner_id,
            "destination": case.destination.model_dump(mode="json"), "priority": priority,
            "approved_on": case.approved_on.isoformat(),
            "people": [person.model_dump(mode="json") for person in case.people]}


@dataclass
class ApiRun:
    by_kind: dict[str, bench_api.Measurement]
    wall: float
    server_cpu: float | None
    load_average: float | None

    @property
    def requests(self) -> int:
        return sum(len(measured.seconds) for measured in self.by_kind.values())

    @property
    def errors(self) -> int:
        return sum(n for measured in self.by_kind.values() for status, n in measured.answers.items()
                   if not 200 <= status < 300)


async def hammer(connections: list[httpx.AsyncClient], cases: list[Case], indexes: range, server_pid: int) -> ApiRun:
    """Every caller takes the next request number as it finishes its last, until none is left."""
    pending = iter(indexes)
    measured = {kind: bench_api.Measurement() for kind in dict.fromkeys(KINDS)}

    async def send(http: httpx.AsyncClient, index: int) -> httpx.Response:
        case = cases[index % len(cases)]
        kind = kind_of(index)
        if kind == "timeline":
            return await http.get(f"/cases/{case.case_id}/timeline")
        if kind == "case_list":
            return await http.get(LIST_FILTERED if index // len(KINDS) % 2 else LIST_FIRST_PAGE)
        return await http.put(f"/cases/{case.case_id}", json=update_body(case, 1 + index % 5))

    async def caller(http: httpx.AsyncClient) -> None:
        for index in pending:  # one iterator shared: each request number is sent once
            began = time.perf_counter()
            try:
                status = (await send(http, index)).status_code
            except httpx.HTTPError:
                status = 0
            taken = measured[kind_of(index)]
            taken.seconds.append(time.perf_counter() - began)
            taken.answers[status] += 1

    began, cpu_before = time.perf_counter(), bench_api.cpu_seconds(server_pid)
    await asyncio.gather(*(caller(http) for http in connections))
    wall = time.perf_counter() - began
    cpu_after = bench_api.cpu_seconds(server_pid)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return ApiRun(measured, wall, cpu, load)


async def measure_api(stack: AsyncExitStack, environment: dict[str, str], workdir: Path, coordinator: DemoLogin,
                      cases: list[Case], clients: int, requests: int) -> ApiRun:
    """Serve the API, log in as the office's coordinator, warm up, then `requests` requests by `clients` callers."""
    server = await bench_api.serve(stack, "api", "api.server:app_from_environment", environment, workdir, factory=True)
    async with bench_api.client(server.url) as anonymous:
        bearer = await bench_api.token(anonymous, coordinator.username, coordinator.password)
    everyone = await bench_api.callers(stack, server.url, clients, bearer)
    await hammer(everyone, cases, range(requests, requests + clients * WARM_UP_PER_CALLER), server.pid)
    return await hammer(everyone, cases, range(requests), server.pid)


def api_figures(run: ApiRun, clients: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"api_clients": clients, "api_requests": run.requests, "api_errors": run.errors}
    for kind, measured in run.by_kind.items():
        for percent in (50, 95, 99):
            figures[f"api_{kind}_p{percent}_ms"] = measured.ms(percent)
        figures[f"api_{kind}_requests"] = len(measured.seconds)
    figures["api_server_cpu_ms_per_request"] = None if run.server_cpu is None else run.server_cpu / run.requests * 1000
    figures["api_load_average_1m"] = run.load_average
    figures["api_answers"] = {kind: {str(status): n for status, n in sorted(measured.answers.items())}
                              for kind, measured in run.by_kind.items()}
    return figures
