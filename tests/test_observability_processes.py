"""`predeparture worker` and `predeparture api` in their own processes, as production runs them with JSON logs:
the worker serves the Temporal SDK's metrics for Prometheus when asked to, and the API drains on SIGTERM (a request
in flight completes, /readyz answers 503 meanwhile, new connections are then refused, the process exits 0), with
its spans flushed on the way out."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from predeparture.devstack import dev_server
from predeparture.loopback import free_port
from store.repository import Store
from tests.test_cli import PREDEPARTURE, isolated_env

DRAIN = 2.0  # seconds the API keeps serving after SIGTERM; long enough to look, short enough to wait for
JSON_LINE_KEYS = {"time", "level", "logger", "message"}


@pytest_asyncio.fixture(scope="module")
async def temporal(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    address = f"127.0.0.1:{free_port()}"
    async with dev_server(address, "default", tmp_path_factory.mktemp("temporal") / "temporal.db", ui_port=None):
        yield address


def production_env(tmp_path: Path, temporal: str, **extra: str) -> dict[str, str]:
    """An isolated environment with JSON logs, on a migrated SQLite store of its own."""
    return isolated_env(tmp_path, PREDEPARTURE_TEMPORAL__ADDRESS=temporal,
                        PREDEPARTURE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
                        PREDEPARTURE_TELEMETRY__LOG_FORMAT="json", **extra)


def json_lines(stderr: bytes) -> list[dict[str, object]]:
    """Every line a JSON object with the fields a collector expects; fails on any other line."""
    records = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    assert all(isinstance(record, dict) and JSON_LINE_KEYS <= record.keys() for record in records), records
    return records


async def test_the_worker_serves_sdk_metrics_when_configured_and_logs_json_lines(
        tmp_path: Path, temporal: str) -> None:
    metrics = f"127.0.0.1:{free_port()}"
    env = production_env(tmp_path, temporal, PREDEPARTURE_TELEMETRY__WORKER_METRICS_ADDRESS=metrics)
    worker = await asyncio.create_subprocess_exec(PREDEPARTURE, "worker", env=env, cwd=tmp_path,
                                                  stderr=asyncio.subprocess.PIPE)
    scraped = ""
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while "temporal_worker_task_slots_available" not in scraped:
                assert time.monotonic() < deadline, f"no SDK metrics at {metrics}: {scraped[-500:]}"
                assert worker.returncode is None, "the worker stopped"
                try:
                    scraped = (await http.get(f"http://{metrics}/metrics")).text
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(worker.communicate(), 45)

    assert worker.returncode == 0, err.decode()[-2000:]
    assert 'worker_type="WorkflowWorker"' in scraped and "task_queue=" in scraped
    records = json_lines(err)
    messages = [str(record["message"]) for record in records]
    assert any(message.startswith("worker polling") for message in messages)
    assert f"worker metrics for Prometheus at http://{metrics}/metrics" in messages
    assert messages[-1] == "worker stopped"


async def test_the_api_drains_on_sigterm_then_exits_cleanly(tmp_path: Path, temporal: str) -> None:
    env = production_env(tmp_path, temporal, PREDEPARTURE_API__DRAIN_DELAY=f"PT{DRAIN}S",
                         PREDEPARTURE_TELEMETRY__TRACES_EXPORTER="console")
    store = Store.from_url(env["PREDEPARTURE_DATABASE_URL"])
    await store.migrate()
    await store.close()
    port = int(env["PREDEPARTURE_API__PORT"])
    base = f"http://127.0.0.1:{port}"
    api = await asyncio.create_subprocess_exec(PREDEPARTURE, "api", env=env, cwd=tmp_path,
                                               stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    signalled: float | None = None
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            await _until_ready(http, api)
            assert (await http.get("/partners/contract.json")).status_code == 200

            # A sign-in whose body is still on its way when SIGTERM arrives.
            body = b"grant_type=password&username=nobody&password=not-the-password"
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /auth/token HTTP/1.1\r\nHost: api\r\nContent-Type: application/x-www-form-urlencoded"
                         b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:12])
            await writer.drain()
            await asyncio.sleep(0.3)
            api.send_signal(signal.SIGTERM)
            signalled = time.monotonic()  # a second signal would stop it at once

            # Draining: still serving, but telling the load balancer to stop sending.
            await asyncio.sleep(0.3)
            draining = await http.get("/readyz")
            assert draining.status_code == 503, draining.text
            assert draining.json()["checks"] == {"shutdown": "begun"}
            assert (await http.get("/healthz")).status_code == 200

        # Then no new connection is taken, while the sign-in is still open.
        while not await _refused(port):
            assert time.monotonic() - signalled < DRAIN + 5, "the API kept accepting connections"
            await asyncio.sleep(0.1)
        assert time.monotonic() - signalled >= DRAIN * 0.9, "the API stopped accepting before the drain delay"
        assert api.returncode is None, "the API exited with a request in flight"

        # The request in flight is answered in full.
        writer.write(body[12:])
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") or head.startswith(b"HTTP/1.1 401"), answer[:300]
        assert json.loads(payload)["status"] in (400, 401)
    finally:
        if signalled is None:
            api.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(api.communicate(), 45)

    assert api.returncode == 0, err.decode()[-2000:]
    # Traces were on (printed by the console exporter), flushed on the way out: the request's span by its route.
    spans = out.decode()
    assert '"name": "GET /partners/contract.json"' in spans and '"name": "POST /auth/token"' in spans
    assert '"service.name": "predeparture-api"' in spans
    records = json_lines(err)
    assert not [record for record in records if record["level"] in ("ERROR", "CRITICAL")], records
    assert records[-1]["message"] == "API stopped"


async def _until_ready(http: httpx.AsyncClient, api: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert api.returncode is None, "the API stopped before it was ready"
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the API never became ready"
        await asyncio.sleep(0.3)


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False
