"""`predeparture chaos`: many departures at once against partners that fail and stall, while the worker is killed
with SIGKILL and started again, and the Temporal server is restarted on its own database file. At the end, every
departure must have ended as the partners' answers and the coordinator's cancellations say, with exactly one booking
per traveller, every medical result the departures accepted in the store, manifest versions without repeats, and a
complete audit trail.

Everything runs on this machine, in a data directory of the run's own (kept when a check fails): a Temporal dev
server, the store (SQLite there, or `database_url`), and `predeparture worker` as a process of its own, set up by
PREDEPARTURE_* variables to reach every partner over HTTP. This process plays everyone else, so nothing it counts
dies with the worker: the partner organisations (the partner simulator service, with network faults), their
callbacks, the clinic, the coordinator, the reception teams and their webhook receiver, and the operator who kills
things. Partners answer in seconds (the demo profile), so a few hundred departures take minutes."""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretBytes
from temporalio.client import Client, WorkflowHistory

from domain.case import Case, new_opaque_id
from domain.departure import DepartureInput, DepartureState, departure_workflow_id
from domain.movement import movement_workflow_id
from domain.policy import PolicyBook
from domain.webhooks import ReceptionEndpoint
from partners.simulators import SimulatedClinician
from predeparture.callbacks import CallbackPump
from predeparture.chaos_actors import Watch
from predeparture.chaos_coordinator import Coordinator, plan_cancellations
from predeparture.chaos_monkey import Monkey, plan_disruptions
from predeparture.chaos_outcome import Played, build_report
from predeparture.chaos_processes import RestartableServer, WorkerProcess, worker_environment
from predeparture.chaos_report import ChaosReport
from predeparture.chaos_services import (
    PartnerService,
    Receiver,
    network_faults,
    partner_service,
    reception_receiver,
)
from predeparture.clinic import ClinicPlayer
from predeparture.families import demo_families
from predeparture.keys import load_or_create_key
from predeparture.loopback import free_port
from predeparture.profiles import demo_policy_book, demo_simulator
from predeparture.settings import Settings, SimulatorSettings, TemporalSettings
from predeparture.temporal import connect
from store.repository import Store
from store.webhooks import SecretSealer, WebhookStore
from workflows.departure import DepartureWorkflow

log = logging.getLogger(__name__)

ROUND_SECONDS = 1.0
CHAOS_FLIGHT_LEAD = timedelta(minutes=10)
MIN_DISRUPTION_GAP_SECONDS = 10.0
DISRUPTION_GAP_PER_DEPARTURE = 0.3  # 200 departures: a minute between kills, for the new worker to catch up
STUCK_LOOK_SECONDS = 30.0
RESULT_TIMEOUT_SECONDS = 30.0
Progress = Callable[[int, int, int, int], None]  # (departures settled, departures, disruptions done, planned)


@dataclass(frozen=True)
class ChaosOptions:
    departures: int = 200
    worker_kills: int = 10
    server_restarts: int = 1
    failure_rate: float = 0.3  # share of partner calls that fail (503 before acting, or the answer lost after)
    seed: int = 2026
    cancellations: int | None = None  # departures a coordinator cancels along the way; default one in twenty
    timeout: float = 3600.0
    database_url: str | None = None  # default: SQLite in the run's data directory
    data_dir: Path | None = None  # default: a new temporary directory
    keep: bool = False  # keep the data directory even when every check passed
    simulator: SimulatorSettings | None = None  # the partners' timing; default: the demo profile
    policy: PolicyBook | None = None  # default: the demo profile's

    @property
    def cancel_count(self) -> int:
        return self.departures // 20 if self.cancellations is None else self.cancellations


def fit_families(count: int, seed: int, today: date) -> list[Case]:
    """Demo families whose travellers pass their first fitness check: an unfit traveller is replanned a day later,
    which a run of minutes cannot wait for (the workflow tests cover that path)."""
    clinician = SimulatedClinician(seed)
    now = datetime.now(UTC)
    families = demo_families(count, seed, today)
    for family in families:
        for person in family.people:
            while not clinician.fitness(person.person_id, now).fit:
                person.person_id = new_opaque_id("per")
    return families


