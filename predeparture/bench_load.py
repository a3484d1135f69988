"""Section `load` of `predeparture bench`: one worker holding 10,000 open departures, and the API under 200 clients.

- Memory. `predeparture worker` runs as a process of its own (predeparture/bench_load_worker.py) against the bench's
  Temporal and store. Departures are started, at most `starting` at a time, until each has asked for its permit and
  travel documents and booked its health assessments; then, with partners taking months, every one of them waits.
  Once all are open and the worker is idle, its memory is read from /proc: `open_departures_10k_rss_mib` is its
  resident memory then (its PDF renderers included, if any ran), `open_departures_10k_peak_rss_mib` the highest it
  reached. The target is at most 1536 MiB for the peak; the registry's targets are for ratios, so the verdict is a
  figure of its own (`rss_target_met`). The key keeps its name at any size; `open_departures` says how many.
  Memory is also read once the worker holds as many departures as its cache, which splits what it holds into what
  a cached departure costs (`worker_kib_per_cached_departure`) and what one beyond the cache still does
  (`worker_kib_per_departure_beyond_cache`).
- An Update under that load: a clinic's cleared health assessment (`submit_assessment`, accepted while the
  appointment is booked; it records the result and saves it, nothing more), sent straight to Temporal by
  `update_callers` concurrent callers, each to a different traveller. First on an idle worker holding only the
  baseline departures, then to travellers drawn at random among all the others once every departure is open.
  `ratios.update_p99_loaded_vs_idle` is the ratio of their p99; no target.
- The API under `clients` concurrent clients (predeparture/bench_load_api.py), while every departure is open.

The worker keeps production's settings: `max_cached_workflows` is `PREDEPARTURE_WORKER__MAX_CACHED_WORKFLOWS`'s
default (1000), which bounds its memory: about 0.4 MiB per cached departure. Most departures wake once a day (a
partner asked for news) or when a partner or a clinic answers, so the cache holds the ones at work; a departure
not cached is rebuilt from its history when it is next woken, which costs CPU, not memory.

The size comes from `--cases` (the departures held; 10,000 when not given) and from the environment:
  PREDEPARTURE_BENCH_LOAD_UPDATES         Updates in each of the two measurements  (300)
  PREDEPARTURE_BENCH_LOAD_UPDATE_CALLERS  concurrent callers sending them          (10)
  PREDEPARTURE_BENCH_LOAD_CLIENTS         concurrent API clients                   (200)
  PREDEPARTURE_BENCH_LOAD_REQUESTS        API requests in all                      (4000)
  PREDEPARTURE_BENCH_LOAD_STARTING        departures starting at once              (100)
  PREDEPARTURE_BENCH_LOAD_MAX_CACHED_WORKFLOWS  the worker's cache, to see what it costs  (production's default)
  PREDEPARTURE_BENCH_LOAD_DATABASE_URL    an SQLAlchemy async URL of a database of the bench's alone; unset: SQLite
"""

from __future__ import annotations

import math
import os
import random
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from api.auth.seed import DemoLogin, seed_demo_identities
from api.principal import Role
from domain.case import Case

# Modules, not names: each of these imports predeparture.bench, which imports this module, so whichever is imported
# first is still incomplete while this one runs; their names are read when the section runs.
from predeparture import bench_api
from predeparture import bench_load_api as api_side
from predeparture import bench_load_updates as updates
from predeparture import bench_load_worker as worker_side
from predeparture.bench import BenchContext, BenchFailed, SectionResult, bench_section
from predeparture.settings import WorkerSettings
from predeparture.temporal import data_converter
from store.repository import Store

DEFAULT_DEPARTURES = 10_000
RSS_TARGET_MIB = 1536.0
WARM_UP_FAMILIES = 2  # whose Updates go first, unmeasured: the first Updates pay for cold paths
SAMPLE_SEED = 2026


@dataclass(frozen=True)
class LoadBenchSize:
    departures: int = DEFAULT_DEPARTURES
    updates: int = 300
    update_callers: int = 10
    clients: int = 200
    requests: int = 4000
    starting: int = 100
    max_cached_workflows: int = field(default_factory=lambda: WorkerSettings().max_cached_workflows)

    @classmethod
    def from_environment(cls, context: BenchContext) -> LoadBenchSize:
        defaults = cls()
        values = {name: bench_api._positive(f"PREDEPARTURE_BENCH_LOAD_{name.upper()}", getattr(defaults, name))
                  for name in ("updates", "update_callers", "clients", "requests", "starting", "max_cached_workflows")}
        size = cls(departures=context.cases if context.cases_given else DEFAULT_DEPARTURES, **values)
        if size.departures < 2 * size.baseline_families:
            raise BenchFailed(f"{size.updates} Updates each on an idle and a loaded worker need at least "
                              f"{2 * size.baseline_families} departures, not {size.departures}")
        return size

    @property
    def baseline_families(self) -> int:
        """The families open on the idle worker: enough travellers for one measurement, and the warm-up's."""
        return math.ceil(self.updates / len(worker_side.FAMILY)) + WARM_UP_FAMILIES


