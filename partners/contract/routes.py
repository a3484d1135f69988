"""Every request we send a partner, one row per Protocol method of partners/base.py.

Wire rules the rows share: side-effecting requests carry `Idempotency-Key` (a repeat gets the first answer);
cancellations name the key of the request they undo in the body, never in the URL; URLs carry only the
partner's own references; personal data travels in bodies."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

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

IDEMPOTENCY_KEY = "Idempotency-Key"
SIGNATURE_HEADER = "X-Partner-Signature"
KEY_PATTERN = r"^[A-Za-z0-9._:\-]{1,200}$"


class Cancellation(BaseModel):
    """Undo an earlier request. Cancelling twice, or cancelling what never arrived, is not an error."""

    request_key: str = Field(pattern=KEY_PATTERN, description="the Idempotency-Key of the request to undo")


@dataclass(frozen=True)
class Operation:
    role: str  # a field of partners.base.Partners
    name: str  # the Protocol method
    method: str  # HTTP
    path: str  # with at most one {reference}-like parameter: the partner's own reference
    request: type[BaseModel] | None
    response: type[BaseModel] | None  # None: 204
    status: int
    summary: str

    @property
    def side_effect(self) -> bool:
        return self.method != "GET"

    @property
    def operation_id(self) -> str:
        return f"{self.role}.{self.name}"

    @property
    def path_parameter(self) -> str | None:
        if "{" not in self.path:
            return None
        return self.path.split("{", 1)[1].split("}", 1)[0]

    def url(self, reference: str | None = None) -> str:
        parameter = self.path_parameter
        return self.path if parameter is None else self.path.replace(f"{{{parameter}}}", reference or "")


def _op(role: str, name: str, method: str, path: str, request: type[BaseModel] | None,
        response: type[BaseModel] | None, status: int, summary: str) -> Operation:
    return Operation(role, name, method, path, request, response, status, summary)


OPERATIONS: tuple[Operation, ...] = (
    _op("exit_permits", "request_exit_permit", "POST", "/exit-permits", ExitPermitRequest, PartnerAck, 202,
        "Ask for an exit permit for a family; the decision follows by callback (and status reads)"),
    _op("exit_permits", "exit_permit_status", "GET", "/exit-permits/{reference}", None, Decision, 200,
        "The decision on a permit request, as of a moment"),
    _op("travel_documents", "request_travel_document", "POST", "/travel-documents", TravelDocumentRequest,
        PartnerAck, 202, "Ask for an emergency travel document or boarding letter for one traveller"),
    _op("travel_documents", "travel_document_status", "GET", "/travel-documents/{reference}", None, Decision, 200,
        "The decision on a travel document request, as of a moment"),
    _op("medical", "schedule_appointment", "POST", "/appointments", AppointmentRequest, Appointment, 201,
        "Book a clinic appointment for one person"),
    _op("medical", "cancel_appointment", "POST", "/appointments/cancellations", Cancellation, None, 204,
        "Give an appointment back"),
    _op("orientation", "reserve_seat", "POST", "/orientation/reservations", SeatRequest, SeatReservation, 201,
        "Seat a whole family in one orientation session in its language"),
    _op("orientation", "release_seat", "POST", "/orientation/releases", Cancellation, None, 204,
        "Give a family's orientation seats back"),
    _op("orientation", "attendance", "GET", "/orientation/reservations/{reservation_id}/attendance", None,
        Attendance, 200, "Whether the family attended, once the session has ended"),
    _op("travel", "book_flight", "POST", "/bookings", FlightRequest, FlightBooking, 201,
        "Book a whole family on one flight (a chartered one when named)"),
    _op("travel", "cancel_booking", "POST", "/bookings/cancellations", Cancellation, None, 204,
        "Cancel a booking"),
    _op("travel", "flight_status", "GET", "/bookings/{booking_ref}", None, FlightStatus, 200,
        "Whether the booked flight has departed"),
)


def operation(role: str, name: str) -> Operation:
    for candidate in OPERATIONS:
        if candidate.role == role and candidate.name == name:
            return candidate
    raise KeyError(f"{role}.{name}")
