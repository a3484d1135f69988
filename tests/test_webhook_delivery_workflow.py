"""A reception team's server down for an hour: on the time-skipping server, delivery keeps trying with backoff and
completes once it is back, and the copy sent again after a lost answer adds nothing at the receiver."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import httpx
    from fastapi import FastAPI
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from activities.webhooks import DELIVERY_RETRY, DELIVERY_TIMEOUT, DeliveryActivities
    from domain.webhooks import Delivery, DeliveryStatus, ManifestDelivery, ReceptionEndpoint
    from predeparture.receiver import build_receiver
    from predeparture.temporal import data_converter
    from store.documents import DocumentArchive
    from store.repository import Store
    from store.webhooks import SecretSealer, WebhookStore
    from tests.conftest import venv_binary
    from tests.test_webhooks import RECEIVER_URL, SECRET, archived_manifest, fresh_ids

KEY = bytes(range(32))
DELIVERY_RETRY_CAP = DELIVERY_RETRY.maximum_interval or timedelta(0)


@workflow.defn(sandboxed=True)
class DeliverOneManifest:
    """What the movement workflow does for each manifest version and reception team, and nothing else."""

    @workflow.run
    async def run(self, call: ManifestDelivery) -> Delivery:
        return await workflow.execute_activity_method(
            DeliveryActivities.deliver_manifest, call, start_to_close_timeout=DELIVERY_TIMEOUT,
            retry_policy=DELIVERY_RETRY,
        )


class ReceptionServer(httpx.AsyncBaseTransport):
    """The reference receiver, in process. It refuses connections until `back_at` on the test server's clock;
    then the answer to the first delivery that reaches it is lost on the way back, so the sender sends it again."""

    def __init__(self, app: FastAPI, env: WorkflowEnvironment, back_at: datetime) -> None:
        self._app = httpx.ASGITransport(app=app)
        self._env = env
        self._back_at = back_at
        self.refused = 0
        self.reached = 0
        self.first_reached_at: datetime | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        now = await self._env.get_current_time()
        if now < self._back_at:
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        response = await self._app.handle_async_request(request)
        self.reached += 1
        self.first_reached_at = self.first_reached_at or now
        if self.reached == 1:
            await response.aread()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


async def test_a_receiver_down_for_an_hour_gets_the_manifest_once_it_is_back(database_url: str,
                                                                                task_queue: str) -> None:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=venv_binary("temporal-test-server"))
    store = Store.from_url(database_url)
    try:
        await store.migrate()
        client = Client(**{**env.client.config(), "data_converter": data_converter("test", KEY)})
        webhooks = WebhookStore(store, SecretSealer("test", KEY))
        archive = DocumentArchive(store)
        movement, organisation = fresh_ids()
        down_since = await env.get_current_time()
        await webhooks.set_endpoint(ReceptionEndpoint(organisation_id=organisation, url=RECEIVER_URL, secret=SECRET),
                                    down_since)
        call = await archived_manifest(archive, movement, organisation)
        receiver = build_receiver(SECRET)
        server = ReceptionServer(receiver, env, back_at=down_since + timedelta(hours=1))

        async with httpx.AsyncClient(transport=server) as http:
            activities = DeliveryActivities(webhooks, archive, http)
            async with Worker(client, task_queue=task_queue, workflows=[DeliverOneManifest],
                              activities=[activities.deliver_manifest]):
                delivered = await client.execute_workflow(DeliverOneManifest.run, call,
                                                          id=f"deliver-{call.delivery_id}", task_queue=task_queue)

        # Tried all through the hour, and again within one longest backoff interval of the receiver's return.
        assert server.first_reached_at is not None
        assert timedelta(hours=1) <= server.first_reached_at - down_since < timedelta(hours=1) + DELIVERY_RETRY_CAP
        assert delivered.status is DeliveryStatus.ACKNOWLEDGED
        assert server.refused > 1 and delivered.attempts == server.refused + 2  # + the lost answer + the one heard
        assert delivered.first_failure_at is not None and delivered.last_error == "ReadTimeout"
        assert await webhooks.deliveries(movement) == [delivered]

        assert server.reached == 2  # it came twice...
        [kept] = receiver.state.received.listing()  # ...and is kept once
        assert (kept.delivery_id, kept.movement_id, kept.version) == (call.delivery_id, movement, 1)
        assert [e.action for e in await store.audit_events(movement)] == ["manifest.delivered"]
    finally:
        await store.close()
        await env.shutdown()