@dataclass(frozen=True)
class Rig:
    store: Store
    temporal: Client  # the bench's own client, with the worker's key
    server: Client  # the dev server's
    worker: worker_side.WorkerProcess
    queue: str
    key: bytes
    database_url: str
    coordinator: DemoLogin


async def rig_up(context: BenchContext, stack: AsyncExitStack, workdir: Path, size: LoadBenchSize) -> Rig:
    """The store (migrated, with the demo logins), and `predeparture worker` on the bench's Temporal."""
    database_url = os.environ.get("PREDEPARTURE_BENCH_LOAD_DATABASE_URL") or f"sqlite+aiosqlite:///{workdir}/load.db"
    store = Store.from_url(database_url)
    stack.push_async_callback(store.close)
    await store.migrate()
    logins = await seed_demo_identities(store, office_id=worker_side.OFFICE, reception_org_id=worker_side.RECEPTION,
                                        clinic_id=worker_side.CLINIC)
    coordinator = next(login for login in logins if login.role is Role.COORDINATOR and not login.is_client)
    key, queue = os.urandom(32), f"bench-load-{uuid.uuid4().hex[:8]}"
    server = await context.client()
    temporal = await Client.connect(server.service_client.config.target_host, namespace=server.namespace,
                                    data_converter=data_converter(bench_api.KEY_ID, key))
    environment = worker_side.worker_environment(database_url, server, queue, key, workdir / "data",
                                                 size.max_cached_workflows)
    worker = await worker_side.start_worker(stack, environment, workdir)
    return Rig(store, temporal, server, worker, queue, key, database_url, coordinator)


async def opened(context: BenchContext, rig: Rig, label: str, cases: list[Case], size: LoadBenchSize) -> float:
    """Seconds to open `cases`, the worker idle again after."""
    seconds = await worker_side.open_with_progress(context.progress, f"load: {label}", rig.temporal, rig.store,
                                                   rig.queue, cases, size.starting, rig.worker)
    await rig.worker.until_quiet()
    return seconds


@dataclass
class Held:
    """The worker's memory as departures opened, and how long opening them took."""

    idle: worker_side.Memory  # the baseline families open
    at_cache_size: worker_side.Memory | None  # as many open as the cache holds; None if the run has fewer
    cached: int  # departures the cache held at that reading
    all_open: worker_side.Memory
    opening_seconds: float


async def open_the_rest(context: BenchContext, rig: Rig, loaded: list[Case], size: LoadBenchSize,
                        idle: worker_side.Memory) -> Held:
    """Up to the cache's size first, a reading, then the others."""
    first = max(0, min(len(loaded), size.max_cached_workflows - size.baseline_families))
    seconds = await opened(context, rig, "opening departures", loaded[:first], size) if first else 0.0
    at_cache_size = None
    if first < len(loaded):
        at_cache_size = worker_side.memory(rig.worker.pid) if first else None
        seconds += await opened(context, rig, "opening departures beyond the cache", loaded[first:], size)
    return Held(idle, at_cache_size, size.baseline_families + first, worker_side.memory(rig.worker.pid), seconds)


@bench_section("load", "One worker holding every open departure, and the API under load", targets={},
               rate_unit="per second")
