"""The worker: the departure workflow and its activities, wired to a store, a set of partner adapters and a
document renderer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.partners import PartnerActivities
from activities.store import StoreActivities
from partners.base import Partners
from predeparture.settings import DocumentSettings
from store.repository import Store
from workflows.departure import DepartureWorkflow

if TYPE_CHECKING:
    from documents.render import DocumentRenderer

WORKFLOWS = [DepartureWorkflow]


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


class DepartureWorker(Worker):
    """A worker that closes the renderer it made for itself once it has stopped, so no render process outlives it."""

    def __init__(self, *args: Any, owned_renderer: DocumentRenderer | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owned_renderer = owned_renderer

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            if self._owned_renderer is not None:
                await asyncio.to_thread(self._owned_renderer.close)  # waits for its processes to exit


def build_worker(client: Client, task_queue: str, store: Store, partners: Partners, *,
                 renderer: DocumentRenderer | None = None, documents: DocumentSettings | None = None,
                 **options: Any) -> Worker:
    """All activities are async, so the thread pool only serves the SDK's own needs. Without a `renderer` the
    worker makes one (`documents.render_processes` processes) and closes it when it stops; a caller that passes
    its own (tests share one per session) closes it itself."""
    documents = documents or DocumentSettings()
    owned = None
    if renderer is None:
        from documents.render import DocumentRenderer  # WeasyPrint loads only where documents are rendered

        renderer = owned = DocumentRenderer(processes=documents.render_processes)
    return DepartureWorker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=departure_activities(store, partners, renderer, documents),
        activity_executor=options.pop("activity_executor", ThreadPoolExecutor(max_workers=4)),
        owned_renderer=owned,
        **options,
    )
