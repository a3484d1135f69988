"""What coordinators send and read about cases. Functional needs only: nothing here carries a diagnosis."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from domain.case import FunctionalNeed, Relationship, Sex
from domain.departure import Phase
from domain.steps import Step, StepState

OPAQUE_ID = r"^[A-Za-z0-9_.:\-]{1,64}$"


def printable(text: str) -> str:
    """Control characters have no place in a name or a reference, and PostgreSQL refuses NUL outright."""
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("control characters are not allowed")
    return text


def Text(min_length: int, max_length: int, **kw: Any) -> Any:  # noqa: N802 - reads as a type in annotations
    return Annotated[str, Field(min_length=min_length, max_length=max_length, **kw), AfterValidator(printable)]


def OptionalText(min_length: int, max_length: int, **kw: Any) -> Any:  # noqa: N802
    return Annotated[str | None, Field(min_length=min_length, max_length=max_length, **kw),
                     AfterValidator(lambda text: None if text is None else printable(text))]


CountryAlpha3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
CountryAlpha2 = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description="ISO 639-1 (or 639-3) code")]

PERSON_EXAMPLE = {
    "given_name": "Mariam", "family_name": "Haidari", "date_of_birth": "1986-03-14", "sex": "F", "nationality": "AFG",
    "languages": ["fa", "ps"], "relationship": "principal", "passport": None, "functional_needs": ["wheelchair"],
}
CASE_EXAMPLE = {
    "reference": "NBO-2026-0142",
    "medical_partner_id": "clinic_nairobi",
    "destination": {"country": "CA", "city": "Winnipeg", "receiving_organisation": "org_reception_mb"},
    "people": [PERSON_EXAMPLE, {**PERSON_EXAMPLE, "given_name": "Ahmad", "date_of_birth": "1983-11-02", "sex": "M",
                                "languages": ["fa"], "relationship": "spouse", "functional_needs": []}],
    "priority": 3,
    "approved_on": "2026-01-20",
}


class PassportIn(BaseModel):
    number: Text(3, 20)
    issuing_country: CountryAlpha3
    expires_on: date


class DestinationIn(BaseModel):
    country: CountryAlpha2
    city: Text(1, 100)
    receiving_organisation: Annotated[str, Field(pattern=OPAQUE_ID, description="opaque organisation id")]


class PersonIn(BaseModel):
    given_name: Text(1, 100)
    family_name: Text(1, 100)
    date_of_birth: date
    sex: Sex
    nationality: CountryAlpha3
    languages: list[Language] = Field(min_length=1, max_length=10, description="preferred first")
    relationship: Relationship
    passport: PassportIn | None = None
    functional_needs: list[FunctionalNeed] = Field(default_factory=list, max_length=len(FunctionalNeed))


class PersonUpdate(PersonIn):
    person_id: str | None = Field(default=None, pattern=OPAQUE_ID,
                                  description="keep an existing traveller's id; omit for someone new to the case")


class _CaseDetails(BaseModel):
    reference: Text(1, 40, description="the operating office's own file reference")
    medical_partner_id: str = Field(default="clinic_default", pattern=OPAQUE_ID, description="the clinic's org id")
    destination: DestinationIn
    priority: int = Field(default=3, ge=1, le=5, description="1 is most urgent")
    approved_on: date


def _check_people(people: list[PersonIn], info: ValidationInfo) -> None:
    """Mirrors domain.case.Case, so a bad family is a 422 on `body.people` rather than an error further in."""
    if sum(1 for person in people if person.relationship is Relationship.PRINCIPAL) != 1:
        raise ValueError("a case has exactly one principal applicant")
    approved_on = info.data.get("approved_on")
    if approved_on is not None and any(person.date_of_birth > approved_on for person in people):
        raise ValueError("a date of birth is after the approval date")


class CaseCreate(_CaseDetails):
    """A new case; its office is the caller's organisation, its ids are generated."""

    people: list[PersonIn] = Field(min_length=1, max_length=40)

    model_config = ConfigDict(json_schema_extra={"examples": [CASE_EXAMPLE]})

    @field_validator("people")
    @classmethod
    def _people(cls, people: list[PersonIn], info: ValidationInfo) -> list[PersonIn]:
        _check_people(people, info)
        return people


class CaseUpdate(_CaseDetails):
    """The whole case again: details and people. People sent without a person_id are added; people left out are
    removed from the case."""

    people: list[PersonUpdate] = Field(min_length=1, max_length=40)

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **CASE_EXAMPLE,
        "people": [{**CASE_EXAMPLE["people"][0], "person_id": "per_5be0c2a19d7e4f30"},  # type: ignore[index]
                   CASE_EXAMPLE["people"][1]],  # type: ignore[index]
    }]})

    @field_validator("people")
    @classmethod
    def _people(cls, people: list[PersonUpdate], info: ValidationInfo) -> list[PersonUpdate]:
        _check_people(list(people), info)
        ids = [person.person_id for person in people if person.person_id]
        if len(set(ids)) != len(ids):
            raise ValueError("a person_id appears twice")
        return people


