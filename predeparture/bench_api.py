"""Section `api` of `predeparture bench`: what the API's own work costs a caller, against a bare FastAPI route.

The real API (`uvicorn --factory api.server:app_from_environment`) and a bare app with one route returning a small
JSON document (predeparture/bench_bare_api.py) run as two uvicorn processes with the same options, on loopback.
Both see one store (a fresh SQLite file), as does the worker this process runs on the bench's Temporal. Families
are created and their departures started through the API; once every traveller's health assessment is scheduled,
the departures wait (on the clinic, and on partners asked again only a day later), so the reads meet a quiet worker.

Measured, each by `clients` concurrent callers (asyncio tasks, each with a client and a kept-alive connection of
its own: one pool shared by 50 callers costs more than the bare route itself, and would hide the difference):
- a coordinator's timeline read (GET /cases/{case_id}/timeline, the cases round-robin) against the bare route, in
  alternating rounds of equal size, so whatever else the machine is doing hits both alike. The ratio of their p99
  is `ratios.timeline_p99_vs_bare_route`; its target is at most 3.
- a clinic's result submission (POST /medical/cases/{case_id}/assessments, one per traveller), each a workflow
  Update through Temporal and a store write by the worker; reported with its ratio to the bare route, no target.

With 50 callers a server is saturated, so latency is mostly queueing: a timeline's p50 over the bare route's is
close to the ratio of their costs. The report also gives each server's CPU per request (Linux), which says what a
route costs whatever else runs on the machine, and the machine's load average: the bare route's p99 is tens of
milliseconds, so a machine busy with other work moves it, and the p99 ratio with it, more than anything measured.

The size comes from the environment (the defaults are the full run; tests/test_bench_api.py runs it small):
  PREDEPARTURE_BENCH_API_CLIENTS   concurrent callers                       (50)
  PREDEPARTURE_BENCH_API_REQUESTS  timeline reads, and bare requests, each  (2000)
  PREDEPARTURE_BENCH_API_FAMILIES  families of three; each traveller makes one submission  (100)
and where the store is:
  PREDEPARTURE_BENCH_API_DATABASE_URL  an SQLAlchemy async URL of a database of the bench's alone, migrated here
                                       (e.g. postgresql+asyncpg://127.0.0.1/bench); unset: a fresh SQLite file
"""

from __future__ import annotations

import asyncio
import base64
import math
import os
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from api.auth.seed import seed_demo_identities
from api.principal import Role
from domain.steps import Step, StepState
from partners.factory import build_partners
from predeparture.bench import (
    BenchContext,
    BenchFailed,
    SectionResult,
    Target,
    bench_section,
    bench_simulator,
    worker_executor,
)
from predeparture.bench_bare_api import PATH as BARE_PATH
from predeparture.loopback import free_port
from predeparture.settings import PartnerAdapters
from predeparture.temporal import data_converter
from predeparture.worker import build_worker
from store.repository import Store

TIMELINE_TARGET = 3.0
ROUNDS = 8  # alternating rounds per measurement: enough that drift on the machine lands on both
WARM_UP_PER_CALLER = 8  # requests per caller to each server before anything counts: first queries, caches
WARM_UP_FAMILIES = 2  # whose submissions go first, unmeasured: the first Updates pay for cold paths
SETUP_CALLERS = 10  # concurrent calls that create cases and start departures (not measured)
SCHEDULED_PATIENCE = 120.0  # seconds for every health assessment to be scheduled after the starts
SERVER_PATIENCE = 60.0  # seconds for a uvicorn process to answer
STOP_PATIENCE = 10.0  # seconds for a uvicorn process to stop after SIGTERM, before it is killed
REQUEST_TIMEOUT = 60.0
KEY_ID = "bench-api"
OFFICE, CLINIC, RECEPTION = "office_bench_api", "clinic_bench_api", "org_reception_bench_api"
ENV_PREFIX = "PREDEPARTURE_"
FAMILY = (("principal", date(1986, 3, 14), "F"), ("spouse", date(1983, 11, 2), "M"), ("child", date(2016, 6, 1), "F"))


