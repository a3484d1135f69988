"""Serving the API: the context a production process builds, and uvicorn around the app."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.context import ApiContext
from api.shutdown import DrainingServer
from predeparture.keys import load_or_create_key
from predeparture.settings import Settings
from predeparture.telemetry import Tracing, temporal_interceptors, temporal_runtime
from predeparture.temporal import connect
from store.repository import Store
from store.webhooks import SecretSealer


async def make_context(settings: Settings, tracing: Tracing | None = None) -> ApiContext:
    """Migrations are the worker's job (and `dev`'s); the API only reads and writes through the store."""
    store = Store.from_url(settings.resolved_database_url())
    temporal = await connect(settings, interceptors=temporal_interceptors(tracing),
                             runtime=temporal_runtime(settings.telemetry))
    # The worker opens reception teams' secrets under the same key (predeparture.worker.build_worker).
    sealer = SecretSealer(*load_or_create_key(settings))
    return ApiContext(settings=settings, store=store, temporal=temporal, sealer=sealer, tracing=tracing)


def build_app(settings: Settings, tracing: Tracing | None = None) -> FastAPI:
    return create_app(make_context=lambda: make_context(settings, tracing))


class ApiServer:
    """uvicorn inside an event loop we own, so `dev` can run it beside the worker and stop it with the rest."""

    def __init__(self, app: FastAPI, host: str, port: int, *, drain_delay: timedelta = timedelta(0),
                 shutdown_timeout: timedelta | None = None) -> None:
        """`drain_delay` and `shutdown_timeout`: see api.shutdown (the API's come from settings.api)."""
        grace = shutdown_timeout.total_seconds() if shutdown_timeout else None
        # log_config=None: uvicorn's records go through the process's own handlers (JSON, the personal data filter)
        # instead of handlers uvicorn would install for itself.
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
                                log_config=None, timeout_graceful_shutdown=grace)
        self._server = DrainingServer(config, drain_delay)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start (port taken, ...)
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Graceful: uvicorn stops accepting, lets requests in flight finish, then runs the app's shutdown."""
        if not self._server.shutting_down:
            self._server.begin_shutdown(drain=False)  # whoever stops us has stopped sending already
        if self._task is not None:
            await self._task

    async def serve_until_stopped(self) -> None:
        """Until SIGTERM or Ctrl-C, which drain it (api.shutdown); it returns once the app has shut down."""
        self._server.handles_signals = True
        await self._server.serve()


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory api.server:app_from_environment`: the settings come from PREDEPARTURE_* variables."""
    settings = Settings()
    return build_app(settings, Tracing.from_settings(settings.telemetry, "api"))  # flushed at exit by the SDK