def chaos_simulator(configured: SimulatorSettings) -> SimulatorSettings:
    """The demo profile, with flights a few minutes after booking instead of one: every traveller's fitness check
    (and B1 screening) must come in before the flight, from a clinic busy with hundreds of families while partner
    calls fail and the worker dies; a result that comes too late defers the family by a day, past the run's end."""
    return demo_simulator(configured).model_copy(update={"flight_min_lead": CHAOS_FLIGHT_LEAD,
                                                         "flight_exact_lead": True})


def chaos_settings(base: Settings, options: ChaosOptions, data_dir: Path) -> Settings:
    """The run's own server address, task queue, store and key, whatever the environment says."""
    return base.model_copy(update={
        "data_dir": data_dir,
        "database_url": options.database_url,
        "encryption_key": None,  # the run makes its own, in its data directory, for the worker to read
        "temporal": TemporalSettings(address=f"127.0.0.1:{free_port()}", namespace="default",
                                     task_queue=f"chaos-{uuid.uuid4().hex[:8]}"),
    })

# What the worker logs, and the final replay reports, when they meet the SDK's Update ordering problem.
UPDATE_REORDERED = "Nondeterminism error: Update machine does not handle this event"


def worker_met_update_reordering(worker_log: Path) -> bool:
    """The worker met it: that departure stalled once it left the cache, and other checks fail with it."""
    return worker_log.exists() and UPDATE_REORDERED in worker_log.read_text(errors="replace")


def replay_met_update_reordering(report: ChaosReport) -> bool:
    """Only the final replay met it: the departure had finished in the worker's cache, so nothing stalled."""
    return any(UPDATE_REORDERED in problem for check in report.checks if check.name == "histories replay"
               for problem in check.problems)


async def run_chaos(options: ChaosOptions, base: Settings | None = None, on_progress: Progress | None = None
                    ) -> ChaosReport:
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="predeparture-chaos-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = chaos_settings(base or Settings(), options, data_dir)
    key = load_or_create_key(settings)
    store = Store.from_url(settings.resolved_database_url())
    try:
        await store.migrate()
        report = await _run(options, settings, store, SecretSealer(*key), on_progress)
    finally:
        await store.close()
    if worker_met_update_reordering(data_dir / "worker.log") or replay_met_update_reordering(report):
        report.notes.append(
            "a history does not replay: an Update accepted after an activity's result in the same task (the SDK "
            "replays Updates first; see temporalio/sdk-python#673, temporalio/sdk-rust#943)")
    if report.passed and not options.keep and options.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        report.data_dir = str(data_dir)
    return report


async def _run(options: ChaosOptions, settings: Settings, store: Store, sealer: SecretSealer,
               on_progress: Progress | None) -> ChaosReport:
    started = time.monotonic()
    rng = random.Random(options.seed)
    simulator = (options.simulator or chaos_simulator(settings.simulator)).model_copy(
        update={"seed": options.seed, "transient_failure_rate": 0.0})  # the network layer fails calls instead
    policy = options.policy or demo_policy_book(settings.policy)
    temporal = settings.temporal
    server = RestartableServer(temporal.address, temporal.namespace, settings.data_dir / "temporal.db")
    await server.start()
    try:
        client = await connect(settings)
        async with partner_service(simulator) as partners, reception_receiver() as receiver:
            await partners.set_faults(network_faults(options.failure_rate, options.seed))
            worker = WorkerProcess(client, settings, worker_environment(settings, partners.network()),
                                   settings.data_dir / "worker.log")
            await worker.start()
            try:
                run = await _play(options, settings, client, store, sealer, partners, receiver, worker, server,
                                  policy, rng, on_progress)
                stats = await partners.stats()
            finally:
                await worker.stop()
    finally:
        await server.stop()
    return await build_report(options, store, sealer, partners, receiver, run, stats, simulator, worker,
                         time.monotonic() - started)


