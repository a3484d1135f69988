"""Drive one departure on the time-skipping server: start it, move the clock, play the medical partner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.case import Case
from domain.departure import DepartureInput, DepartureState, departure_workflow_id
from domain.medical import AssessmentResult, FitnessResult, ScreeningResult, TbClass
from domain.policy import DestinationPolicy
from domain.steps import Step, StepRecord, StepState
from partners.factory import PartnerSet, build_partners
from predeparture.settings import PartnerAdapters, SimulatorSettings
from predeparture.temporal import data_converter
from predeparture.worker import build_worker
from store.repository import Store
from store.webhooks import SecretSealer
from tests.conftest import venv_binary
from workflows.departure import DepartureWorkflow

if TYPE_CHECKING:
    from documents.render import DocumentRenderer

TEST_KEY = bytes(range(32))  # a fixed key, so a committed history can be replayed


def quiet_simulator(**changes: object) -> SimulatorSettings:
    """Partners that answer at once and never fail, unless a test says otherwise."""
    base = dict(seed=11, latency_ms=0, transient_failure_rate=0, no_seats_rate=0, permit_refusal_rate=0,
                orientation_no_show_rate=0)
    base.update(changes)
    return SimulatorSettings(**base)  # type: ignore[arg-type]


@dataclass
class World:
    env: WorkflowEnvironment
    client: Client
    store: Store
    partners: PartnerSet
    task_queue: str
    sealer: SecretSealer  # the reception teams' webhook secrets, as the worker opens them
    started: list[WorkflowHandle[DepartureWorkflow, DepartureState]] = field(default_factory=list)

    async def today(self) -> date:
        return (await self.env.get_current_time()).date()

    async def start(self, case: Case, policy: DestinationPolicy | None = None, history_limit: int = 2000) -> Drive:
        await self.store.save_case(case)
        handle = await self.client.start_workflow(
            DepartureWorkflow.run,
            DepartureInput(case_id=case.case_id, policy=policy or DestinationPolicy(), history_limit=history_limit),
            id=departure_workflow_id(case.case_id),
            task_queue=self.task_queue,
        )
        self.started.append(handle)
        return Drive(self, case, handle)

    async def stop_all(self) -> None:
        """The test server is shared by the session: leave no departure running into the next test.

        A departure is terminated only between activities: the time-skipping server keeps time locked for an
        activity that was running when its workflow was terminated, which would stall every later test."""
        for handle in self.started:
            for _ in range(200):
                description = await handle.describe()
                if description.status != WorkflowExecutionStatus.RUNNING:
                    break
                if not description.raw_description.pending_activities:
                    try:
                        await handle.terminate("test over")
                    except RPCError:
                        pass  # closed meanwhile
                    break
                await asyncio.sleep(0.05)


@dataclass
class Drive:
    world: World
    case: Case
    handle: WorkflowHandle[DepartureWorkflow, DepartureState]

    async def state(self) -> DepartureState:
        return await self.handle.query(DepartureWorkflow.get_state)

    async def now(self) -> datetime:
        return await self.world.env.get_current_time()

    async def until(self, predicate: Callable[[DepartureState], bool], every: timedelta = timedelta(hours=6),
                    limit: timedelta = timedelta(days=800)) -> DepartureState:
        """Skip time in steps of `every` until the departure's state satisfies `predicate`."""
        waited = timedelta(0)
        while True:
            state = await self.state()
            if predicate(state):
                return state
            if waited > limit:
                raise AssertionError(f"still not there after {limit}: phase={state.phase}, steps="
                                     f"{ {k: r.state.value for k, r in state.steps.items()} }")
            await self.world.env.sleep(every)
            waited += every

    async def until_step(self, step: Step, person_id: str | None, *states: StepState, **kw: object) -> DepartureState:
        key = f"{step.value}:{person_id}" if person_id else step.value
        return await self.until(lambda s: key in s.steps and s.steps[key].state in states, **kw)  # type: ignore[arg-type]

    async def assess(self, person_id: str, tb_class: TbClass = TbClass.NONE,
                     exam_date: date | None = None) -> StepRecord:
        return await self.handle.execute_update(DepartureWorkflow.submit_assessment, AssessmentResult(
            person_id=person_id, exam_date=exam_date or (await self.now()).date(), tb_class=tb_class,
            findings="chest x-ray clear" if tb_class is TbClass.NONE else f"TB class {tb_class.value}",
            examined_by="clinic_default"))

    async def assess_everyone(self, tb: dict[str, TbClass] | None = None) -> None:
        """Each traveller's assessment once booked; none once the departure has ended (a refused permit cancels
        the appointments: waiting for them would skip time for 800 days)."""
        for person in self.case.people:
            key = f"{Step.HEALTH_ASSESSMENT.value}:{person.person_id}"
            state = await self.until(lambda s, key=key: s.is_terminal or (  # type: ignore[misc]
                key in s.steps and s.steps[key].state is StepState.SCHEDULED))
            if state.is_terminal:
                return
            await self.assess(person.person_id, (tb or {}).get(person.person_id, TbClass.NONE))

    async def screen(self, person_id: str, cleared: bool = True) -> None:
        await self.handle.execute_update(DepartureWorkflow.submit_screening, ScreeningResult(
            person_id=person_id, screened_on=(await self.now()).date(), cleared=cleared, examined_by="clinic_default"))

    async def until_step_screening_and_screen(self, person_id: str) -> None:
        await self.until_step(Step.PRE_DEPARTURE_SCREENING, person_id, StepState.SCHEDULED, every=timedelta(hours=6))
        await self.screen(person_id)

    async def check_fitness(self, fit: dict[str, bool] | None = None) -> None:
        for person in self.case.people:
            await self.until_step(Step.FITNESS_TO_TRAVEL, person.person_id, StepState.SCHEDULED,
                                  every=timedelta(hours=3))
        for person in self.case.people:
            await self.handle.execute_update(DepartureWorkflow.submit_fitness, FitnessResult(
                person_id=person.person_id, checked_at=await self.now(), fit=(fit or {}).get(person.person_id, True),
                examined_by="clinic_default"))


