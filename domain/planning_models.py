"""What charter planning works on: the cases ready to fly, the charters, and the proposal a coordinator reviews."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, computed_field, field_validator, model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from domain.documents import movement_id
from domain.steps import Step


class PlanningError(ValueError):
    """Bad planning input: `field` says where (dotted, as in a request body), `message` which rule it broke.
    Raised before anything is decided, so nothing has changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# A dataclass, not a model, as `LeftOut` below: an operation's ready cases carry hundreds of thousands of these,
# and planning reads every one; a model's per-instance dictionary and set of fields given tripled the memory that
# reading walks through. Pydantic still validates, serialises and describes it inside a `ReadyCase`.
@dataclass(frozen=True, slots=True)
class MemberWindow:
    """One validity the flight date must fall inside: a step of one traveller, or of the whole case."""

    step: Step
    person_id: Annotated[str | None, Field(description="None for a step of the whole case (exit permit)")] = None
    valid_from: date | None = None
    valid_until: date | None = None

    def __post_init__(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until)


def country_code(country: str) -> str:
    """Upper case, and one string object for every case and charter of a country: planning reads it for each."""
    return sys.intern(country.upper())


# A validated dataclass with slots, not a model, for the same reason: a model's dictionary and set of fields given
# were most of the memory a plan of 20,000 families walks through.
@pydantic_dataclass(frozen=True, slots=True)
class ReadyCase:
    """A family whose preparation is done and who waits for a seat. A family never travels split."""

    case_id: str
    seats: Annotated[int, Field(ge=1, description="the family's size: every member flies on the same charter")]
    ready_since: Annotated[date, Field(description="waiting for a flight since")]
    destination_country: Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")]
    receiving_organisation: str
    priority: Annotated[int, Field(ge=1, le=5, description="1 is most urgent")] = 3
    windows: Annotated[tuple[MemberWindow, ...], Field(description="of every member, every bounding step")] = ()
    not_before: Annotated[date | None, Field(description="a coordinator's deferral: no flight before")] = None
    booked_on: Annotated[str | None, Field(description="the movement the case already holds seats on")] = None

    @field_validator("destination_country")
    @classmethod
    def upper_country(cls, country: str) -> str:
        return country_code(country)


class Charter(BaseModel):
    """One flight chartered for many families, to one destination country."""

    flight_number: str = Field(min_length=2, max_length=10)
    departs_on: date
    arrives_on: date
    destination_country: str = Field(min_length=2, max_length=2)
    seats: int = Field(ge=1)
    seats_taken: int = Field(default=0, ge=0, description="by the families already on board")
    on_board: list[str] = Field(default_factory=list, description="case ids already holding seats")

    @field_validator("destination_country")
    @classmethod
    def upper_country(cls, country: str) -> str:
        return country_code(country)

    @model_validator(mode="after")
    def consistent(self) -> Charter:
        if self.arrives_on < self.departs_on:
            raise ValueError("arrives_on is before departs_on")
        if self.seats_taken > self.seats:
            raise ValueError("seats_taken is more than the charter's seats")
        if len(self.on_board) > self.seats_taken:
            raise ValueError("every family on board takes at least one seat")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def movement_id(self) -> str:
        return movement_id(self.flight_number, self.departs_on)

    @property
    def seats_left(self) -> int:
        return self.seats - self.seats_taken


class LeftOutReason(StrEnum):
    ALREADY_BOOKED = "already_booked"  # holds seats on a flight already
    OTHER_DESTINATION = "other_destination"  # no charter of the plan goes where the family goes
    DEFERRED = "deferred"  # a coordinator deferred it past every charter
    NOTICE_TOO_SHORT = "notice_too_short"  # the reception team would hear too late of every arrival it could take
    WINDOW_CLOSED = "window_closed"  # a validity window of a member is closed on every flight left
    NO_SEATS = "no_seats"  # every charter it could take has fewer seats left than the family needs


# A dataclass, not a model: a plan of 20,000 families makes thousands of these, and a model's own bookkeeping (the
# set of fields given, for each one) weighed more than all the rest of the plan. Pydantic still validates,
# serialises and describes it inside a `Proposal`.
@dataclass(slots=True)
class LeftOut:
    """Why a ready case is not on the proposal; the fields that apply to its reason are set, the others None."""

    case_id: str
    reason: LeftOutReason
    message: Annotated[str, Field(description="for the coordinator; opaque ids and dates only")]
    movement_id: Annotated[str | None, Field(description="already_booked: its flight; notice_too_short, deferred, "
                                                         "window_closed: the flight the rule was checked on")] = None
    flight_date: Annotated[date | None, Field(description="that flight's departure")] = None
    destination_country: str | None = None
    not_before: date | None = None
    needs_working_days: int | None = None
    has_working_days: Annotated[int | None, Field(description="the most notice any flight it could take gives")] = None
    step: Step | None = None
    person_id: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    family_size: int | None = None
    most_seats_left: Annotated[int | None, Field(description="on any charter it could otherwise take, in the plan "
                                                             "as made")] = None

    def as_dict(self) -> dict[str, object]:
        """The fields that apply to its reason."""
        return {name: value for name, value in asdict(self).items() if value is not None}


class CharterSelection(BaseModel):
    """The families put on one charter, in boarding-list order: what a coordinator accepts, edited or not."""

    movement_id: str
    case_ids: list[str] = Field(default_factory=list)


class CharterPlan(BaseModel):
    movement_id: str
    flight_number: str
    departs_on: date
    arrives_on: date
    destination_country: str
    seats: int
    seats_taken: int = Field(description="before the proposal")
    case_ids: list[str] = Field(default_factory=list, description="proposed, most urgent first")
    seats_proposed: int = 0

    @property
    def seats_left(self) -> int:
        return self.seats - self.seats_taken - self.seats_proposed


class Proposal(BaseModel):
    today: date
    charters: list[CharterPlan] = Field(description="in departure order")
    left_out: list[LeftOut] = Field(description="most urgent first")

    def placement(self) -> dict[str, str]:
        """case_id -> movement_id of every proposed case."""
        return {case_id: plan.movement_id for plan in self.charters for case_id in plan.case_ids}

    def selection(self) -> list[CharterSelection]:
        """The proposal as a coordinator would accept it unchanged."""
        return [CharterSelection(movement_id=p.movement_id, case_ids=list(p.case_ids)) for p in self.charters]
