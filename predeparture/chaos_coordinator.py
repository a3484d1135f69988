"""The coordinator and the reception teams of a chaos run: a few departures cancelled along the way, and every flight
whose families have all departed boarded, its arrival confirmed, its movement closed."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError

from domain.departure import CancelRequest, Phase
from domain.documents import movement_id
from domain.movement import ArrivalConfirmation, BoardingRecord, MovementPhase, MovementState, movement_workflow_id
from predeparture.chaos_actors import CALL_TIMEOUT_SECONDS, Watch, settle_call
from workflows.departure import DepartureWorkflow
from workflows.movement import MovementWorkflow

log = logging.getLogger(__name__)

COORDINATOR = "usr_chaos_coordinator"
RECEPTION = "usr_chaos_reception"
CancelOutcome = Literal["accepted", "rejected", "closed"]


@dataclass
class Cancellation:
    case_id: str
    when: Literal["preparing", "booked"]
    after_seconds: float  # for "preparing": this long into the run
    outcome: CancelOutcome | None = None


def plan_cancellations(case_ids: list[str], count: int, rng: random.Random, preparing_within: float
                       ) -> dict[str, Cancellation]:
    chosen = rng.sample(case_ids, min(count, len(case_ids)))
    return {case_id: Cancellation(case_id, "booked" if n % 2 else "preparing",
                                  rng.uniform(1.0, preparing_within))
            for n, case_id in enumerate(chosen)}


@dataclass
class Flight:
    movement_id: str
    boarded: bool = False
    arrived: set[str] = field(default_factory=set)
    closed: bool = False
    state: MovementState | None = None


class Coordinator:
    """Cancels the planned departures when their moment comes; records the boarding of every flight whose families
    have all departed, and has each reception team on board confirm the arrival, which closes the movement."""

    def __init__(self, client: Client, watch: Watch, cancellations: dict[str, Cancellation]) -> None:
        self._client = client
        self._watch = watch
        self.cancellations = cancellations
        self.flights: dict[str, Flight] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()

    def act(self, elapsed: float) -> None:
        for case_id, plan in self.cancellations.items():
            state = self._watch.states.get(case_id)
            if plan.outcome is not None or state is None or f"cancel:{case_id}" in self._tasks:
                continue
            if state.is_terminal:
                plan.outcome = "rejected"  # it ended before its moment came: there is nothing left to cancel
            elif (state.phase is Phase.AWAITING_FLIGHT) if plan.when == "booked" else (elapsed >= plan.after_seconds):
                self._spawn(f"cancel:{case_id}", self._cancel(plan))
        for state in self._watch.states.values():
            if state.phase is Phase.DEPARTED and state.booking is not None:
                mid = movement_id(state.booking.flight_number, state.booking.departs_at.date())
                self.flights.setdefault(mid, Flight(mid))
        for flight in self.flights.values():
            if not flight.closed and f"flight:{flight.movement_id}" not in self._tasks:
                self._spawn(f"flight:{flight.movement_id}", self._close(flight))

    @property
    def idle(self) -> bool:
        cancels_done = all(plan.outcome is not None for plan in self.cancellations.values())
        return cancels_done and all(flight.closed for flight in self.flights.values())

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def _spawn(self, name: str, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks[name] = task
        task.add_done_callback(lambda _: self._tasks.pop(name, None))

    async def _cancel(self, plan: Cancellation) -> None:
        handle = self._watch.handles[plan.case_id]
        request = CancelRequest(reason="cancelled by the coordinator during the chaos run", requested_by=COORDINATOR)
        outcome, _ = await settle_call(lambda: handle.execute_update(
            DepartureWorkflow.cancel, request, id=f"chaos-cancel-{plan.case_id}"), self._stopping)
        plan.outcome = "accepted" if outcome == "done" else outcome  # type: ignore[assignment]

    async def _close(self, flight: Flight) -> None:
        try:
            await self._close_once(flight)
        except (RPCError, TimeoutError, WorkflowQueryFailedError) as error:
            log.debug("movement %s not reachable this round: %s", flight.movement_id, error)

    async def _close_once(self, flight: Flight) -> None:
        handle = self._client.get_workflow_handle_for(MovementWorkflow.run, movement_workflow_id(flight.movement_id))
        state = await asyncio.wait_for(handle.query(MovementWorkflow.get_state), CALL_TIMEOUT_SECONDS)
        flight.state = state
        if state.phase is MovementPhase.CLOSED:
            await asyncio.wait_for(handle.result(), CALL_TIMEOUT_SECONDS)  # its last deliveries made, it has ended
            flight.closed = True
            return
        phases = {case_id: self._watch.states.get(case_id) for case_id in state.parties}
        if not all(s is not None and s.phase is Phase.DEPARTED for s in phases.values()):
            return  # a family on it has not flown yet (or is leaving it): next round
        if not flight.boarded:
            people = sorted({pid for party in state.parties.values() for pid in party.person_ids})
            record = BoardingRecord(boarded_person_ids=people, recorded_by=COORDINATOR)
            outcome, answer = await settle_call(lambda: handle.execute_update(
                MovementWorkflow.record_boarding, record, id=f"chaos-boarding-{flight.movement_id}"), self._stopping)
            if outcome == "rejected":
                log.warning("boarding of %s refused: %s", flight.movement_id, answer)
                return
            flight.boarded = True
        for organisation in sorted(state.organisations_on_board()):
            if organisation in flight.arrived:
                continue
            confirmation = ArrivalConfirmation(organisation_id=organisation, confirmed_by=RECEPTION)
            update_id = f"chaos-arrival-{flight.movement_id}-{organisation}"
            confirm = partial(handle.execute_update, MovementWorkflow.confirm_arrival, confirmation, id=update_id)
            outcome, answer = await settle_call(confirm, self._stopping)
            if outcome == "rejected":
                log.warning("arrival on %s refused: %s", flight.movement_id, answer)
                return
            flight.arrived.add(organisation)