@pytest.fixture
def simulator_settings() -> SimulatorSettings:
    """Override per test with @pytest.mark.parametrize("simulator_settings", [quiet_simulator(...)])."""
    return quiet_simulator()


@asynccontextmanager
async def open_world(database_url: str, task_queue: str, simulator: SimulatorSettings,
                     renderer: DocumentRenderer | None = None,
                     stand_ins: Sequence[Callable[..., Any]] = ()) -> AsyncIterator[World]:
    """A time-skipping server of its own, a migrated store, the simulators and a worker (which renders with
    `renderer`, or with processes of its own it stops with it, and runs `stand_ins` for our activities of the
    same names)."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=venv_binary("temporal-test-server"))
    store = Store.from_url(database_url)
    await store.migrate()
    partners = build_partners(PartnerAdapters(), simulator)
    client = Client(**{**env.client.config(), "data_converter": data_converter("test", TEST_KEY)})
    sealer = SecretSealer("test", TEST_KEY)
    try:
        async with build_worker(client, task_queue, store, partners, renderer=renderer, sealer=sealer,
                                stand_ins=stand_ins):
            world = World(env, client, store, partners, task_queue, sealer)
            yield world
            await world.stop_all()
    finally:
        await store.close()
        await env.shutdown()


@pytest_asyncio.fixture
async def world(database_url: str, task_queue: str, simulator_settings: SimulatorSettings,
                document_renderer: DocumentRenderer) -> AsyncIterator[World]:
    """One server per test: each test moves the clock by months, and a shared server carries one test's
    skipped time and leftover timers into the next. The renderer's processes are the session's."""
    async with open_world(database_url, task_queue, simulator_settings, document_renderer) as world:
        yield world
