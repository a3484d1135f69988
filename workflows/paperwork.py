"""The papers a departure issues as it goes: the family's travel pack and itinerary once it holds seats, the
reception team's arrival manifest (amended whenever the family joins or leaves a flight), and the fitness
certificates and medical summary once everyone is cleared to board.

Each call site is behind a patch of its own: departures that were running before papers existed replay their
histories without these calls, and issue papers from the next call site they reach on today's code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow

from workflows.base import CALL_TIMEOUT, PARTNER_RETRY, DepartureBase

with workflow.unsafe.imports_passed_through():
    from activities.document_messages import CaseDocumentsCall, ManifestCall
    from activities.documents import DocumentActivities
    from domain.documents import movement_id
    from domain.partner_messages import FlightBooking

T = TypeVar("T")

BOOKED_PATCH = "documents-booked"
BOOKING_CANCELLED_PATCH = "documents-booking-cancelled"
CLEARED_PATCH = "documents-cleared-to-board"
# A charter's manifest lists hundreds of travellers: rendering it takes longer than a partner call may.
MANIFEST_TIMEOUT = timedelta(minutes=2)


class Paperwork(DepartureBase):
    def __init__(self) -> None:
        super().__init__()
        self._booking_papers: list[asyncio.Task[None]] = []

    def issue_booking_papers(self, booking: FlightBooking) -> None:
        """Called once the booking is saved, so the travel pack and the roster both see it. The papers are made
        while the pre-embarkation checks go on: rendering must not eat into a close flight's checks."""
        if workflow.patched(BOOKED_PATCH):
            self._booking_papers.append(asyncio.ensure_future(self._issue_booking_papers(booking)))

    async def booking_papers_issued(self) -> None:
        """Every booking's papers and manifest are stored: before the family flies, and before the run ends."""
        while self._booking_papers:
            await self._booking_papers[0]
            self._booking_papers.pop(0)

    async def _issue_booking_papers(self, booking: FlightBooking) -> None:
        await self._document_call(DocumentActivities.issue_booking_documents, self._case_call())
        await self._publish_manifest(booking)

    async def withdraw_from_manifest(self, booking: FlightBooking) -> None:
        """Called once the cancellation is saved: the manifest's amendment names the family as removed."""
        if not workflow.patched(BOOKING_CANCELLED_PATCH):
            return
        await self._publish_manifest(booking)

    async def issue_boarding_papers(self) -> None:
        """Called when every pre-embarkation check has passed, before the flight."""
        await self.booking_papers_issued()
        if not workflow.patched(CLEARED_PATCH):
            return
        # The last result's update may still be saving it: the certificates are made from what the store holds.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._document_call(DocumentActivities.issue_fitness_documents, self._case_call())

    def _case_call(self) -> CaseDocumentsCall:
        return CaseDocumentsCall(case_id=self.case.case_id, issued_at=self.now(),
                                 official_language=self.policy.official_language)

    async def _publish_manifest(self, booking: FlightBooking) -> None:
        call = ManifestCall(movement_id=movement_id(booking.flight_number, booking.departs_at.date()),
                            organisation_id=self.case.destination.receiving_organisation, issued_at=self.now(),
                            official_language=self.policy.official_language)
        await self._document_call(DocumentActivities.publish_manifest, call, MANIFEST_TIMEOUT)

    async def _document_call(self, activity: Callable[..., Awaitable[T]], arg: Any,
                             timeout: timedelta = CALL_TIMEOUT) -> T:
        self._in_flight += 1
        try:
            return await workflow.execute_activity_method(activity, arg, start_to_close_timeout=timeout,
                                                          retry_policy=PARTNER_RETRY)
        finally:
            self._in_flight -= 1
