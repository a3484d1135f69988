"""The worker: the departure, movement and retention workflows and their activities, wired to a store, a set of partner
adapters, a document renderer and an HTTP client for the reception teams' webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.movements import MovementActivities
from activities.partners import PartnerActivities
from activities.retention import RetentionActivities
from activities.store import StoreActivities
from activities.webhooks import DeliveryActivities
from partners.base import Partners
from predeparture.keys import load_or_create_key
from predeparture.settings import DocumentSettings, get_settings
from store.documents import DocumentArchive
from store.repository import Store
from store.webhooks import SecretSealer, WebhookStore
from workflows.departure import DepartureWorkflow
from workflows.movement import MovementWorkflow
from workflows.retention import RetentionWorkflow

if TYPE_CHECKING:
    from documents.render import DocumentRenderer

WORKFLOWS = [DepartureWorkflow, MovementWorkflow, RetentionWorkflow]


def departure_activities(store: Store, partners: Partners, renderer: DocumentRenderer,
                         documents: DocumentSettings | None = None) -> list[Callable[..., Any]]:
    store_acts = StoreActivities(store)
    partner_acts = PartnerActivities(partners, store)
    document_acts = DocumentActivities(store, renderer, documents or DocumentSettings())
    return [
        store_acts.load_case,
        store_acts.save_progress,
        partner_acts.request_exit_permit,
        partner_acts.check_exit_permit,
        partner_acts.request_travel_document,
        partner_acts.check_travel_document,
        partner_acts.schedule_appointment,
        partner_acts.cancel_appointment,
        partner_acts.reserve_orientation_seat,
        partner_acts.release_orientation_seat,
        partner_acts.check_orientation_attendance,
        partner_acts.book_flight,
        partner_acts.cancel_flight,
        partner_acts.check_flight,
        document_acts.issue_booking_documents,
        document_acts.issue_fitness_documents,
        document_acts.publish_manifest,
    ]


def movement_activities(client: Client, task_queue: str, store: Store, sealer: SecretSealer,
                        http: httpx.AsyncClient) -> list[Callable[..., Any]]:
    movements = MovementActivities(client, task_queue)
    deliveries = DeliveryActivities(WebhookStore(store, sealer), DocumentArchive(store), http)
    return [movements.join_movement, movements.leave_movement, deliveries.deliver_manifest]


class DepartureWorker(Worker):
    """A worker that closes the renderer and HTTP client it made for itself once it has stopped, so no render
    process or connection outlives it."""

    def __init__(self, *args: Any, owned_renderer: DocumentRenderer | None = None,
                 owned_http: httpx.AsyncClient | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owned_renderer = owned_renderer
        self._owned_http = owned_http

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            if self._owned_http is not None:
                await self._owned_http.aclose()
            if self._owned_renderer is not None:
                await asyncio.to_thread(self._owned_renderer.close)  # waits for its processes to exit


Activity = Callable[..., Any]


def _replaced(activities: list[Activity], stand_ins: Sequence[Activity]) -> list[Activity]:
    """Our activities are registered under their function's name, so a stand-in of the same name replaces one."""
    names = {a.__name__ for a in stand_ins}
    return [*(a for a in activities if a.__name__ not in names), *stand_ins]


def build_worker(client: Client, task_queue: str, store: Store, partners: Partners, *,
                 renderer: DocumentRenderer | None = None, documents: DocumentSettings | None = None,
                 sealer: SecretSealer | None = None, http: httpx.AsyncClient | None = None,
                 stand_ins: Sequence[Activity] = (), **options: Any) -> Worker:
    """All activities are async, so the thread pool only serves the SDK's own needs. Without a `renderer` the
    worker makes one (`documents.render_processes` processes) and closes it when it stops; a caller that passes
    its own (tests share one per session) closes it itself. The same goes for `http`, the client that posts
    manifests to reception teams. The reception teams' secrets open with `sealer`, by default one under the
    payload encryption key of the configured settings (the key the client's codec uses when made by `connect`).
    `stand_ins` replace the activities of the same names (a test's partner that never answers, say)."""
    documents = documents or DocumentSettings()
    owned = None
    if renderer is None:
        from documents.render import (
            DocumentRenderer,  # WeasyPrint loads only where documents are rendered
        )

        renderer = owned = DocumentRenderer(processes=documents.render_processes)
    owned_http = None
    if http is None:
        http = owned_http = httpx.AsyncClient()
    sealer = sealer or SecretSealer(*load_or_create_key(get_settings()))
    return DepartureWorker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=_replaced([*departure_activities(store, partners, renderer, documents),
                              *movement_activities(client, task_queue, store, sealer, http),
                              RetentionActivities(store).anonymise_due_cases], stand_ins),
        activity_executor=options.pop("activity_executor", ThreadPoolExecutor(max_workers=4)),
        owned_renderer=owned,
        owned_http=owned_http,
        **options,
    )
