"""A coordinator's charters: the flight as chartered, the proposal of which ready families go on it (and why each
other family stays behind), and the allocation the coordinator accepts, edited or not."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from api.cases.schemas import OPAQUE_ID, printable
from domain.planning import LeftOut

Text = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(printable)]


class CharterBody(BaseModel):
    flight_number: Annotated[str, Field(min_length=2, max_length=10, pattern=r"^[A-Za-z0-9]+$")]
    departs_at: AwareDatetime = Field(description="with its UTC offset; within two years from today")
    arrives_at: AwareDatetime = Field(description="with its UTC offset; within two days of the departure")
    origin: Text = Field(description="airport or city of departure")
    destination_country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]
    destination_city: Text
    seats: int = Field(le=1000, description="every seat of the aircraft, escorts' included")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "flight_number": "CH0412", "departs_at": "2027-02-14T22:00:00Z", "arrives_at": "2027-02-15T12:00:00Z",
        "origin": "NBO", "destination_country": "CA", "destination_city": "Winnipeg", "seats": 350}]})


class ProposalView(BaseModel):
    movement_id: str
    seats: int
    seats_taken: int = Field(description="before the proposal: families on board and their escorts")
    case_ids: list[str] = Field(description="proposed, most urgent first")
    seats_proposed: int
    left_out: list[LeftOut] = Field(description="each ready family of your office not proposed, and why")


CaseId = Annotated[str, Field(pattern=OPAQUE_ID)]


class AllocationBody(BaseModel):
    case_ids: list[CaseId] = Field(min_length=1, max_length=1000,
                                   description="the families to put on the charter, as proposed or edited")

    model_config = ConfigDict(json_schema_extra={"examples": [{"case_ids": ["case_8c1d0f3b2a9e4d71"]}]})


class NotTaken(BaseModel):
    case_id: str
    reason: str = Field(description="why the family's departure did not take the charter; opaque ids and dates only")


class AllocationView(BaseModel):
    movement_id: str
    accepted: list[str] = Field(description="families whose departure took the charter: their seats are held on "
                                            "the movement, and each books them with the travel partner")
    refused: list[NotTaken] = Field(default_factory=list, description="families whose departure did not take it")
