"""Serving the API: the context a production process builds, and uvicorn around the app."""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.context import ApiContext
from predeparture.keys import load_or_create_key
from predeparture.settings import Settings
from predeparture.temporal import connect
from store.repository import Store
from store.webhooks import SecretSealer


async def make_context(settings: Settings) -> ApiContext:
    """Migrations are the worker's job (and `dev`'s); the API only reads and writes through the store."""
    store = Store.from_url(settings.resolved_database_url())
    temporal = await connect(settings)
    # The worker opens reception teams' secrets under the same key (predeparture.worker.build_worker).
    sealer = SecretSealer(*load_or_create_key(settings))
    return ApiContext(settings=settings, store=store, temporal=temporal, sealer=sealer)


def build_app(settings: Settings) -> FastAPI:
    return create_app(make_context=lambda: make_context(settings))


class ApiServer:
    """uvicorn inside an event loop we own, so `dev` can run it beside the worker and stop it with the rest."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start (port taken, ...)
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Graceful: uvicorn stops accepting, lets requests in flight finish, then runs the app's shutdown."""
        self._server.should_exit = True
        if self._task is not None:
            await self._task

    async def serve_until_stopped(self) -> None:
        await self._server.serve()


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory api.server:app_from_environment`: the settings come from PREDEPARTURE_* variables."""
    return build_app(Settings())
