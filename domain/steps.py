"""The steps of a departure and the state each is in."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Step(StrEnum):
    EXIT_PERMIT = "exit_permit"
    TRAVEL_DOCUMENT = "travel_document"
    HEALTH_ASSESSMENT = "health_assessment"
    PRE_DEPARTURE_SCREENING = "pre_departure_screening"
    ORIENTATION = "orientation"
    FLIGHT_BOOKING = "flight_booking"
    FITNESS_TO_TRAVEL = "fitness_to_travel"
    DEPARTURE = "departure"


PER_PERSON_STEPS = frozenset(
    {Step.TRAVEL_DOCUMENT, Step.HEALTH_ASSESSMENT, Step.PRE_DEPARTURE_SCREENING, Step.FITNESS_TO_TRAVEL}
)
MEDICAL_STEPS = frozenset({Step.HEALTH_ASSESSMENT, Step.PRE_DEPARTURE_SCREENING, Step.FITNESS_TO_TRAVEL})


class StepState(StrEnum):
    NOT_STARTED = "not_started"
    REQUESTED = "requested"  # asked of a partner, waiting for its answer
    SCHEDULED = "scheduled"  # an appointment or a seat exists, waiting for the result
    BLOCKED = "blocked"  # the partner answered, but the departure cannot go on until something changes
    DONE = "done"
    EXPIRED = "expired"  # was done, but its validity no longer covers the planned departure
    REFUSED = "refused"
    CANCELLED = "cancelled"
    NOT_REQUIRED = "not_required"


OPEN_FOR_RESULTS = frozenset({StepState.SCHEDULED, StepState.BLOCKED})


def step_key(step: Step, person_id: str | None = None) -> str:
    return f"{step.value}:{person_id}" if person_id else step.value


class StepRecord(BaseModel):
    step: Step
    person_id: str | None = None
    state: StepState = StepState.NOT_STARTED
    attempt: int = Field(default=1, ge=1, description="bumped each time the step is redone")
    reference: str | None = Field(
        default=None, description="the partner's reference for our request: what its callbacks name"
    )
    document_number: str | None = Field(default=None, description="what the partner issued: permit or document no.")
    valid_from: date | None = None
    valid_until: date | None = None
    due_by: datetime | None = Field(default=None, description="the deadline for whoever must act next")
    reason: str | None = Field(default=None, description="why it is blocked, refused or redone; never a diagnosis")
    updated_at: datetime | None = None

    @property
    def key(self) -> str:
        return step_key(self.step, self.person_id)

    def covers(self, day: date) -> bool:
        return (
            self.state is StepState.DONE
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )
