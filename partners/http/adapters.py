"""One adapter per partner role (the Protocols of partners/base.py) over the published contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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
from partners.contract.routes import Cancellation, operation
from partners.errors import PartnerUnavailable
from partners.http.client import PartnerHttpClient

M = TypeVar("M", bound=BaseModel)


class _Adapter:
    role: str

    def __init__(self, client: PartnerHttpClient) -> None:
        self.client = client

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _send(self, name: str, answer: type[M], **call: Any) -> M:
        body = await self.client.call(operation(self.role, name), **call)
        try:
            return answer.model_validate(body)
        except ValidationError as error:
            # The partner acted or will: asking again with the same key gets a readable copy of the first answer.
            raise PartnerUnavailable(self.role, f"{name}: answer does not follow the contract "
                                                f"({error.error_count()} errors)") from error

    async def _cancel(self, name: str, request_key: str) -> None:
        await self.client.call(operation(self.role, name), body=Cancellation(request_key=request_key),
                               key=f"{request_key}:cancel")


class HttpExitPermitAuthority(_Adapter):
    role = "exit_permits"

    async def request_exit_permit(self, request: ExitPermitRequest, idempotency_key: str) -> PartnerAck:
        return await self._send("request_exit_permit", PartnerAck, body=request, key=idempotency_key)

    async def exit_permit_status(self, reference: str, as_of: datetime) -> Decision:
        return await self._send("exit_permit_status", Decision, reference=reference, as_of=as_of)


class HttpTravelDocumentIssuer(_Adapter):
    role = "travel_documents"

    async def request_travel_document(self, request: TravelDocumentRequest, idempotency_key: str) -> PartnerAck:
        return await self._send("request_travel_document", PartnerAck, body=request, key=idempotency_key)

    async def travel_document_status(self, reference: str, as_of: datetime) -> Decision:
        return await self._send("travel_document_status", Decision, reference=reference, as_of=as_of)


class HttpMedicalPartner(_Adapter):
    role = "medical"

    async def schedule_appointment(self, request: AppointmentRequest, idempotency_key: str) -> Appointment:
        return await self._send("schedule_appointment", Appointment, body=request, key=idempotency_key)

    async def cancel_appointment(self, idempotency_key: str) -> None:
        await self._cancel("cancel_appointment", idempotency_key)


class HttpOrientationPartner(_Adapter):
    role = "orientation"

    async def reserve_seat(self, request: SeatRequest, idempotency_key: str) -> SeatReservation:
        return await self._send("reserve_seat", SeatReservation, body=request, key=idempotency_key)

    async def release_seat(self, idempotency_key: str) -> None:
        await self._cancel("release_seat", idempotency_key)

    async def attendance(self, reservation_id: str, as_of: datetime) -> Attendance:
        return await self._send("attendance", Attendance, reference=reservation_id, as_of=as_of)


class HttpTravelPartner(_Adapter):
    role = "travel"

    async def book_flight(self, request: FlightRequest, idempotency_key: str) -> FlightBooking:
        return await self._send("book_flight", FlightBooking, body=request, key=idempotency_key)

    async def cancel_booking(self, idempotency_key: str) -> None:
        await self._cancel("cancel_booking", idempotency_key)

    async def flight_status(self, booking_ref: str, as_of: datetime) -> FlightStatus:
        return await self._send("flight_status", FlightStatus, reference=booking_ref, as_of=as_of)


ADAPTERS: dict[str, type[_Adapter]] = {
    adapter.role: adapter
    for adapter in (HttpExitPermitAuthority, HttpTravelDocumentIssuer, HttpMedicalPartner, HttpOrientationPartner,
                    HttpTravelPartner)
}
