"""On a real `temporal server start-dev` (the time-skipping server has no schedules): the worker's start creates the
retention schedule, a later start updates it and retention switched off deletes it; a triggered run anonymises a
family that arrived long ago. The same dev server, started as `predeparture dev` starts it, keeps closed histories
for the configured time and hands its UI the codec server's URL when, and only when, the codec server is on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode

from domain.retention import ANONYMISED_ACTION, RetentionInput, RetentionOutcome
from partners.factory import build_partners
from predeparture.codec_server import serving
from predeparture.devstack import dev_server
from predeparture.loopback import free_port
from predeparture.retention_schedule import SCHEDULE_ID, ensure_retention_schedule
from predeparture.settings import ApiSettings, CodecServerSettings, PartnerAdapters, RetentionSettings, Settings
from predeparture.temporal import data_converter
from predeparture.worker import build_worker
from store.repository import Store
from tests.departure_harness import TEST_KEY, quiet_simulator
from tests.retention_fixtures import seed_case
from workflows.retention import RETENTION_WORKFLOW, RetentionWorkflow

pytestmark = pytest.mark.e2e

NAMESPACE = "default"


async def test_the_worker_keeps_the_schedule_and_a_run_anonymises(tmp_path: Path, database_url: str,
                                                                   document_renderer: object) -> None:
    store = Store.from_url(database_url)
    await store.migrate()
    address, queue = f"127.0.0.1:{free_port()}", f"retention-{free_port()}"
    try:
        async with dev_server(address, NAMESPACE, tmp_path / "temporal.db", ui_port=None):
            client = await Client.connect(address, namespace=NAMESPACE, data_converter=data_converter("test", TEST_KEY))
            daily = RetentionSettings()
            await ensure_retention_schedule(client, daily, queue)
            await ensure_retention_schedule(client, daily.model_copy(update={"every": timedelta(hours=12),
                                                                               "batch_size": 7}), queue)
            handle = client.get_schedule_handle(SCHEDULE_ID)
            described = await handle.describe()
            schedule = described.schedule
            action = schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow)
            assert (action.workflow, action.task_queue) == (RETENTION_WORKFLOW, queue)
            [args] = await client.data_converter.decode(action.args, [RetentionInput])
            assert args == RetentionInput(batch_size=7)
            assert [i.every for i in schedule.spec.intervals] == [timedelta(hours=12)]
            assert schedule.policy.overlap is ScheduleOverlapPolicy.SKIP

            arrived = await seed_case(store, office="office_schedule", country="CA",
                                      arrives_at=datetime.now(UTC) - timedelta(days=800))
            partners = build_partners(PartnerAdapters(), quiet_simulator())
            async with build_worker(client, queue, store, partners, renderer=document_renderer):  # type: ignore[arg-type]
                await handle.trigger()
                outcome = await _first_run(client, handle)
            assert outcome.anonymised >= 1
            assert [e.action for e in await store.audit_events(arrived.case.case_id)][-1] == ANONYMISED_ACTION

            await ensure_retention_schedule(client, daily.model_copy(update={"enabled": False}), queue)
            with pytest.raises(RPCError) as gone:
                await handle.describe()
            assert gone.value.status == RPCStatusCode.NOT_FOUND
    finally:
        await store.close()


async def _first_run(client: Client, handle: object) -> RetentionOutcome:
    for _ in range(100):
        actions = (await handle.describe()).info.recent_actions  # type: ignore[attr-defined]
        if actions:
            run = client.get_workflow_handle_for(RetentionWorkflow.run, actions[0].action.workflow_id)
            return await asyncio.wait_for(run.result(), 60)
        await asyncio.sleep(0.1)
    raise AssertionError("the triggered schedule started no run")


async def test_the_dev_ui_gets_the_codec_endpoint_only_when_on_and_histories_expire(
        tmp_path: Path, database_url: str) -> None:
    store = Store.from_url(database_url)
    address, ui_port, codec_port = f"127.0.0.1:{free_port()}", free_port(), free_port()
    ui = f"http://127.0.0.1:{ui_port}"
    base = Settings(_env_file=None, data_dir=tmp_path, database_url=database_url,
                    api=ApiSettings(jwt_secret="k" * 40))
    try:
        async with serving(base, store, [ui]) as off:
            assert off is None  # off by default: nothing served, nothing handed to the UI
        on = base.model_copy(update={"codec_server": CodecServerSettings(enabled=True, port=codec_port)})
        async with serving(on, store, [ui]) as endpoint, dev_server(
                address, NAMESPACE, tmp_path / "temporal.db", ui_port=ui_port, codec_endpoint=endpoint,
                retention=timedelta(days=3)):
            assert endpoint == f"http://127.0.0.1:{codec_port}"
            async with httpx.AsyncClient() as http:
                settings = (await http.get(f"{ui}/api/v1/settings")).json()
                preflight = await http.options(f"{endpoint}/decode", headers={
                    "Origin": ui, "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-namespace"})
            assert settings["Codec"]["Endpoint"] == endpoint
            assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ui
            client = await Client.connect(address, namespace=NAMESPACE)
            namespace = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=NAMESPACE))
            assert namespace.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=3)
    finally:
        await store.close()
