"""Thin, idempotent wrappers around the partner adapters. Business rejections become non-retryable errors
naming the partner's reason; unavailability is retried by Temporal with backoff."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import messages as m
from domain.case import Case
from domain.partner_messages import (
    Appointment,
    AppointmentRequest,
    Attendance,
    CharterFlight,
    Decision,
    ExitPermitRequest,
    FlightBooking,
    FlightRequest,
    FlightStatus,
    PartnerAck,
    SeatRequest,
    SeatReservation,
    TravelDocumentRequest,
    TravellerRef,
)
from partners.base import Partners
from partners.errors import PartnerRejected, PartnerUnavailable

if TYPE_CHECKING:
    from store.repository import Store

T = TypeVar("T")
PARTNER_REJECTED = "PartnerRejected"


async def _partner_call(call: Awaitable[T]) -> T:
    try:
        return await call
    except PartnerRejected as rejected:
        raise ApplicationError(
            rejected.reason, rejected.code, type=PARTNER_REJECTED, non_retryable=True
        ) from rejected
    except PartnerUnavailable as unavailable:
        delay = unavailable.retry_after_seconds
        raise ApplicationError(
            str(unavailable),
            type="PartnerUnavailable",
            next_retry_delay=timedelta(seconds=delay) if delay else None,
        ) from unavailable


def _traveller(case: Case, person_id: str) -> TravellerRef:
    person = case.person(person_id)
    if person is None:
        raise ApplicationError(f"person {person_id} is not in case {case.case_id}", type="UnknownPerson",
                               non_retryable=True)
    return TravellerRef(
        person_id=person.person_id,
        given_name=person.given_name,
        family_name=person.family_name,
        date_of_birth=person.date_of_birth,
        nationality=person.nationality,
        functional_needs=person.functional_needs,
    )


class BookingCall(m.FlightCall):
    """A booking request, on a chartered flight when the departure was allocated one. A plain `FlightCall` (what
    histories recorded before charters hold) reads as one with no charter."""

    charter: CharterFlight | None = None


class PartnerActivities:
    def __init__(self, partners: Partners, store: Store) -> None:
        self._partners = partners
        self._store = store

    async def _case(self, case_id: str) -> Case:
        case = await self._store.load_case(case_id)
        if case is None:
            raise ApplicationError(f"case {case_id} not found", type="CaseNotFound", non_retryable=True)
        return case

    @activity.defn
    async def request_exit_permit(self, call: m.ExitPermitCall) -> PartnerAck:
        case = await self._case(call.case_id)
        request = ExitPermitRequest(
            case_id=case.case_id,
            travellers=[_traveller(case, p.person_id) for p in case.people],
            destination_country=case.destination.country,
            requested_at=call.requested_at,
        )
        key = m.exit_permit_key(call.case_id, call.attempt)
        return await _partner_call(self._partners.exit_permits.request_exit_permit(request, key))

    @activity.defn
    async def check_exit_permit(self, call: m.StatusCall) -> Decision:
        return await _partner_call(self._partners.exit_permits.exit_permit_status(call.reference, call.as_of))

    @activity.defn
    async def request_travel_document(self, call: m.TravelDocumentCall) -> PartnerAck:
        case = await self._case(call.case_id)
        request = TravelDocumentRequest(
            case_id=case.case_id,
            traveller=_traveller(case, call.person_id),
            kind=call.kind,
            destination_country=case.destination.country,
            requested_at=call.requested_at,
            valid_for_days=call.valid_for_days,
        )
        key = m.travel_document_key(call.case_id, call.person_id, call.attempt)
        return await _partner_call(self._partners.travel_documents.request_travel_document(request, key))

    @activity.defn
    async def check_travel_document(self, call: m.StatusCall) -> Decision:
        return await _partner_call(self._partners.travel_documents.travel_document_status(call.reference, call.as_of))

    @activity.defn
    async def schedule_appointment(self, call: m.AppointmentCall) -> Appointment:
        request = AppointmentRequest(
            case_id=call.case_id,
            person_id=call.person_id,
            kind=call.kind,
            clinic_id=call.clinic_id,
            not_before=call.not_before,
            deadline=call.deadline,
        )
        key = m.appointment_key(call.case_id, call.person_id, call.kind, call.attempt)
        return await _partner_call(self._partners.medical.schedule_appointment(request, key))

    @activity.defn
    async def cancel_appointment(self, undo: m.Compensation) -> None:
        assert undo.person_id is not None and undo.kind is not None
        key = m.appointment_key(undo.case_id, undo.person_id, undo.kind, undo.attempt)
        await _partner_call(self._partners.medical.cancel_appointment(key))

    @activity.defn
    async def reserve_orientation_seat(self, call: m.SeatCall) -> SeatReservation:
        case = await self._case(call.case_id)
        request = SeatRequest(
            case_id=case.case_id,
            language=case.orientation_language(),
            seats=len(case.people),
            not_before=call.not_before,
            latest=call.latest,
        )
        key = m.orientation_key(call.case_id, call.attempt)
        return await _partner_call(self._partners.orientation.reserve_seat(request, key))

    @activity.defn
    async def release_orientation_seat(self, undo: m.Compensation) -> None:
        await _partner_call(self._partners.orientation.release_seat(m.orientation_key(undo.case_id, undo.attempt)))

    @activity.defn
    async def check_orientation_attendance(self, call: m.StatusCall) -> Attendance:
        return await _partner_call(self._partners.orientation.attendance(call.reference, call.as_of))

    @activity.defn
    async def book_flight(self, call: BookingCall) -> FlightBooking:
        case = await self._case(call.case_id)
        request = FlightRequest(
            case_id=case.case_id,
            travellers=[_traveller(case, p.person_id) for p in case.people],
            destination_country=case.destination.country,
            destination_city=case.destination.city,
            earliest=call.earliest,
            latest=call.latest,
            requested_at=call.requested_at,
            charter=call.charter,
        )
        return await _partner_call(self._partners.travel.book_flight(request, m.flight_key(call.case_id, call.attempt)))

    @activity.defn
    async def cancel_flight(self, undo: m.Compensation) -> None:
        await _partner_call(self._partners.travel.cancel_booking(m.flight_key(undo.case_id, undo.attempt)))

    @activity.defn
    async def check_flight(self, call: m.StatusCall) -> FlightStatus:
        return await _partner_call(self._partners.travel.flight_status(call.reference, call.as_of))