# Responses repeat what the store holds without re-checking it: a case written by another path (a seed, a
# migration) must still be readable, not turned into a 500 by an input rule.

class PassportOut(BaseModel):
    number: str
    issuing_country: str
    expires_on: date


class DestinationOut(BaseModel):
    country: str
    city: str
    receiving_organisation: str


class PersonOut(BaseModel):
    person_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    nationality: str
    languages: list[str]
    relationship: Relationship
    passport: PassportOut | None = None
    functional_needs: list[FunctionalNeed]


class CaseOut(BaseModel):
    case_id: str
    reference: str
    office_id: str
    medical_partner_id: str
    destination: DestinationOut
    people: list[PersonOut]
    priority: int
    approved_on: date
    departure_phase: Phase | None = Field(description="absent until a departure is started and has reported")
    departure_reason: str | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "case_8c1d0f3b2a9e4d71", "office_id": "office_nairobi", **CASE_EXAMPLE,
        "people": [{**person, "person_id": f"per_5be0c2a19d7e4f3{n}"}  # type: ignore[dict-item]
                   for n, person in enumerate(CASE_EXAMPLE["people"])],  # type: ignore[arg-type]
        "departure_phase": "preparing", "departure_reason": None,
    }]})


class StepView(BaseModel):
    key: str = Field(description="`<step>` or `<step>:<person_id>`")
    step: Step
    person_id: str | None = None
    state: StepState
    attempt: int
    valid_from: date | None = None
    valid_until: date | None = None
    due_by: datetime | None = Field(default=None, description="deadline for whoever must act next")
    reason: str | None = Field(default=None, description="why it is blocked, refused or redone; never a diagnosis")
    updated_at: datetime | None = None


class BookingView(BaseModel):
    booking_ref: str
    flight_number: str
    departs_at: datetime
    arrives_at: datetime
    origin: str
    destination: str
    seats: int
    status: str = Field(description="booked or cancelled")


class Timeline(BaseModel):
    case_id: str
    phase: Phase | None = Field(description="absent until the departure has started and reported")
    reason: str | None = Field(default=None, description="why the departure is deferred, refused or cancelled")
    steps: list[StepView]
    blockers: list[str] = Field(description="`<step key>: <reason>` for every blocked or refused step")
    next_deadline: datetime | None = Field(description="the earliest due_by of a step waiting on someone")
    booking: BookingView | None = Field(description="the latest flight booking, if any")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "case_8c1d0f3b2a9e4d71",
        "phase": "preparing",
        "reason": None,
        "steps": [
            {"key": "exit_permit", "step": "exit_permit", "person_id": None, "state": "requested", "attempt": 1,
             "valid_from": None, "valid_until": None, "due_by": None, "reason": None,
             "updated_at": "2026-02-01T08:00:00Z"},
            {"key": "health_assessment:per_5be0c2a19d7e4f30", "step": "health_assessment",
             "person_id": "per_5be0c2a19d7e4f30", "state": "scheduled", "attempt": 1, "valid_from": None,
             "valid_until": None, "due_by": "2026-02-03T09:00:00Z", "reason": None,
             "updated_at": "2026-02-01T08:00:02Z"},
        ],
        "blockers": [],
        "next_deadline": "2026-02-03T09:00:00Z",
        "booking": None,
    }]})


class CaseSummary(BaseModel):
    case_id: str
    reference: str
    destination_country: str
    destination_city: str
    priority: int
    approved_on: date
    travellers: int
    phase: Phase | None
    reason: str | None = None
    blockers: list[str]
    next_deadline: datetime | None


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(default=None,
                                    description="pass as `cursor` for the next page; null on the last page")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{
            "case_id": "case_8c1d0f3b2a9e4d71", "reference": "NBO-2026-0142", "destination_country": "CA",
            "destination_city": "Winnipeg", "priority": 3, "approved_on": "2026-01-20", "travellers": 4,
            "phase": "preparing", "reason": None,
            "blockers": ["travel_document:per_5be0c2a19d7e4f30: passport photo page unreadable"],
            "next_deadline": "2026-02-03T09:00:00Z",
        }],
        "next_cursor": "WyIyMDI2LTAxLTIwVDA4OjAwOjAwKzAwOjAwIiwiY2FzZV84YzFkMGYzYjJhOWU0ZDcxIl0",
    }]})
