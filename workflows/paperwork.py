"""The papers a departure issues as it goes: the family's travel pack and itinerary once it holds seats, and the
fitness certificates and medical summary once everyone is cleared to board. The reception team's arrival manifest
is the movement's (workflows/movement.py): the family joins its flight's movement once booked, and leaves it when the
booking is given back.

Each call site is behind a patch of its own: departures that were running before papers existed replay their
histories without these calls, and issue papers from the next call site they reach on today's code. Departures
recorded before movements existed published the manifest themselves, and keep doing so on replay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

from workflows.base import DepartureBase

with workflow.unsafe.imports_passed_through():
    from activities.document_messages import CaseDocumentsCall, ManifestCall
    from activities.documents import DocumentActivities
    from activities.movements import (
        JoinMovementCall,
        LeaveMovementCall,
        MovementActivities,
    )
    from domain.case import FunctionalNeed
    from domain.documents import FlightLeg, movement_id
    from domain.movement import LeaveMovement, MovementInput, MovementKind, party_of
    from domain.partner_messages import FlightBooking
    from domain.steps import Step

MOVEMENTS_PATCH = "movements"
BOOKED_PATCH = "documents-booked"
BOOKING_CANCELLED_PATCH = "documents-booking-cancelled"
CLEARED_PATCH = "documents-cleared-to-board"
CANCELLED_CALL_PATCH = "movement-call-cancelled-with-attempt"
# A charter's manifest lists hundreds of travellers: rendering it takes longer than a partner call may.
MANIFEST_TIMEOUT = timedelta(minutes=2)


class Paperwork(DepartureBase):
    def __init__(self) -> None:
        super().__init__()
        self._booking_papers: list[asyncio.Task[None]] = []

    def issue_booking_papers(self, booking: FlightBooking) -> None:
        """Called once the booking is saved, so the travel pack and the roster both see it. The papers are made
        while the pre-embarkation checks go on: rendering must not eat into a close flight's checks."""
        if workflow.patched(MOVEMENTS_PATCH):
            self._booking_papers.append(asyncio.ensure_future(self._issue_booking_papers_and_join(booking)))
        elif workflow.patched(BOOKED_PATCH):
            self._booking_papers.append(asyncio.ensure_future(self._issue_booking_papers(booking)))

    async def booking_papers_issued(self) -> None:
        """Every booking's papers and manifest are stored: before the family flies, and before the run ends.
        Papers stopped along with the attempt that awaited them (a cancellation, a deferral) are not awaited
        again: that booking is being given back, and the error would end the run."""
        while self._booking_papers:
            papers = self._booking_papers[0]
            if not _stopped_with_its_attempt(papers):
                await papers
            self._booking_papers.pop(0)

    async def _issue_booking_papers(self, booking: FlightBooking) -> None:
        await self.call(DocumentActivities.issue_booking_documents, self._case_call())
        await self._publish_manifest(booking)

    async def _issue_booking_papers_and_join(self, booking: FlightBooking) -> None:
        await self._movement_call(MovementActivities.join_movement, self._join_call(booking))
        await self.call(DocumentActivities.issue_booking_documents, self._case_call())

    async def withdraw_from_manifest(self, booking: FlightBooking) -> None:
        """Called once the cancellation is saved, so the movement's amendment names the family as removed."""
        if workflow.patched(MOVEMENTS_PATCH):
            # The family's join goes first, or the movement would take it back on after it left.
            await workflow.wait_condition(lambda: all(task.done() for task in self._booking_papers))
            reason = self.record(Step.FLIGHT_BOOKING.value).reason or "booking given back"
            leave = LeaveMovement(case_id=self.case.case_id, reason=reason[:500])
            await self._movement_call(MovementActivities.leave_movement,
                                      LeaveMovementCall(movement_id=_movement_of(booking), leave=leave))
        elif workflow.patched(BOOKING_CANCELLED_PATCH):
            await self._publish_manifest(booking)

    async def leave_movement(self, movement: str, reason: str) -> None:
        """Seats a coordinator reserved on a charter for a family that will not take them after all."""
        leave = LeaveMovement(case_id=self.case.case_id, reason=reason[:500])
        await self._movement_call(MovementActivities.leave_movement,
                                  LeaveMovementCall(movement_id=movement, leave=leave))

    async def issue_boarding_papers(self) -> None:
        """Called when every pre-embarkation check has passed, before the flight."""
        await self.booking_papers_issued()
        if not workflow.patched(CLEARED_PATCH):
            return
        # The last result's update may still be saving it: the certificates are made from what the store holds.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.call(DocumentActivities.issue_fitness_documents, self._case_call())

    def _case_call(self) -> CaseDocumentsCall:
        return CaseDocumentsCall(case_id=self.case.case_id, issued_at=self.now(),
                                 official_language=self.policy.official_language)

    def _join_call(self, booking: FlightBooking) -> JoinMovementCall:
        """A booked flight is a scheduled one as far as the departure knows: a charter's movement is opened with
        its capacity by whoever charters it, and then this family joins that one."""
        flight = FlightLeg(flight_number=booking.flight_number, origin=booking.origin,
                           destination=booking.destination, departs_at=booking.departs_at,
                           arrives_at=booking.arrives_at)
        movement = MovementInput.under_policy(self.policy, movement_id=_movement_of(booking), flight=flight,
                                              kind=MovementKind.SCHEDULED,
                                              destination_country=self.case.destination.country)
        needs: dict[str, list[FunctionalNeed]] = {}
        for person in self.case.people:
            medical = self.state.medical.get(person.person_id)
            from_medical = medical.functional_needs() if medical else []
            needs[person.person_id] = sorted({*person.functional_needs, *from_medical})
        join = party_of(self.case.case_id, self.case.destination.receiving_organisation, booking.seats, needs)
        return JoinMovementCall(movement=movement, join=join)

    async def _movement_call(self, activity: Callable[..., Awaitable[None]], arg: Any) -> None:
        """The booking stands whatever the movement says: a closed movement is the coordinator's to sort out.
        A call cancelled with the attempt (a coordinator's cancellation or deferral) is not a failure to shrug
        off: swallowed, the attempt carried on to wait for every handler, the cancelling one included, which
        waited for the attempt to end."""
        try:
            await self.call(activity, arg)
        except ActivityError as error:
            if isinstance(error.cause, CancelledError) and workflow.patched(CANCELLED_CALL_PATCH):
                raise
            workflow.logger.warning("case %s: movement call failed: %s", self.case.case_id, error.cause)

    async def _publish_manifest(self, booking: FlightBooking) -> None:
        call = ManifestCall(movement_id=_movement_of(booking),
                            organisation_id=self.case.destination.receiving_organisation, issued_at=self.now(),
                            official_language=self.policy.official_language)
        await self.call(DocumentActivities.publish_manifest, call, MANIFEST_TIMEOUT)


def _stopped_with_its_attempt(papers: asyncio.Task[None]) -> bool:
    if not papers.done():
        return False
    if papers.cancelled():
        return True
    error = papers.exception()
    return isinstance(error, ActivityError) and isinstance(error.cause, CancelledError)


def _movement_of(booking: FlightBooking) -> str:
    return movement_id(booking.flight_number, booking.departs_at.date())
