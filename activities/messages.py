"""One input model per partner activity. They carry opaque ids and dates only: the activity loads the personal
data a partner needs from the store, so names never enter a workflow's inputs."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from domain.partner_messages import AppointmentKind


class ExitPermitCall(BaseModel):
    case_id: str
    attempt: int
    requested_at: datetime


class TravelDocumentCall(BaseModel):
    case_id: str
    person_id: str
    kind: str
    attempt: int
    requested_at: datetime
    valid_for_days: int | None = None  # e.g. a US boarding letter is valid one year


class StatusCall(BaseModel):
    """Ask a partner about an earlier request; `as_of` is workflow time."""

    reference: str
    as_of: datetime


class AppointmentCall(BaseModel):
    case_id: str
    person_id: str
    kind: AppointmentKind
    clinic_id: str
    attempt: int
    not_before: datetime
    deadline: datetime | None = None


class SeatCall(BaseModel):
    case_id: str
    attempt: int
    not_before: datetime
    latest: date | None = None


class FlightCall(BaseModel):
    case_id: str
    attempt: int
    earliest: date
    latest: date | None
    requested_at: datetime


class Compensation(BaseModel):
    """Undo a side effect by the business key it was made under, even if its answer never reached us."""

    case_id: str
    attempt: int
    person_id: str | None = None
    kind: AppointmentKind | None = None


def exit_permit_key(case_id: str, attempt: int) -> str:
    return f"{case_id}-exit-permit-{attempt}"


def travel_document_key(case_id: str, person_id: str, attempt: int) -> str:
    return f"{case_id}-{person_id}-travel-document-{attempt}"


def appointment_key(case_id: str, person_id: str, kind: AppointmentKind, attempt: int) -> str:
    return f"{case_id}-{person_id}-{kind.value}-{attempt}"


def orientation_key(case_id: str, attempt: int) -> str:
    return f"{case_id}-orientation-{attempt}"


def flight_key(case_id: str, attempt: int) -> str:
    return f"{case_id}-flight-{attempt}"
