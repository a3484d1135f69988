"""The demo: realistic families approved for resettlement, their departures started, and the medical partner's
clinicians played until every family has flown (or the time is up).

It runs on whatever answers at the configured Temporal address (`predeparture dev`, or the production stack), and
starts an embedded stack for the run when nothing does. Either way it writes to the configured store, the one the
worker reads the cases from.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from domain.case import Case
from domain.departure import DepartureInput, DepartureState, Phase, departure_workflow_id
from partners.simulators import SimulatedClinician
from predeparture.clinic import ClinicPlayer
from predeparture.devstack import embedded_stack, server_answers
from predeparture.families import demo_families
from predeparture.settings import Settings
from predeparture.temporal import connect
from store.repository import Store
from workflows.departure import DepartureWorkflow

log = logging.getLogger(__name__)

DEFAULT_CASES = 12
DEFAULT_TIMEOUT_SECONDS = 600.0
ATTEND_EVERY_SECONDS = 1.0
CALL_TIMEOUT_SECONDS = 10.0
CONCURRENT_CALLS = 32

Departure = WorkflowHandle[DepartureWorkflow, DepartureState]
ProgressCallback = Callable[[int, int], None]  # (departures settled, departures in the demo)
NoticeCallback = Callable[[str], None]


@dataclass
class DemoOutcome:
    case_ids: list[str]
    phases: dict[str, Phase] = field(default_factory=dict)  # case id -> phase at the end

    @property
    def cases(self) -> int:
        return len(self.case_ids)

    @property
    def final_states(self) -> dict[str, int]:
        counts = Counter(phase.value for phase in self.phases.values())
        return {phase.value: counts[phase.value] for phase in Phase if counts[phase.value]}

    def as_json(self) -> dict[str, object]:
        return {"cases": self.cases, "final_states": self.final_states}


async def run_demo(
    settings: Settings,
    cases: int,
    seed: int,
    timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
    on_progress: ProgressCallback | None = None,
    on_notice: NoticeCallback | None = None,
) -> DemoOutcome:
    """On the stack answering at the configured address, else on an embedded one started for this run."""
    notice = on_notice or (lambda message: log.info("%s", message))
    address, namespace = settings.temporal.address, settings.temporal.namespace
    if await server_answers(address, namespace):
        notice(f"using the Temporal server at {address}")
        client = await connect(settings)
        if not await worker_polls(client, settings):
            notice(f"no worker polls the task queue {settings.temporal.task_queue} yet; "
                   "departures wait until one does (start `predeparture worker` or `predeparture dev`)")
        store = Store.from_url(settings.resolved_database_url())
        try:
            await store.migrate()
            return await play_demo(client, store, settings, cases, seed, timeout, on_progress)
        finally:
            await store.close()
    notice(f"nothing answers at {address}: starting an embedded stack in {settings.data_dir}")
    async with embedded_stack(settings) as stack:
        return await play_demo(stack.client, stack.store, settings, cases, seed, timeout, on_progress)


async def play_demo(
    client: Client,
    store: Store,
    settings: Settings,
    cases: int,
    seed: int,
    timeout: float | None,
    on_progress: ProgressCallback | None = None,
) -> DemoOutcome:
    """Create the families, start their departures, and play the clinic until all are settled or `timeout`."""
    families = demo_families(cases, seed, datetime.now(UTC).date())
    handles = [await start_departure(client, store, settings, family) for family in families]
    outcome = DemoOutcome(case_ids=[family.case_id for family in families])
    player = ClinicPlayer(SimulatedClinician(settings.simulator.seed))
    await attend_until_settled(player, handles, timeout, on_progress)
    outcome.phases = {case_id: await current_phase(handle, store, case_id)
                      for case_id, handle in zip(outcome.case_ids, handles, strict=True)}
    return outcome


async def start_departure(client: Client, store: Store, settings: Settings, case: Case) -> Departure:
    """The case goes to the store first: the departure's first act is to load it from there."""
    await store.save_case(case)
    handle = await client.start_workflow(
        DepartureWorkflow.run,
        DepartureInput(
            case_id=case.case_id,
            policy=settings.policy.for_country(case.destination.country),
            clinic_id=case.medical_partner_id,
        ),
        id=departure_workflow_id(case.case_id),
        task_queue=settings.temporal.task_queue,
    )
    log.info("departure started for case %s (%s, %d travellers)", case.case_id, case.reference, len(case.people))
    return handle


async def attend_until_settled(
    player: ClinicPlayer,
    handles: list[Departure],
    timeout: float | None,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Submit due medical results every second until every departure is terminal, or `timeout` seconds have
    passed, or every one still open waits for something after that (a family found unfit flies a day later:
    nobody needs to watch it for a day). Returns how many are terminal."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    by = None if timeout is None else datetime.now(UTC) + timedelta(seconds=timeout)
    limit = asyncio.Semaphore(CONCURRENT_CALLS)
    settled: set[str] = set()
    waiting_longer: set[str] = set()

    async def attend(handle: Departure) -> None:
        async with limit:
            state = await _attend_once(player, handle)
        if state is None:
            return
        if state.is_terminal:
            settled.add(handle.id)
        if by is not None and waits_beyond(state, by):
            waiting_longer.add(handle.id)
        else:
            waiting_longer.discard(handle.id)

    while True:
        if on_progress is not None:
            on_progress(len(settled), len(handles))
        if len(settled | waiting_longer) == len(handles) or (deadline is not None and loop.time() >= deadline):
            return len(settled)
        await asyncio.gather(*(attend(h) for h in handles if h.id not in settled))
        if len(settled) < len(handles):
            await asyncio.sleep(ATTEND_EVERY_SECONDS)


def waits_beyond(state: DepartureState, moment: datetime) -> bool:
    """An open departure whose next move is after `moment`: its flight leaves later, or it is deferred past it."""
    if state.is_terminal:
        return False
    if state.booking is not None and state.booking.departs_at > moment:
        return True
    return state.not_before is not None and datetime.combine(state.not_before, time.min, UTC) > moment


async def _attend_once(player: ClinicPlayer, handle: Departure) -> DepartureState | None:
    try:
        return await asyncio.wait_for(player.attend(handle), CALL_TIMEOUT_SECONDS)
    except WorkflowUpdateFailedError as rejected:
        # The departure moved on between our look and our result (a deadline passed, a flight was replanned):
        # the next look sees what is due now.
        log.debug("result for %s not taken: %s", handle.id, rejected.cause)
    except (RPCError, TimeoutError) as error:
        log.debug("departure %s not reachable this round: %s", handle.id, error)
    return None


async def current_phase(handle: Departure, store: Store, case_id: str) -> Phase:
    """The workflow's own view; the store's if the workflow does not answer; preparing if neither knows yet."""
    try:
        state = await handle.query(DepartureWorkflow.get_state, rpc_timeout=timedelta(seconds=CALL_TIMEOUT_SECONDS))
        return state.phase
    except (RPCError, TimeoutError) as error:
        log.debug("departure %s did not answer: %s", handle.id, error)
    stored = await store.departure_phase(case_id)
    return stored[0] if stored is not None else Phase.PREPARING


async def worker_polls(client: Client, settings: Settings) -> bool:
    """True if some worker is polling the departures' task queue right now."""
    try:
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.temporal.namespace,
                task_queue=TaskQueue(name=settings.temporal.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
    except RPCError:
        return True  # cannot tell; do not warn about what may be fine
    return len(response.pollers) > 0