async def load_section(context: BenchContext) -> SectionResult:
    size = LoadBenchSize.from_environment(context)
    workdir = context.workdir / "load"
    workdir.mkdir()
    began = time.perf_counter()
    async with AsyncExitStack() as stack:  # worker, API, store and clients stop when the section ends, however
        rig = await rig_up(context, stack, workdir, size)
        everyone = worker_side.families(size.departures, first_number=1)
        baseline, loaded = everyone[:size.baseline_families], everyone[size.baseline_families:]
        context.progress.print(f"[dim]load: {size.departures} departures on one worker (pid {rig.worker.pid}, "
                               f"{size.max_cached_workflows} cached), {size.starting} starting at once; "
                               f"{size.updates} Updates idle and loaded; {size.requests} API requests by "
                               f"{size.clients} clients[/]")

        await opened(context, rig, "idle baseline", baseline, size)
        idle_memory = worker_side.memory(rig.worker.pid)
        rng = random.Random(SAMPLE_SEED)

        async def assess(targets: list[tuple[str, str]]) -> updates.UpdateRun:
            return await updates.send_assessments(rig.temporal, targets, size.update_callers)

        await assess(updates.travellers(baseline[:WARM_UP_FAMILIES]))
        idle = await assess(rng.sample(updates.travellers(baseline[WARM_UP_FAMILIES:]), size.updates))

        held = await open_the_rest(context, rig, loaded, size, idle_memory)
        context.progress.print(f"[dim]load: {size.departures} open; the worker holds {held.all_open.total:.0f} MiB "
                               f"(peak {held.all_open.peak:.0f} MiB); Updates to travellers drawn at random[/]")
        busy = await assess(rng.sample(updates.travellers(loaded), size.updates))

        context.progress.print(f"[dim]load: the API, {size.clients} clients[/]")
        environment = api_side.load_api_environment(rig.database_url, rig.server, rig.queue, rig.key,
                                                    workdir / "data")
        api = await api_side.measure_api(stack, environment, workdir, rig.coordinator, everyone, size.clients,
                                         size.requests)
        rig.worker.check_alive()
        after = worker_side.memory(rig.worker.pid)
        phases = await rig.store.phase_counts()
    result = figures(size, held, after, idle, busy, time.perf_counter() - began)
    result.update(api_side.api_figures(api, size.clients))
    result["rates"]["api_requests"] = api.requests / api.wall
    result["departures_by_phase"] = phases  # from the store at the end: every one still open, none failed
    return result


def mib(value: float) -> float:
    return round(value, 1)


def kib_each(grown_mib: float, count: int) -> float | None:
    return round(grown_mib * 1024 / count, 1) if count > 0 else None


def figures(size: LoadBenchSize, held: Held, after: worker_side.Memory, idle: updates.UpdateRun,
            busy: updates.UpdateRun, wall: float) -> SectionResult:
    peak = max(held.all_open.peak, held.all_open.total)
    met = peak <= RSS_TARGET_MIB
    cache = held.at_cache_size
    loaded_p99, idle_p99 = busy.measured.ms(99), idle.measured.ms(99)
    result: SectionResult = {
        "cases": size.departures,
        "open_departures": size.departures,
        "open_departures_10k_rss_mib": mib(held.all_open.total),
        "open_departures_10k_peak_rss_mib": mib(peak),
        "rss_target_mib": RSS_TARGET_MIB,
        "rss_target_met": met,
        "rss_target": f"peak at most {RSS_TARGET_MIB:.0f} MiB: {'met' if met else 'missed'}",
        "max_cached_workflows": size.max_cached_workflows,
        "worker_anonymous_rss_mib": mib(held.all_open.anonymous),
        "worker_children_rss_mib": mib(held.all_open.children),
        "worker_rss_idle_baseline_mib": mib(held.idle.total),
        "worker_rss_at_cache_size_mib": mib(cache.total) if cache else None,
        "worker_kib_per_cached_departure": kib_each(cache.total - held.idle.total, held.cached - size.baseline_families)
        if cache else None,
        "worker_kib_per_departure_beyond_cache": kib_each(held.all_open.total - cache.total,
                                                          size.departures - held.cached) if cache else None,
        "worker_peak_rss_at_end_mib": mib(max(after.peak, after.total)),
        "departures_starting_at_once": size.starting,
        "opening_seconds": round(held.opening_seconds, 1),
        "wall_seconds": round(wall, 1),
        "updates_per_measurement": size.updates,
        "update_callers": size.update_callers,
        "update_errors": sum(idle.errors.values()) + sum(busy.errors.values()),
        "update_error_kinds": dict(idle.errors + busy.errors),
    }
    for label, run in (("idle", idle), ("loaded", busy)):
        for percent in (50, 95, 99):
            result[f"update_{label}_p{percent}_ms"] = run.measured.ms(percent)
    result["update_p99_loaded_vs_idle"] = loaded_p99 / idle_p99
    result["rates"] = {"departures_opened": (size.departures - size.baseline_families) / held.opening_seconds,
                       "updates_idle": size.updates / idle.measured.wall,
                       "updates_loaded": size.updates / busy.measured.wall}
    result["ratios"] = {"update_p99_loaded_vs_idle": loaded_p99 / idle_p99}
    return result
