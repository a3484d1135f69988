"""The API's own health and metrics routes, as a load balancer, an orchestrator and Prometheus use them:
`/healthz` touches nothing, `/readyz` asks the database and Temporal (and says no once shutdown has begun), and
`/metrics` counts and times every request by route template and status."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.context import ApiContext
from api.health import readiness
from predeparture.loopback import LOOPBACK, free_port
from predeparture.settings import ApiSettings, Settings
from store.repository import Store

LABELS = {"method", "route", "status"}


def settings_for(tmp_path: Path, **api: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, api=ApiSettings(**api))  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def calling(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    yield store
    await store.close()


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """Takes connections and never answers: a Temporal frontend that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()


def free_address() -> str:
    return f"{LOOPBACK}:{free_port()}"


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(sample.name, sample.labels, sample.value) for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name.startswith("predeparture_api_")]


# -- /healthz --------------------------------------------------------------------------------------------------


async def test_healthz_answers_without_touching_the_database_or_temporal() -> None:
    app = create_app()  # no context at all: a route that needed the store or Temporal would fail

    async with calling(app) as http:
        answer = await http.get("/healthz")

    assert answer.status_code == 200 and answer.json() == {"status": "alive"}


# -- /readyz ---------------------------------------------------------------------------------------------------


async def test_readyz_is_ready_when_the_database_and_temporal_answer(
        tmp_path: Path, store: Store, time_skipping_env: WorkflowEnvironment) -> None:
    app = create_app(context=ApiContext(settings_for(tmp_path), store, time_skipping_env.client))

    async with calling(app) as http:
        answer = await http.get("/readyz")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}


async def test_readyz_names_temporal_when_it_is_down(tmp_path: Path, store: Store) -> None:
    nobody = await Client.connect(free_address(), lazy=True)
    app = create_app(context=ApiContext(settings_for(tmp_path), store, nobody))

    async with calling(app) as http:
        answer = await http.get("/readyz")

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json" and "Retry-After" in answer.headers
    problem = answer.json()
    assert problem["status"] == 503 and problem["title"] == "Service unavailable"
    assert problem["detail"] == "not ready: temporal"
    assert problem["checks"]["database"] == "ok" and problem["checks"]["temporal"].startswith("unavailable")


async def test_readyz_gives_up_on_a_temporal_that_hangs_within_its_timeout(tmp_path: Path, store: Store) -> None:
    async with silent_server() as address:
        hanging = await Client.connect(address, lazy=True)
        app = create_app(context=ApiContext(settings_for(tmp_path, readiness_timeout="PT0.3S"), store, hanging))
        async with calling(app) as http:
            started = asyncio.get_running_loop().time()
            answer = await http.get("/readyz")
            waited = asyncio.get_running_loop().time() - started

    assert answer.status_code == 503
    assert answer.json()["checks"]["temporal"] == "no answer within 0.3 s"
    assert waited < 3, "a hanging dependency must not hang the probe"


async def test_readyz_names_the_database_when_it_cannot_be_reached(
        tmp_path: Path, time_skipping_env: WorkflowEnvironment) -> None:
    unreachable = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'no-such-directory' / 'store.db'}")
    app = create_app(context=ApiContext(settings_for(tmp_path), unreachable, time_skipping_env.client))
    try:
        async with calling(app) as http:
            answer = await http.get("/readyz")
    finally:
        await unreachable.close()

    assert answer.status_code == 503
    problem = answer.json()
    assert problem["detail"] == "not ready: database"
    assert problem["checks"]["temporal"] == "ok" and problem["checks"]["database"].startswith("unavailable")
    assert str(tmp_path) not in answer.text, "no path, address or credential in the answer"


async def test_readyz_says_no_once_shutdown_has_begun_while_healthz_still_says_alive(
        tmp_path: Path, store: Store, time_skipping_env: WorkflowEnvironment) -> None:
    app = create_app(context=ApiContext(settings_for(tmp_path), store, time_skipping_env.client))
    state = readiness(app)
    assert state is not None

    async with calling(app) as http:
        assert (await http.get("/readyz")).status_code == 200
        state.shutting_down = True  # what api.shutdown does on SIGTERM
        answer = await http.get("/readyz")
        alive = await http.get("/healthz")

    assert answer.status_code == 503 and answer.json()["checks"] == {"shutdown": "begun"}
    assert alive.status_code == 200


# -- /metrics --------------------------------------------------------------------------------------------------


async def test_a_request_shows_up_in_metrics_by_route_template_and_status(
        tmp_path: Path, store: Store, time_skipping_env: WorkflowEnvironment) -> None:
    app = create_app(context=ApiContext(settings_for(tmp_path, max_body_bytes=4096), store, time_skipping_env.client))

    async with calling(app) as http:
        # Refused before routing (no route in the scope): still counted under the template it was sent to.
        assert (await http.post("/cases", content=b" " * 5000)).status_code == 413
        assert (await http.get("/cases/case_0123456789abcdef")).status_code == 401
        assert (await http.get("/cases/case_0123456789abcdef")).status_code == 401
        assert (await http.get("/no/such/case_0123456789abcdef")).status_code == 404
        assert (await http.get("/docs")).status_code == 200
        answer = await http.get("/metrics")

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    found = samples(answer.text)
    count = {(s["method"], s["route"], s["status"]): value for name, s, value in found
             if name == "predeparture_api_requests_total"}
    assert count[("GET", "/cases/{case_id}", "401")] == 2
    assert count[("GET", "<unmatched>", "404")] == 1
    assert count[("POST", "/cases", "413")] == 1
    assert count[("GET", "/docs", "200")] == 1
    timed = {(s["route"], s["status"]): value for name, s, value in found
             if name == "predeparture_api_request_duration_seconds_count"}
    assert timed[("/cases/{case_id}", "401")] == 2
    # Labels are method, route template and status: no path a client sent, so no id, ever.
    assert "case_0123456789abcdef" not in answer.text and "/no/such" not in answer.text
    assert all(set(labels) - {"le"} == LABELS for _, labels, _ in found)
