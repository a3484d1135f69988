"""The departure: its input, the messages it takes, and the state it reports."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.audit import AuditEvent
from domain.medical import MedicalFile
from domain.partner_messages import Decision, FlightBooking
from domain.policy import DestinationPolicy
from domain.steps import StepRecord, StepState


def departure_workflow_id(case_id: str) -> str:
    """Derived from the case's opaque id only, so the id reveals nobody."""
    return f"departure-{case_id}"


class Phase(StrEnum):
    PREPARING = "preparing"  # permits, documents, medicals, orientation
    BOOKING = "booking"
    AWAITING_FLIGHT = "awaiting_flight"  # booked; screening and fitness checks before it
    DEFERRED = "deferred"
    DEPARTED = "departed"
    CANCELLED = "cancelled"
    REFUSED = "refused"  # a partner's final no (exit permit or travel document refused)


TERMINAL_PHASES = frozenset({Phase.DEPARTED, Phase.CANCELLED, Phase.REFUSED})


class Deferral(BaseModel):
    at: datetime
    not_before: date
    reason: str
    by: str


class DepartureState(BaseModel):
    case_id: str
    phase: Phase = Phase.PREPARING
    steps: dict[str, StepRecord] = Field(default_factory=dict)
    medical: dict[str, MedicalFile] = Field(default_factory=dict, description="medical roles only")
    booking: FlightBooking | None = None
    booking_attempt: int = 0
    not_before: date | None = Field(default=None, description="the earliest date a coordinator allows")
    deferrals: list[Deferral] = Field(default_factory=list)
    reason: str | None = None
    departed_at: datetime | None = None
    runs: int = Field(default=1, description="how many workflow runs (continue-as-new) this departure has used")
    callbacks: dict[str, Decision] = Field(default_factory=dict, description="partner answers not yet consumed")
    answered: list[str] = Field(default_factory=list, description="references whose answer was already used")
    open_booking_attempt: int | None = Field(default=None, description="a booking that may exist at the partner")
    open_seat_attempt: int | None = Field(default=None, description="an orientation seat that may be held")
    events_recorded: int = Field(default=0, description="sequence for audit event keys, stable across retries")

    @property
    def is_terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES

    def blockers(self) -> list[str]:
        return [
            f"{r.key}: {r.reason}" if r.reason else r.key
            for r in self.steps.values()
            if r.state in (StepState.BLOCKED, StepState.REFUSED)
        ]

    def next_deadline(self) -> datetime | None:
        deadlines = [
            r.due_by
            for r in self.steps.values()
            if r.due_by and r.state in (StepState.REQUESTED, StepState.SCHEDULED, StepState.BLOCKED)
        ]
        return min(deadlines, default=None)

    def without_medical_details(self) -> DepartureState:
        """The view for everyone but medical roles: step states stay, diagnoses and test results go."""
        return self.model_copy(update={"medical": {}})


class DepartureInput(BaseModel):
    case_id: str
    policy: DestinationPolicy
    clinic_id: str = "clinic_default"
    history_limit: int = Field(default=2000, ge=100, description="events before the run continues as new")
    state: DepartureState | None = Field(default=None, description="carried over by continue-as-new")


class DeferRequest(BaseModel):
    not_before: date
    reason: str = Field(min_length=1, max_length=500)
    requested_by: str = Field(min_length=1, max_length=64)


class CancelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    requested_by: str = Field(min_length=1, max_length=64)


class PartnerDecision(BaseModel):
    """A partner's asynchronous answer delivered by callback (signal) instead of polling."""

    reference: str
    decision: Decision





class BookingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class BookingRecord(BaseModel):
    attempt: int
    idempotency_key: str
    status: BookingStatus
    booking: FlightBooking


class ProgressUpdate(BaseModel):
    """What a departure writes to the store after a change; applied as one idempotent upsert."""

    case_id: str
    phase: Phase
    reason: str | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    medical: list[MedicalFile] = Field(default_factory=list)
    bookings: list[BookingRecord] = Field(default_factory=list)
    audit: list[AuditEvent] = Field(default_factory=list)
    # How far along the departure was when it saved (its audit events so far); None: apply unconditionally.
    sequence: int | None = None
