"""What we ask partners and what they answer. Identical for simulators and real (network) adapters."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.case import FunctionalNeed


class DecisionStatus(StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    REFUSED = "refused"


class PartnerAck(BaseModel):
    """A partner accepted a request it will answer later; `reference` is its own file number."""

    reference: str
    received_at: datetime


class Decision(BaseModel):
    """An asynchronous answer: an exit permit or travel document issued or refused, or still pending."""

    reference: str
    status: DecisionStatus
    valid_from: date | None = None
    valid_until: date | None = None
    document_number: str | None = None
    reason: str | None = None
    decided_at: datetime | None = None


class TravellerRef(BaseModel):
    """The personal data a partner needs to act for one traveller; sent only to partners that need it."""

    person_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    nationality: str
    functional_needs: list[FunctionalNeed] = Field(default_factory=list)


class ExitPermitRequest(BaseModel):
    case_id: str
    travellers: list[TravellerRef]
    destination_country: str
    requested_at: datetime


class TravelDocumentRequest(BaseModel):
    case_id: str
    traveller: TravellerRef
    kind: str  # emergency_travel_document | boarding_letter
    destination_country: str
    requested_at: datetime
    valid_for_days: int | None = Field(
        default=None, ge=1, description="validity the destination requires (boarding letters); else the issuer's own"
    )


class AppointmentKind(StrEnum):
    HEALTH_ASSESSMENT = "health_assessment"
    PRE_DEPARTURE_SCREENING = "pre_departure_screening"
    FITNESS_TO_TRAVEL = "fitness_to_travel"


class AppointmentRequest(BaseModel):
    case_id: str
    person_id: str
    kind: AppointmentKind
    clinic_id: str
    not_before: datetime
    deadline: datetime | None = None


class Appointment(BaseModel):
    appointment_id: str
    person_id: str
    kind: AppointmentKind
    clinic_id: str
    at: datetime


class SeatRequest(BaseModel):
    case_id: str
    language: str
    seats: int = Field(ge=1)
    not_before: datetime
    latest: date | None = None


class SeatReservation(BaseModel):
    reservation_id: str
    session_id: str
    language: str
    seats: int
    starts_at: datetime
    ends_at: datetime


class Attendance(BaseModel):
    reservation_id: str
    attended: bool | None  # None while the session has not ended
    completed_on: date | None = None


class CharterFlight(BaseModel):
    """A flight chartered for many families. The travel partner seats the family on exactly this flight instead
    of choosing a scheduled one; the movement, not the partner, counts the charter's seats."""

    flight_number: str = Field(min_length=2, max_length=10)
    departs_at: datetime
    arrives_at: datetime
    origin: str = Field(min_length=1, max_length=64)


class FlightRequest(BaseModel):
    case_id: str
    travellers: list[TravellerRef]
    destination_country: str
    destination_city: str
    earliest: date
    latest: date | None = None
    requested_at: datetime  # the partner's "now": flights it offers depart after this
    charter: CharterFlight | None = Field(
        default=None, description="book on this chartered flight, whose date must lie in earliest..latest; "
                                  "None: any scheduled flight in that window")


class FlightBooking(BaseModel):
    booking_ref: str
    flight_number: str
    departs_at: datetime
    arrives_at: datetime
    origin: str
    destination: str
    seats: int
    special_service_requests: list[str] = Field(default_factory=list)


class FlightStatus(BaseModel):
    booking_ref: str
    departed: bool
    departed_at: datetime | None = None
