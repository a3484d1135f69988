"""The worker the `load` section measures, in a process of its own, and the departures it holds.

The worker is `predeparture worker` itself, configured through PREDEPARTURE_* variables (nothing inherited from the
caller's shell) against the bench's Temporal and store, so its memory is the production worker's and nobody else's.
Its partners are the simulators with their real timings: a permit takes 20 to 150 days and a travel document 5 to
45, so a started departure asks for all of them, books its clinic appointments, and then waits, for months. The
simulators answer at once and never fail, so what the worker does is the departures' own work, no retries.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import and_, func, or_, select
from temporalio.client import Client

from domain.case import Case, Destination, Person, Relationship, Sex
from domain.departure import DepartureInput, departure_workflow_id
from domain.policy import PolicyBook
from domain.steps import Step, StepState
from predeparture import bench_api  # a module, its names read at run time: it imports predeparture.bench
from predeparture.bench import BenchFailed
from store.models import StepResultRow
from store.repository import Store
from workflows.departure import DepartureWorkflow

OFFICE, CLINIC, RECEPTION = "office_bench_load", "clinic_bench_load", "org_reception_bench_load"
FAMILY = ((Relationship.PRINCIPAL, date(1986, 3, 14), Sex.FEMALE), (Relationship.SPOUSE, date(1983, 11, 2), Sex.MALE),
          (Relationship.CHILD, date(2016, 6, 1), Sex.FEMALE))
SETTLE_POLL = 0.25  # seconds between two looks at which starting departures have settled
STALL_PATIENCE = 180.0  # seconds without one departure settling before the run is taken as stuck
QUIET_WINDOW = 2.0  # seconds over which the worker's CPU is measured to call it idle
QUIET_SHARE = 0.05  # of one core: below it, the worker is idle
QUIET_PATIENCE = 120.0  # seconds to wait for the worker to go idle before reading its memory anyway
STOP_PATIENCE = 60.0  # seconds for the worker to stop after SIGTERM before it is killed
MIB = 1024 * 1024


def family(number: int, today: date) -> Case:
    """A family of three without passports, so each traveller needs a travel document and a health assessment."""
    people = [Person(given_name="Bench", family_name="Family", date_of_birth=born, sex=sex, nationality="AFG",
                     languages=["fa"], relationship=relationship) for relationship, born, sex in FAMILY]
    return Case(reference=f"BENCH-LOAD-{number:05d}", office_id=OFFICE, medical_partner_id=CLINIC,
                destination=Destination(country="CA", city="Winnipeg", receiving_organisation=RECEPTION),
                people=people, approved_on=today - timedelta(days=30))


def families(count: int, first_number: int) -> list[Case]:
    today = datetime.now(UTC).date()
    return [family(first_number + n, today) for n in range(count)]


def worker_environment(database_url: str, temporal: Client, task_queue: str, key: bytes, data_dir: Path,
                       max_cached_workflows: int) -> dict[str, str]:
    """Production's defaults but for the partners: simulators answering at once, never failing, never refusing,
    with their real delays (months)."""
    return {
        **bench_api.process_environment(database_url, temporal, task_queue, key, data_dir),
        "PREDEPARTURE_WORKER__MAX_CACHED_WORKFLOWS": str(max_cached_workflows),
        "PREDEPARTURE_SIMULATOR__LATENCY_MS": "0",
        "PREDEPARTURE_SIMULATOR__TRANSIENT_FAILURE_RATE": "0",
        "PREDEPARTURE_SIMULATOR__PERMIT_REFUSAL_RATE": "0",
        "PREDEPARTURE_SIMULATOR__DOCUMENT_REFUSAL_RATE": "0",
    }


# -- memory ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """One reading of a process's memory from Linux's /proc, in MiB: resident now, its peak so far, and how much of
    what is resident is anonymous (the heap: objects), the rest being mapped files (code, libraries)."""

    rss: float
    peak: float
    anonymous: float
    children: float  # resident memory of its child processes (PDF renderers), counted apart

    @property
    def total(self) -> float:
        return self.rss + self.children


def _status(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found + [grandchild for child in found for grandchild in _children(child)]


def memory(pid: int) -> Memory:
    if not Path("/proc/self/status").exists():
        raise BenchFailed("the load section reads memory from /proc: it runs on Linux only")
    status = _status(pid)
    children = 0.0
    for child in _children(pid):
        try:
            children += _status(child).get("VmRSS", 0.0)
        except OSError:  # it exited between the listing and the reading
            pass
    return Memory(status["VmRSS"], status["VmHWM"], status.get("RssAnon", 0.0), children)


# -- the worker process ----------------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def check_alive(self) -> None:
        if self.process.returncode is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise BenchFailed(f"the worker stopped (exit {self.process.returncode}): {tail}")

    async def until_quiet(self) -> float:
        """Seconds waited until the worker's CPU over QUIET_WINDOW falls below QUIET_SHARE of a core: it has
        finished what the departures gave it, so its memory is what holding them costs."""
        began = time.monotonic()
        while time.monotonic() - began < QUIET_PATIENCE:
            self.check_alive()
            before = bench_api.cpu_seconds(self.pid)
            await asyncio.sleep(QUIET_WINDOW)
            after = bench_api.cpu_seconds(self.pid)
            if before is None or after is None or (after - before) / QUIET_WINDOW < QUIET_SHARE:
                break
        return time.monotonic() - began


async def start_worker(stack: AsyncExitStack, environment: dict[str, str], workdir: Path) -> WorkerProcess:
    """`predeparture worker`, stopped with the stack however the section ends; its log goes to a file."""
    log_path = workdir / "worker.log"
    log = stack.enter_context(log_path.open("wb"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "predeparture.cli", "worker", env=environment, cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT)

    bench_api.stop_with(stack, process, STOP_PATIENCE)
    return WorkerProcess(process, log_path)


# -- opening departures ----------------------------------------------------------------------------------------

WAITING = or_(
    and_(StepResultRow.step == Step.HEALTH_ASSESSMENT.value, StepResultRow.state == StepState.SCHEDULED.value),
    and_(StepResultRow.step.in_([Step.EXIT_PERMIT.value, Step.TRAVEL_DOCUMENT.value]),
         StepResultRow.state == StepState.REQUESTED.value),
)


async def settled_among(store: Store, case_ids: Sequence[str]) -> list[str]:
    """The departures that have asked for their permit and every travel document and booked every health
    assessment: from then on they wait on partners for months."""
    waiting_steps = 1 + 2 * len(FAMILY)
    query = (select(StepResultRow.case_id).where(StepResultRow.case_id.in_(case_ids), WAITING)
             .group_by(StepResultRow.case_id).having(func.count() == waiting_steps))
    async with store.session() as session:
        return list(await session.scalars(query))


async def open_departures(temporal: Client, store: Store, task_queue: str, cases: list[Case], starting: int,
                          worker: WorkerProcess, settled: Callable[[int], None]) -> None:
    """Save each case and start its departure, keeping at most `starting` departures between their start and
    their wait: as coordinators start them, a few at a time, rather than as one burst whose thousands of
    half-started departures would outgrow the worker's workflow cache and be replayed over and over."""
    pending = list(reversed(cases))
    starting_now: list[str] = []
    last_progress = time.monotonic()
    policy = PolicyBook().for_country("CA")
    while pending or starting_now:
        while pending and len(starting_now) < starting:
            case = pending.pop()
            await store.save_case(case)
            await temporal.start_workflow(
                DepartureWorkflow.run, DepartureInput(case_id=case.case_id, clinic_id=CLINIC, policy=policy),
                id=departure_workflow_id(case.case_id), task_queue=task_queue)
            starting_now.append(case.case_id)
        await asyncio.sleep(SETTLE_POLL)
        worker.check_alive()
        done = set(await settled_among(store, starting_now))
        if done:
            starting_now = [case_id for case_id in starting_now if case_id not in done]
            settled(len(done))
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > STALL_PATIENCE:
            raise BenchFailed(f"no departure settled in {STALL_PATIENCE:.0f} s; {len(starting_now)} starting, "
                              f"e.g. {departure_workflow_id(starting_now[0])}")


async def open_with_progress(console: Console, label: str, temporal: Client, store: Store, task_queue: str,
                             cases: list[Case], starting: int, worker: WorkerProcess) -> float:
    """`open_departures` with a progress bar; returns the seconds it took. Where stderr is not a terminal (a CI
    log, a file) a bar is drawn only once done, so a line is printed at every tenth instead."""
    began = time.perf_counter()
    opened, next_line = 0, 0.1
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=len(cases))

        def settled(count: int) -> None:
            nonlocal opened, next_line
            progress.advance(task, count)
            opened += count
            if not console.is_terminal and opened >= next_line * len(cases):
                console.print(f"[dim]{label}: {opened}/{len(cases)} open after {time.perf_counter() - began:.0f} s[/]")
                next_line = (opened * 10 // len(cases) + 1) / 10

        await open_departures(temporal, store, task_queue, cases, starting, worker, settled)
    return time.perf_counter() - began
