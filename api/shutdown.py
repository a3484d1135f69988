"""Stopping the API without dropping a request: on SIGTERM (or Ctrl-C) `/readyz` answers 503 at once, the API
keeps serving for `api.drain_delay` so a load balancer that polls it stops sending, then it stops accepting
connections, lets the requests in flight finish (at most `api.shutdown_timeout`), runs the app's shutdown and the
process exits 0. A second signal stops it at once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta

import uvicorn

from api.health import readiness

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class DrainingServer(uvicorn.Server):
    """uvicorn, with its signal handling replaced when `handles_signals`: uvicorn's own stops accepting at once
    and, once stopped, raises the signal again, so a clean stop on SIGTERM would end as a death by SIGTERM (143).
    Without `handles_signals` (inside `predeparture dev`, whose own handler stops everything) it leaves signals
    alone, and `begin_shutdown` is called by its owner."""

    def __init__(self, config: uvicorn.Config, drain_delay: timedelta = timedelta(0),
                 handles_signals: bool = False) -> None:
        super().__init__(config)
        self.drain_delay = drain_delay
        self.handles_signals = handles_signals
        self.shutting_down = False

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self.handles_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.begin_shutdown)
        try:
            yield
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)

    def begin_shutdown(self, drain: bool = True) -> None:
        if self.shutting_down:  # asked twice: no more waiting
            self.force_exit = self.should_exit = True
            return
        self.shutting_down = True
        state = readiness(self.config.app)
        if state is not None:
            state.shutting_down = True
        delay = self.drain_delay.total_seconds() if drain else 0.0
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._stop_accepting)
        else:
            self._stop_accepting()

    def _stop_accepting(self) -> None:
        self.should_exit = True  # uvicorn's main loop sees it within 0.1 s and begins its graceful shutdown
