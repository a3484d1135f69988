"""A case is a family travelling together: a principal applicant and dependents."""

from __future__ import annotations

import secrets
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator, model_validator


def new_opaque_id(prefix: str) -> str:
    """Identifiers other systems index (workflow IDs, URLs, logs) must carry no personal data."""
    return f"{prefix}_{secrets.token_hex(8)}"


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    OTHER = "X"


class Relationship(StrEnum):
    PRINCIPAL = "principal"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    OTHER = "other"


class FunctionalNeed(StrEnum):
    """What a traveller needs on the journey; the only health-related facts non-medical roles may see."""

    WHEELCHAIR = "wheelchair"
    OXYGEN = "oxygen"
    STRETCHER = "stretcher"
    MEDICAL_ESCORT = "medical_escort"
    FOLLOW_UP = "follow_up_after_arrival"
    UNACCOMPANIED_MINOR = "unaccompanied_minor"


class Passport(BaseModel):
    number: str = Field(min_length=3, max_length=20)
    issuing_country: str = Field(min_length=3, max_length=3, description="ISO 3166-1 alpha-3")
    expires_on: date


class Person(BaseModel):
    person_id: str = Field(default_factory=lambda: new_opaque_id("per"))
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    sex: Sex
    nationality: str = Field(min_length=3, max_length=3, description="ISO 3166-1 alpha-3")
    languages: list[str] = Field(min_length=1, description="ISO 639-1 codes, preferred first")
    relationship: Relationship
    passport: Passport | None = None
    functional_needs: list[FunctionalNeed] = Field(default_factory=list)

    def age_on(self, day: date) -> int:
        years = day.year - self.date_of_birth.year
        return years - ((day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day))


class Destination(BaseModel):
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    city: str = Field(min_length=1, max_length=100)
    receiving_organisation: str = Field(min_length=1, max_length=64, description="opaque organisation id")


class Case(BaseModel):
    case_id: str = Field(default_factory=lambda: new_opaque_id("case"))
    reference: str = Field(min_length=1, max_length=40, description="the operating office's own file reference")
    office_id: str = Field(min_length=1, max_length=64)
    medical_partner_id: str = Field(default="clinic_default", max_length=64)
    destination: Destination
    people: list[Person] = Field(min_length=1)
    priority: int = Field(default=3, ge=1, le=5, description="1 is most urgent")
    approved_on: date

    @field_validator("people")
    @classmethod
    def validate_people(cls, people: list[Person]) -> list[Person]:
        principals = [p for p in people if p.relationship is Relationship.PRINCIPAL]
        if len(principals) != 1:
            raise ValueError("a case has exactly one principal applicant")
        ids = [p.person_id for p in people]
        if len(set(ids)) != len(ids):
            raise ValueError("person_id must be unique within a case")
        return people

    @model_validator(mode="after")
    def validate_dates(self) -> Case:
        for person in self.people:
            if person.date_of_birth > self.approved_on:
                raise ValueError(f"people[{person.person_id}].date_of_birth is after the approval date")
        return self

    @property
    def principal(self) -> Person:
        return next(p for p in self.people if p.relationship is Relationship.PRINCIPAL)

    def person(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.person_id == person_id), None)

    def orientation_language(self) -> str:
        """The language most of the family speaks, the principal's preference breaking ties."""
        counts: dict[str, int] = {}
        for person in self.people:
            for lang in person.languages:
                counts[lang] = counts.get(lang, 0) + 1
        preferred = self.principal.languages[0]
        return max(counts, key=lambda lang: (counts[lang], lang == preferred, lang))
