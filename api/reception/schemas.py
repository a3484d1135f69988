"""What a reception team reads: arrivals bound for it and each arrival's manifest. Functional needs only: no
diagnosis, test result or TB class ever appears here."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.case import FunctionalNeed, Relationship, Sex
from domain.departure import Phase


class Flight(BaseModel):
    flight_number: str
    origin: str
    destination: str
    departs_at: datetime
    arrives_at: datetime
    special_service_requests: list[str] = Field(default_factory=list, description="airline SSR codes, e.g. WCHR")


class Arrival(BaseModel):
    case_id: str
    destination_city: str
    phase: Phase | None = Field(description="departed once the family is in the air")
    flight: Flight
    travellers: int
    functional_needs: dict[FunctionalNeed, int] = Field(description="how many travellers have each need")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "case_8c1d0f3b2a9e4d71", "destination_city": "Winnipeg", "phase": "awaiting_flight",
        "flight": {"flight_number": "ET302", "origin": "Nairobi", "destination": "Winnipeg",
                   "departs_at": "2026-04-14T22:10:00Z", "arrives_at": "2026-04-15T14:35:00Z",
                   "special_service_requests": ["WCHR"]},
        "travellers": 4, "functional_needs": {"wheelchair": 1},
    }]})


class Arrivals(BaseModel):
    items: list[Arrival] = Field(description="soonest arrival first")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": Arrival.model_config["json_schema_extra"]["examples"]}]})  # type: ignore[index]


class Traveller(BaseModel):
    person_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    nationality: str
    languages: list[str]
    relationship: Relationship
    functional_needs: list[FunctionalNeed]


class Manifest(BaseModel):
    case_id: str
    destination_country: str
    destination_city: str
    flight: Flight
    travellers: list[Traveller]
    read_at: datetime = Field(description="when this copy was read; every read is recorded in the audit trail")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "case_8c1d0f3b2a9e4d71", "destination_country": "CA", "destination_city": "Winnipeg",
        "flight": Arrival.model_config["json_schema_extra"]["examples"][0]["flight"],  # type: ignore[index]
        "travellers": [{"person_id": "per_5be0c2a19d7e4f30", "given_name": "Mariam", "family_name": "Haidari",
                        "date_of_birth": "1986-03-14", "sex": "F", "nationality": "AFG", "languages": ["fa", "ps"],
                        "relationship": "principal", "functional_needs": ["wheelchair"]}],
        "read_at": "2026-04-01T07:30:00Z",
    }]})
