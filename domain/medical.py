"""Medical results. Diagnoses and test results are for medical roles only; see `functional_view`."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.case import FunctionalNeed


class TbClass(StrEnum):
    NONE = "none"
    A = "A"  # not cleared to travel until treated and re-examined
    B0 = "B0"
    B1 = "B1"  # cleared, but screened again within 21 days before departure
    B2 = "B2"
    B3 = "B3"


class AssessmentResult(BaseModel):
    """A health assessment, as the medical partner submits it."""

    person_id: str
    exam_date: date
    tb_class: TbClass
    findings: str = Field(default="", max_length=2000, description="diagnoses and test results: medical roles only")
    functional_needs: list[FunctionalNeed] = Field(default_factory=list)
    examined_by: str = Field(min_length=1, max_length=100, description="clinic or panel physician id")

    @property
    def cleared(self) -> bool:
        return self.tb_class is not TbClass.A

    @property
    def needs_screening(self) -> bool:
        return self.tb_class is TbClass.B1


class ScreeningResult(BaseModel):
    """The pre-departure medical screening a TB class B1 traveller needs."""

    person_id: str
    screened_on: date
    cleared: bool
    findings: str = Field(default="", max_length=2000)
    examined_by: str = Field(min_length=1, max_length=100)


class FitnessResult(BaseModel):
    """The pre-embarkation check: is this traveller fit to fly on this flight."""

    person_id: str
    checked_at: datetime
    fit: bool
    functional_needs: list[FunctionalNeed] = Field(default_factory=list)
    findings: str = Field(default="", max_length=2000)
    examined_by: str = Field(min_length=1, max_length=100)


class MedicalFile(BaseModel):
    """Everything medical about one traveller that the departure holds. Never shown to non-medical roles."""

    person_id: str
    assessment: AssessmentResult | None = None
    screening: ScreeningResult | None = None
    fitness: FitnessResult | None = None

    def functional_needs(self) -> list[FunctionalNeed]:
        needs: set[FunctionalNeed] = set()
        for result in (self.assessment, self.fitness):
            if result is not None:
                needs.update(result.functional_needs)
        return sorted(needs)