async def _play(options: ChaosOptions, settings: Settings, client: Client, store: Store, sealer: SecretSealer,
                partners: PartnerService, receiver: Receiver, worker: WorkerProcess, server: RestartableServer,
                policy: PolicyBook, rng: random.Random, on_progress: Progress | None) -> Played:
    families = fit_families(options.departures, options.seed, datetime.now(UTC).date())
    webhooks = WebhookStore(store, sealer)
    for organisation in sorted({f.destination.receiving_organisation for f in families}):
        await webhooks.set_endpoint(ReceptionEndpoint(organisation_id=organisation, url=receiver.url,
                                                      secret=SecretBytes(receiver.secret)), datetime.now(UTC))
    handles = {}
    for family in families:
        await store.save_case(family)
        handles[family.case_id] = await client.start_workflow(
            DepartureWorkflow.run,
            DepartureInput(case_id=family.case_id, policy=policy.for_country(family.destination.country),
                           clinic_id=family.medical_partner_id),
            id=departure_workflow_id(family.case_id), task_queue=settings.temporal.task_queue)
    clinician = SimulatedClinician(options.seed)
    watch = Watch(handles, lambda accepted: ClinicPlayer(clinician, accepted))
    preparing_within = 30.0
    coordinator = Coordinator(client, watch, plan_cancellations(list(handles), options.cancel_count, rng,
                                                                preparing_within))
    plan = plan_disruptions(options.worker_kills, options.server_restarts, rng)
    monkey = Monkey(plan, worker, server, watch.progress, rng,
                    min_gap_seconds=max(MIN_DISRUPTION_GAP_SECONDS, DISRUPTION_GAP_PER_DEPARTURE * len(handles)))
    planned: Counter[str] = Counter(d.kind for d in plan)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    run_ends = datetime.now(UTC) + timedelta(seconds=options.timeout)
    timed_out = False
    async with CallbackPump(client, partners.callback_sources()).running():
        chaos = asyncio.create_task(monkey.run(), name="chaos-monkey")
        try:
            last_look = begun
            while True:
                await watch.round()
                coordinator.act(loop.time() - begun)
                if loop.time() - last_look > STUCK_LOOK_SECONDS:
                    await watch.find_stuck()
                    last_look = loop.time()
                if on_progress is not None:
                    on_progress(len(watch.settled), len(handles), len(monkey.done), len(plan))
                if chaos.done():
                    chaos.result()  # the monkey only stops by failing: let its failure end the run
                done_with = watch.settled | watch.given_up(run_ends)
                if len(done_with) == len(handles) and coordinator.idle and monkey.finished:
                    break
                if loop.time() - begun > options.timeout:
                    timed_out = True
                    break
                await asyncio.sleep(ROUND_SECONDS)
            results = await _results(handles, watch.settled)
            histories = await _histories(client, list(handles.values()), coordinator)
        finally:
            chaos.cancel()
            await asyncio.gather(chaos, return_exceptions=True)
            await coordinator.stop()
    return Played(families, results, watch, coordinator, monkey, planned, timed_out, histories,
                  client.data_converter)


async def _histories(client: Client, departures: list[Any], coordinator: Coordinator) -> list[WorkflowHistory]:
    """Every departure's history, and every closed movement's, for the replay check."""
    movements = [client.get_workflow_handle(movement_workflow_id(mid))
                 for mid, flight in sorted(coordinator.flights.items()) if flight.closed]
    return [await handle.fetch_history() for handle in [*departures, *movements]]


async def _results(handles: dict[str, Any], settled: set[str]) -> dict[str, DepartureState | None]:
    limit = asyncio.Semaphore(16)

    async def result(case_id: str) -> DepartureState | None:
        if case_id not in settled:
            return None
        async with limit:
            try:
                return await asyncio.wait_for(handles[case_id].result(), RESULT_TIMEOUT_SECONDS)
            except Exception as error:  # a departure that did not end is reported by the checks, not raised
                log.warning("no result for %s: %s", case_id, type(error).__name__)
                return None

    return dict(zip(handles, await asyncio.gather(*(result(c) for c in handles)), strict=True))
