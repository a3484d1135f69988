"""The worker: the departure workflow and its activities, wired to a store and a set of partner adapters."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.partners import PartnerActivities
from activities.store import StoreActivities
from partners.base import Partners
from store.repository import Store
from workflows.departure import DepartureWorkflow

WORKFLOWS = [DepartureWorkflow]


def departure_activities(store: Store, partners: Partners) -> list[Callable[..., Any]]:
    store_acts = StoreActivities(store)
    partner_acts = PartnerActivities(partners, store)
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
    ]


def build_worker(client: Client, task_queue: str, store: Store, partners: Partners, **options: Any) -> Worker:
    """All activities are async, so the thread pool only serves the SDK's own needs."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=departure_activities(store, partners),
        activity_executor=options.pop("activity_executor", ThreadPoolExecutor(max_workers=4)),
        **options,
    )
