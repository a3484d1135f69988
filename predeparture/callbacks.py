"""The callback pump: brings the simulated partners' decisions to the departures that wait for them.

A real permit authority or document issuer calls us back when it decides (over HTTP, in a later issue). The
simulators live inside the worker process and only know which of their decisions fell due, so something in that
process has to deliver them: every second, this asks each simulator for the decisions now due and signals each
departure with `record_partner_decision`. A departure never depends on it — it also polls the partner — the pump
only makes answers arrive when they are made instead of at the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.departure import PartnerDecision, departure_workflow_id
from partners.factory import CallbackSource
from partners.simulators import CallbackDue
from workflows.departure import DepartureWorkflow

log = logging.getLogger(__name__)

PUMP_INTERVAL_SECONDS = 1.0
# Not found: the case has no departure (anymore). Failed precondition: the departure already closed.
_NOBODY_WAITING = frozenset({RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION})


class CallbackPump:
    def __init__(
        self,
        client: Client,
        sources: Sequence[CallbackSource],
        interval: float = PUMP_INTERVAL_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._sources = list(sources)
        self._interval = interval
        self._clock = clock
        self._undelivered: list[CallbackDue] = []
        self.delivered = 0
        self.dropped = 0

    async def pump_once(self) -> int:
        """Deliver every decision due now, and those an unavailable server refused before; returns how many
        reached a departure."""
        now = self._clock()
        due = self._undelivered + [callback for source in self._sources for callback in source.due_callbacks(now)]
        self._undelivered = []
        delivered = 0
        for callback in due:
            if await self._deliver(callback):
                delivered += 1
        self.delivered += delivered
        return delivered

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            try:
                await self.pump_once()
            except Exception:  # one bad round must not stop the decisions that follow
                log.exception("callback pump round failed")
            await asyncio.sleep(self._interval)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CallbackPump]:
        task = asyncio.create_task(self.run(), name="callback-pump")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver(self, callback: CallbackDue) -> bool:
        handle = self._client.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(callback.case_id))
        try:
            await handle.signal(
                DepartureWorkflow.record_partner_decision,
                PartnerDecision(reference=callback.reference, decision=callback.decision),
            )
        except RPCError as error:
            if error.status in _NOBODY_WAITING:
                self.dropped += 1
                log.debug("no open departure for case %s; callback %s dropped", callback.case_id, callback.reference)
                return False
            # The server is restarting or busy: keep the decision for the next round rather than lose it.
            log.warning("callback %s for case %s not delivered yet: %s", callback.reference, callback.case_id,
                        error.status.name if error.status else "error")
            self._undelivered.append(callback)
            return False
        log.debug("callback %s delivered to case %s", callback.reference, callback.case_id)
        return True