@dataclass(frozen=True)
class ApiBenchSize:
    clients: int = 50
    requests: int = 2000
    families: int = 100

    @classmethod
    def from_environment(cls) -> ApiBenchSize:
        defaults = cls()
        return cls(**{name: _positive(f"PREDEPARTURE_BENCH_API_{name.upper()}", getattr(defaults, name))
                      for name in ("clients", "requests", "families")})

    @property
    def rounds(self) -> int:
        """No round smaller than the callers, or the later ones would measure less than `clients` at once."""
        return max(1, min(ROUNDS, self.requests // self.clients))


def _positive(variable: str, default: int) -> int:
    text = os.environ.get(variable)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise BenchFailed(f"{variable} must be a whole number of at least 1, not {text!r}")
    return value


# -- latencies -----------------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """Latencies of one kind of request, pooled over its rounds, and how its answers went."""

    seconds: list[float] = field(default_factory=list)
    wall: float = 0.0  # the rounds' own wall-clock time, for the rate
    answers: Counter[int] = field(default_factory=Counter)  # HTTP status -> count; 0: no answer at all
    server_cpu: float | None = 0.0  # CPU seconds the server process spent meanwhile; None where it cannot be read

    def add(self, other: Measurement) -> None:
        self.seconds += other.seconds
        self.wall += other.wall
        self.answers += other.answers
        self.server_cpu = None if self.server_cpu is None or other.server_cpu is None else \
            self.server_cpu + other.server_cpu

    def ms(self, percent: float) -> float:
        """Nearest rank: the smallest latency with at least `percent` % of the requests at or below it."""
        ordered = sorted(self.seconds)
        rank = max(1, math.ceil(percent / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    @property
    def rate(self) -> float:
        return len(self.seconds) / self.wall

    @property
    def server_cpu_ms(self) -> float | None:
        """The server's CPU per request: the cost of the route itself, whatever the callers and the machine add."""
        return None if self.server_cpu is None else self.server_cpu / len(self.seconds) * 1000

    @property
    def failed(self) -> Counter[int]:
        return Counter({status: n for status, n in self.answers.items() if status != 200})


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Load:
    """What the callers send to one server: `send(caller's client, index)`, each caller on a client of its own."""

    send: Send
    callers: list[httpx.AsyncClient]
    server_pid: int | None = None


def cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU of a process so far, all its threads, from Linux's /proc; None elsewhere."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14 and 15)


async def measure(load: Load, indexes: Sequence[int]) -> Measurement:
    """The callers take the next index as each finishes its call, until none is left."""
    pending = iter(indexes)
    taken = Measurement()

    async def caller(http: httpx.AsyncClient) -> None:
        for index in pending:  # one iterator shared: each index is sent once
            began = time.perf_counter()
            try:
                status = (await load.send(http, index)).status_code
            except httpx.HTTPError:
                status = 0
            taken.seconds.append(time.perf_counter() - began)
            taken.answers[status] += 1

    began, cpu_before = time.perf_counter(), cpu_seconds(load.server_pid)
    await asyncio.gather(*(caller(http) for http in load.callers[:len(indexes)]))
    taken.wall = time.perf_counter() - began
    cpu_after = cpu_seconds(load.server_pid)
    taken.server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return taken


async def alternating(first: Load, second: Load, size: ApiBenchSize) -> tuple[Measurement, Measurement]:
    """Rounds of each in turn, the order flipped every round (ABBA...), so a slow spell hits both alike."""
    measured = Measurement(), Measurement()
    for turn in range(size.rounds):
        indexes = range(turn * size.requests // size.rounds, (turn + 1) * size.requests // size.rounds)
        order = (0, 1) if turn % 2 == 0 else (1, 0)
        for which in order:
            measured[which].add(await measure((first, second)[which], indexes))
    return measured


def refuse_failures(label: str, measured: Measurement) -> None:
    """Latencies of refused or unanswered requests say nothing about the route: the run is not a measurement."""
    if measured.failed:
        answers = ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(measured.failed.items()))
        raise BenchFailed(f"{label}: {sum(measured.failed.values())} of {len(measured.seconds)} requests were not "
                          f"answered 200 ({answers})")


# -- servers -------------------------------------------------------------------------------------------------------


def uvicorn_command(target: str, port: int, factory: bool = False) -> list[str]:
    """The same options for both servers: one process, no access log, the defaults otherwise."""
    return [sys.executable, "-m", "uvicorn", *(["--factory"] if factory else []), target, "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log"]


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


async def serve(stack: AsyncExitStack, name: str, target: str, environment: dict[str, str], workdir: Path,
                factory: bool = False) -> Server:
    """A uvicorn process serving `target`, stopped with the stack however the section ends; returned once it
    answers. Its output goes to a log file: stdout is the report's alone."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    log = stack.enter_context(log_path.open("wb"))
    process = await asyncio.create_subprocess_exec(
        *uvicorn_command(target, port, factory), env=environment, cwd=workdir, stdin=asyncio.subprocess.DEVNULL,
        stdout=log, stderr=asyncio.subprocess.STDOUT)

    stop_with(stack, process)  # uvicorn finishes requests in flight, then runs the app's shutdown
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_PATIENCE
    async with httpx.AsyncClient(base_url=base_url, timeout=5.0) as probe:
        while True:
            if process.returncode is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise BenchFailed(f"the {name} server stopped at start (exit {process.returncode}): {tail}")
            try:
                await probe.get("/")  # any answer, a 404 included: uvicorn answers once the app has started
                return Server(base_url, process.pid)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise BenchFailed(f"the {name} server did not answer within {SERVER_PATIENCE:.0f} s") from None
                await asyncio.sleep(0.1)


def stop_with(stack: AsyncExitStack, process: asyncio.subprocess.Process, patience: float = STOP_PATIENCE) -> None:
    """When `stack` closes: SIGTERM, `patience` seconds to finish, then SIGKILL."""

    async def stop() -> None:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), patience)
            except TimeoutError:
                process.kill()
                await process.wait()

    stack.push_async_callback(stop)


def process_environment(database_url: str, temporal: Client, task_queue: str, key: bytes,
                        data_dir: Path) -> dict[str, str]:
    """What a process of the bench (the API, a worker) needs to join its store, its Temporal and its key, with no
    PREDEPARTURE_* of the caller's shell inherited."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(ENV_PREFIX)}
    return {
        **inherited,
        "PREDEPARTURE_DATA_DIR": str(data_dir),
        "PREDEPARTURE_DATABASE_URL": database_url,
        "PREDEPARTURE_TEMPORAL__ADDRESS": temporal.service_client.config.target_host,
        "PREDEPARTURE_TEMPORAL__NAMESPACE": temporal.namespace,
        "PREDEPARTURE_TEMPORAL__TASK_QUEUE": task_queue,
        "PREDEPARTURE_ENCRYPTION_KEY": base64.b64encode(key).decode("ascii"),
        "PREDEPARTURE_ENCRYPTION_KEY_ID": KEY_ID,
    }


def api_environment(database_url: str, temporal: Client, task_queue: str, key: bytes,
                    data_dir: Path) -> dict[str, str]:
    """The API's settings, and none inherited: a PREDEPARTURE_* of the caller's shell must not reach a bench run
    (nor its database or its Temporal)."""
    return {
        **process_environment(database_url, temporal, task_queue, key, data_dir),
        "PREDEPARTURE_API__JWT_SECRET": secrets.token_urlsafe(48),
        "PREDEPARTURE_API__RATE_LIMITS_ENABLED": "false",  # the bench measures latency, not the limits
    }


# -- the departures the reads and submissions are about ------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    case_id: str
    person_ids: list[str]


def family_body(number: int, today: date) -> dict[str, Any]:
    """A family of three, no passports; only opaque ids and a made-up reference travel in URLs and logs."""
    people = [{"given_name": "Bench", "family_name": "Family", "date_of_birth": born.isoformat(), "sex": sex,
               "nationality": "AFG", "languages": ["fa"], "relationship": relationship}
              for relationship, born, sex in FAMILY]
    return {"reference": f"BENCH-API-{number:05d}", "medical_partner_id": CLINIC,
            "destination": {"country": "CA", "city": "Winnipeg", "receiving_organisation": RECEPTION},
            "people": people, "priority": 3, "approved_on": (today - timedelta(days=30)).isoformat()}


def refused(call: str, response: httpx.Response) -> BenchFailed:
    """The status and the problem's own detail, which the API keeps free of personal data."""
    try:
        detail = response.json().get("detail", "")
    except ValueError:
        detail = ""
    return BenchFailed(f"{call} answered {response.status_code} {detail}".rstrip())


async def token(http: httpx.AsyncClient, username: str, password: str) -> str:
    response = await http.post("/auth/token", data={"grant_type": "password", "username": username,
                                                   "password": password})
    if response.status_code != 200:
        raise refused(f"POST /auth/token for the demo login {username}", response)
    return str(response.json()["access_token"])


async def open_departures(coordinator: httpx.AsyncClient, count: int, first_number: int) -> list[Family]:
    """Cases created and their departures started through the API, as a coordinator would."""
    today = datetime.now(UTC).date()
    gate = asyncio.Semaphore(SETUP_CALLERS)

    async def one(number: int) -> Family:
        async with gate:
            created = await coordinator.post("/cases", json=family_body(number, today))
            if created.status_code != 201:
                raise refused("POST /cases", created)
            case = created.json()
            started = await coordinator.post(f"/cases/{case['case_id']}/departure")
            if started.status_code != 201:
                raise refused(f"POST /cases/{case['case_id']}/departure", started)
            return Family(case["case_id"], [person["person_id"] for person in case["people"]])

    return list(await asyncio.gather(*(one(first_number + n) for n in range(count))))


async def until_assessments_scheduled(store: Store, families: list[Family]) -> None:
    """Every traveller's health assessment scheduled with the clinic: from then on, the departures wait."""
    deadline = time.monotonic() + SCHEDULED_PATIENCE
    waiting = list(families)
    while waiting:
        still = []
        for family in waiting:
            scheduled = {r.person_id for r in await store.step_records(family.case_id)
                         if r.step is Step.HEALTH_ASSESSMENT and r.state is StepState.SCHEDULED}
            if not scheduled >= set(family.person_ids):
                still.append(family)
        waiting = still
        if waiting:
            if time.monotonic() > deadline:
                raise BenchFailed(f"{len(waiting)} departures had not scheduled their health assessments after "
                                  f"{SCHEDULED_PATIENCE:.0f} s, e.g. {waiting[0].case_id}")
            await asyncio.sleep(0.2)


def submissions(families: list[Family]) -> list[tuple[str, dict[str, str]]]:
    """(path, body) of one cleared assessment per traveller, examined today."""
    today = datetime.now(UTC).date().isoformat()
    return [(f"/medical/cases/{family.case_id}/assessments",
             {"person_id": person_id, "exam_date": today, "tb_class": "none", "findings": "no abnormality"})
            for family in families for person_id in family.person_ids]


# -- the section -----------------------------------------------------------------------------------------------------


def client(base_url: str, bearer: str | None = None, connections: int = 1) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT,
                             limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections))


async def callers(stack: AsyncExitStack, base_url: str, clients: int, bearer: str) -> list[httpx.AsyncClient]:
    """A client per caller, one connection each, kept alive: the callers measure the server, not connection set-up
    nor a pool's bookkeeping."""
    return [await stack.enter_async_context(client(base_url, bearer)) for _ in range(clients)]


@dataclass(frozen=True)
class Rig:
    api: Server
    bare: Server
    store: Store
    coordinator_token: str
    clinic_token: str


async def rig_up(context: BenchContext, stack: AsyncExitStack, workdir: Path) -> Rig:
    """The store (migrated, with the demo logins), a worker on the bench's Temporal, both servers, and tokens."""
    database_url = os.environ.get("PREDEPARTURE_BENCH_API_DATABASE_URL") or f"sqlite+aiosqlite:///{workdir}/api.db"
    store = Store.from_url(database_url)
    stack.push_async_callback(store.close)
    await store.migrate()
    logins = {login.role: login for login in await seed_demo_identities(
        store, office_id=OFFICE, reception_org_id=RECEPTION, clinic_id=CLINIC) if not login.is_client}

    # The API and the worker share a key of their own: the bench's client encrypts with a throwaway key it keeps.
    key, queue = os.urandom(32), f"bench-api-{uuid.uuid4().hex[:8]}"
    temporal = await context.client()
    worker_client = await Client.connect(temporal.service_client.config.target_host, namespace=temporal.namespace,
                                         data_converter=data_converter(KEY_ID, key))
    partners = build_partners(PartnerAdapters(), bench_simulator(lead=timedelta(hours=1)))
    await stack.enter_async_context(build_worker(worker_client, queue, store, partners,
                                                 activity_executor=worker_executor()))

    environment = api_environment(database_url, temporal, queue, key, workdir / "data")
    api = await serve(stack, "api", "api.server:app_from_environment", environment, workdir, factory=True)
    bare = await serve(stack, "bare", "predeparture.bench_bare_api:app", environment, workdir)
    async with client(api.url) as anonymous:
        coordinator = await token(anonymous, logins[Role.COORDINATOR].username, logins[Role.COORDINATOR].password)
        clinic = await token(anonymous, logins[Role.MEDICAL_PARTNER].username, logins[Role.MEDICAL_PARTNER].password)
    return Rig(api, bare, store, coordinator, clinic)


def submitting(batch: list[tuple[str, dict[str, str]]], clinicians: list[httpx.AsyncClient], pid: int) -> Load:
    async def one(http: httpx.AsyncClient, index: int) -> httpx.Response:
        path, body = batch[index]
        return await http.post(path, json=body)

    return Load(one, clinicians, pid)


@bench_section("api", "API latency against a bare FastAPI route",
               targets={"timeline_p99_vs_bare_route": Target(at_most=TIMELINE_TARGET)}, rate_unit="requests/s")
async def api_section(context: BenchContext) -> SectionResult:
    size = ApiBenchSize.from_environment()
    workdir = context.workdir / "api"
    workdir.mkdir()
    async with AsyncExitStack() as stack:  # servers, worker and store stop when the section ends, however it ends
        context.progress.print(f"[dim]api: starting the API and the bare route ({size.clients} callers, "
                               f"{size.requests} requests each, {size.families} families)[/]")
        rig = await rig_up(context, stack, workdir)

        context.progress.print(f"[dim]api: opening {WARM_UP_FAMILIES + size.families} departures[/]")
        async with client(rig.api.url, rig.coordinator_token, connections=SETUP_CALLERS) as coordinator:
            families = await open_departures(coordinator, WARM_UP_FAMILIES + size.families, first_number=1)
        await until_assessments_scheduled(rig.store, families)
        warm_families, families = families[:WARM_UP_FAMILIES], families[WARM_UP_FAMILIES:]

        timelines = [f"/cases/{family.case_id}/timeline" for family in families]

        async def read_timeline(http: httpx.AsyncClient, index: int) -> httpx.Response:
            return await http.get(timelines[index % len(timelines)])

        async def read_bare(http: httpx.AsyncClient, index: int) -> httpx.Response:
            return await http.get(BARE_PATH)

        # The same bearer header on both, so the two requests are alike on the wire.
        reads = Load(read_timeline, await callers(stack, rig.api.url, size.clients, rig.coordinator_token),
                     rig.api.pid)
        bares = Load(read_bare, await callers(stack, rig.bare.url, size.clients, rig.coordinator_token), rig.bare.pid)
        context.progress.print("[dim]api: timeline reads and the bare route, in alternating rounds[/]")
        warm_up = ApiBenchSize(size.clients, size.clients * WARM_UP_PER_CALLER, size.families)
        for label, warmed in zip(("timeline", "bare route"), await alternating(reads, bares, warm_up), strict=True):
            refuse_failures(f"warming up, {label}", warmed)
        timeline, bare_route = await alternating(reads, bares, size)
        load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        refuse_failures("timeline reads", timeline)
        refuse_failures("bare route", bare_route)

        context.progress.print(f"[dim]api: {len(families) * len(FAMILY)} result submissions[/]")
        clinicians = await callers(stack, rig.api.url, size.clients, rig.clinic_token)
        warm_sends, sends = submissions(warm_families), submissions(families)
        warmed = await measure(submitting(warm_sends, clinicians, rig.api.pid), range(len(warm_sends)))
        refuse_failures("warming up, submissions", warmed)
        submitted = await measure(submitting(sends, clinicians, rig.api.pid), range(len(sends)))
        refuse_failures("result submissions", submitted)

    return figures(size, timeline, bare_route, submitted, load_average)


def figures(size: ApiBenchSize, timeline: Measurement, bare_route: Measurement, submitted: Measurement,
            load_average: float | None) -> SectionResult:
    bare_p50, bare_p99 = bare_route.ms(50), bare_route.ms(99)
    return {
        "cases": size.families,
        "clients": size.clients,
        "requests_per_measurement": size.requests,
        "rounds_per_measurement": size.rounds,
        "rates": {"timeline_reads": timeline.rate, "bare_route": bare_route.rate, "submissions": submitted.rate},
        "timeline_p50_ms": timeline.ms(50),
        "timeline_p99_ms": timeline.ms(99),
        "bare_route_p50_ms": bare_p50,
        "bare_route_p99_ms": bare_p99,
        "submission_p50_ms": submitted.ms(50),
        "submission_p99_ms": submitted.ms(99),
        "timeline_p50_vs_bare_route": timeline.ms(50) / bare_p50,
        "submission_p99_vs_bare_route": submitted.ms(99) / bare_p99,
        "timeline_server_cpu_ms": timeline.server_cpu_ms,
        "bare_route_server_cpu_ms": bare_route.server_cpu_ms,
        "submission_server_cpu_ms": submitted.server_cpu_ms,
        "load_average_1m": load_average,  # just after the timeline and bare rounds
        "submissions": len(submitted.seconds),
        "answers": {"timeline": _by_status(timeline), "bare_route": _by_status(bare_route),
                    "submissions": _by_status(submitted)},
        "ratios": {"timeline_p99_vs_bare_route": timeline.ms(99) / bare_p99},
    }


def _by_status(measured: Measurement) -> dict[str, int]:
    return {str(status): count for status, count in sorted(measured.answers.items())}
