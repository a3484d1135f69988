"""One interface per partner role. Every side-effecting call carries an idempotency key built from business
keys (`f"{case_id}-flight-{attempt}"`); a partner that sees the key again returns its first answer."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.partner_messages import (
    Appointment,
    AppointmentRequest,
    Attendance,
    Decision,
    ExitPermitRequest,
    FlightBooking,
    FlightRequest,
    FlightStatus,
    PartnerAck,
    SeatRequest,
    SeatReservation,
    TravelDocumentRequest,
)


class ExitPermitAuthority(Protocol):
    async def request_exit_permit(self, request: ExitPermitRequest, idempotency_key: str) -> PartnerAck: ...

    async def exit_permit_status(self, reference: str, as_of: datetime) -> Decision: ...


class TravelDocumentIssuer(Protocol):
    async def request_travel_document(self, request: TravelDocumentRequest, idempotency_key: str) -> PartnerAck: ...

    async def travel_document_status(self, reference: str, as_of: datetime) -> Decision: ...


class MedicalPartner(Protocol):
    """Scheduling only: results come back from clinicians through the departure's Updates."""

    async def schedule_appointment(self, request: AppointmentRequest, idempotency_key: str) -> Appointment: ...

    async def cancel_appointment(self, idempotency_key: str) -> None: ...


class OrientationPartner(Protocol):
    async def reserve_seat(self, request: SeatRequest, idempotency_key: str) -> SeatReservation: ...

    async def release_seat(self, idempotency_key: str) -> None: ...

    async def attendance(self, reservation_id: str, as_of: datetime) -> Attendance: ...


class TravelPartner(Protocol):
    async def book_flight(self, request: FlightRequest, idempotency_key: str) -> FlightBooking: ...

    async def cancel_booking(self, idempotency_key: str) -> None: ...

    async def flight_status(self, booking_ref: str, as_of: datetime) -> FlightStatus: ...


class Partners(Protocol):
    exit_permits: ExitPermitAuthority
    travel_documents: TravelDocumentIssuer
    medical: MedicalPartner
    orientation: OrientationPartner
    travel: TravelPartner
