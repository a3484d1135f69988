"""The chaos run's processes: `predeparture worker` in a process of its own, to be killed with SIGKILL and started
again, and a Temporal dev server that can be stopped and started again on the same database file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from predeparture.devstack import DevServer, _die_with_parent, dev_server
from predeparture.settings import AdapterKind, PartnerEndpoint, PartnerNetwork, Settings

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 45.0  # the worker's own grace is 30 s
ROLES = ("exit_permits", "travel_documents", "medical", "orientation", "travel")


class WorkerFailed(RuntimeError):
    """The worker process exited before it polled, or never polled."""


def worker_environment(settings: Settings, network: PartnerNetwork) -> dict[str, str]:
    """PREDEPARTURE_* for a `predeparture worker` that reaches every partner over HTTP at `network`, on the same
    Temporal server, task queue, store and key as this process. Whatever else is in our environment stays, but
    every PREDEPARTURE_* value is ours: an operator's shell must not point the worker elsewhere."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREDEPARTURE_")}
    env.update({
        "PREDEPARTURE_DATA_DIR": str(settings.data_dir.resolve()),
        "PREDEPARTURE_DATABASE_URL": settings.resolved_database_url(),
        "PREDEPARTURE_TEMPORAL__ADDRESS": settings.temporal.address,
        "PREDEPARTURE_TEMPORAL__NAMESPACE": settings.temporal.namespace,
        "PREDEPARTURE_TEMPORAL__TASK_QUEUE": settings.temporal.task_queue,
        "PREDEPARTURE_DOCUMENTS__RENDER_PROCESSES": str(settings.documents.render_processes),
    })
    if settings.encryption_key is not None:
        env["PREDEPARTURE_ENCRYPTION_KEY"] = settings.encryption_key.get_secret_value()
        env["PREDEPARTURE_ENCRYPTION_KEY_ID"] = settings.encryption_key_id
    for role in ROLES:
        endpoint = getattr(network, role)
        env[f"PREDEPARTURE_PARTNERS__{role.upper()}"] = AdapterKind.HTTP.value
        env[f"PREDEPARTURE_PARTNER_NETWORK__{role.upper()}"] = _endpoint_json(endpoint)
    return env


def _endpoint_json(endpoint: PartnerEndpoint) -> str:
    """The endpoint as the settings read it back, its secrets in clear (model_dump_json would mask them)."""
    data = endpoint.model_dump(mode="json")
    data["api_key"] = endpoint.api_key.get_secret_value()
    if endpoint.callback_secret is not None:
        data["callback_secret"] = endpoint.callback_secret.get_secret_value()
    return json.dumps(data)


class WorkerProcess:
    """One `predeparture worker` at a time, in its own process group; its output goes to `log_file`."""

    def __init__(self, client: Client, settings: Settings, env: Mapping[str, str], log_file: Path) -> None:
        self._client = client
        self._settings = settings
        self._env = dict(env)
        self._log_file = log_file
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.unexpected_exits = 0  # exits we did not cause: each is restarted, and counted against the run

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """A new worker process, returned once it polls the task queue (its own pid is in the poller identity)."""
        self._log_file.parent.mkdir(parents=True, exist_ok=True)
        with self._log_file.open("ab") as output:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "predeparture.cli", "worker",
                env=self._env, cwd=str(self._settings.data_dir),  # no stray .env from where the run was started
                stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
                start_new_session=True,  # its render processes share its group, so none outlives a kill
                preexec_fn=_die_with_parent,  # and it goes if this run is killed outright
            )
        self.starts += 1
        await self._until_polling(self._process)

    async def kill(self) -> None:
        """SIGKILL, as a crashed machine would: no shutdown, activities lost mid-way; then the same for whatever
        it had started (its document renderers)."""
        process = self._require()
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        self.kills += 1

    async def stop(self) -> None:
        """SIGTERM: the worker finishes its tasks, as in a deployment."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("worker %s ignored SIGTERM; killing it", process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def restart_if_gone(self) -> bool:
        """A worker that exited without our doing is started again; True if it had to be."""
        process = self._require()
        if process.returncode is None:
            return False
        log.warning("worker %s exited by itself with code %s; starting another", process.pid, process.returncode)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        self.unexpected_exits += 1
        await self.start()
        return True

    def _require(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise WorkerFailed("no worker was started")
        return self._process

    async def _until_polling(self, process: asyncio.subprocess.Process) -> None:
        identity = f"{process.pid}@{socket.gethostname()}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_SECONDS
        while loop.time() < deadline:
            if process.returncode is not None:
                raise WorkerFailed(f"the worker exited with code {process.returncode} before it polled; "
                                   f"its log: {self._log_file}")
            if await self._polls(identity):
                return
            await asyncio.sleep(0.2)
        raise WorkerFailed(f"the worker did not poll within {READY_TIMEOUT_SECONDS:.0f} s; its log: {self._log_file}")

    async def _polls(self, identity: str) -> bool:
        try:
            response = await self._client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace=self._settings.temporal.namespace,
                task_queue=TaskQueue(name=self._settings.temporal.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ))
        except Exception:  # the server may be restarting; ask again
            return False
        return any(poller.identity == identity for poller in response.pollers)


class RestartableServer:
    """A Temporal dev server on a fixed address and database file, which can be stopped and started again."""

    def __init__(self, address: str, namespace: str, db_filename: Path) -> None:
        self._address = address
        self._namespace = namespace
        self._db_filename = db_filename
        self._stack: contextlib.AsyncExitStack | None = None
        self.server: DevServer | None = None
        self.restarts = 0

    async def start(self) -> None:
        stack = contextlib.AsyncExitStack()
        self.server = await stack.enter_async_context(
            dev_server(self._address, self._namespace, self._db_filename, ui_port=None))
        self._stack = stack

    async def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    async def restart(self) -> None:
        await self.stop()
        await self.start()
        self.restarts += 1
