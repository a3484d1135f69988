"""How long a family's personal data is kept after it arrived, and what is left of it afterwards.

This system exists to get a family to its destination. Once it has arrived, the reception team holds its own file,
and the operating office its case file; what is kept here serves statistics and accountability only. A year after
arrival (the default) covers the follow-up the arrival still needs (TB class B follow-up, a lost bag, a complaint
about the journey, a manifest corrected after the fact) and one full annual reporting cycle; every destination
can set its own period where its law or its programme asks for another.

What goes: names, the day and month of birth (the year stays, for age statistics), passport and document numbers,
the office's file reference (a key to a file that names the family), medical results, functional needs, the
reasons given on medical steps, and the text of every paper issued (its PDF, and the content it was rendered from).
What stays: opaque ids, sex, nationality, languages, relationships, step states and their dates, bookings and their
timings, each paper's reference, kind, version and checksum (so `/verify` still answers for a paper a family
holds), and the audit trail, which names opaque ids only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field, field_validator

ANONYMISED_ACTION = "retention.anonymised"
ACTOR = "system:retention"
ANONYMISED_NAME = "anonymised"  # what the people's names read afterwards: the pages still have something to show


def anonymisation_key(case_id: str) -> str:
    """The audit event that records a case's anonymisation: one per case, ever, so a rerun records nothing."""
    return f"{ANONYMISED_ACTION}:{case_id}"


def birth_year_only(born: date) -> date:
    """The first of January of the year of birth: the age band survives, the birthday does not."""
    return date(born.year, 1, 1)


class RetentionInput(BaseModel):
    """What the schedule starts each run with (from RetentionSettings when the worker starts)."""

    after_arrival: timedelta = Field(default=timedelta(days=365), ge=timedelta(days=1))
    overrides: dict[str, timedelta] = Field(default_factory=dict, description="per destination country (alpha-2)")
    batch_size: int = Field(default=100, ge=1, le=10_000)
    anonymised_before: int = Field(default=0, ge=0, description="carried over by continue-as-new")

    @field_validator("overrides")
    @classmethod
    def upper_case_countries(cls, overrides: dict[str, timedelta]) -> dict[str, timedelta]:
        for country, period in overrides.items():
            if len(country) != 2 or not country.isalpha():
                raise ValueError(f"{country!r} is not an ISO 3166-1 alpha-2 country code")
            if period < timedelta(days=1):
                raise ValueError(f"{country}: a retention period of at least one day")
        return {country.upper(): period for country, period in overrides.items()}

    def batch(self, now: datetime) -> RetentionBatch:
        """Cases whose family arrived before these instants are due, per destination."""
        return RetentionBatch(
            at=now, default_cutoff=now - self.after_arrival, limit=self.batch_size,
            cutoffs={country: now - period for country, period in self.overrides.items()})


class RetentionBatch(BaseModel):
    at: datetime = Field(description="the run's time, written on its audit rows")
    default_cutoff: datetime
    cutoffs: dict[str, datetime] = Field(default_factory=dict)
    limit: int = Field(ge=1)

    def cutoff_for(self, country: str) -> datetime:
        return self.cutoffs.get(country.upper(), self.default_cutoff)


class Anonymised(BaseModel):
    """What one case's anonymisation removed: counts only, as its audit row says."""

    case_id: str
    people: int
    medical_files: int
    documents: int


class BatchResult(BaseModel):
    anonymised: list[Anonymised] = Field(default_factory=list)
    more: bool = Field(description="the batch was full: there may be more cases due")


class RetentionOutcome(BaseModel):
    anonymised: int
