"""What the medical partner sends and reads. Diagnoses and test results appear only in these medical views."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.medical import AssessmentResult, FitnessResult, MedicalFile, ScreeningResult
from domain.steps import Step, StepRecord, StepState

EXAMINED_BY = "ignored if sent: always the organisation of the caller's token"


class MedicalStep(StrEnum):
    """The steps a clinic acts on."""

    HEALTH_ASSESSMENT = Step.HEALTH_ASSESSMENT.value
    PRE_DEPARTURE_SCREENING = Step.PRE_DEPARTURE_SCREENING.value
    FITNESS_TO_TRAVEL = Step.FITNESS_TO_TRAVEL.value


class WorklistItem(BaseModel):
    """One examination the clinic owes: who, which step, by when."""

    case_id: str
    person_id: str
    given_name: str = Field(description="so the clinic can identify the patient")
    family_name: str
    date_of_birth: date
    step: MedicalStep
    state: StepState = Field(description="scheduled, or blocked for a TB class A re-examination")
    attempt: int = Field(description="send results for this attempt; a redone step has a new one")
    appointment_reference: str | None = Field(description="the clinic's own appointment id")
    due_by: datetime | None = Field(description="the deadline for the result")
    flight_departs_at: datetime | None = Field(
        default=None, description="for screenings and fitness checks: the booked flight they are timed off"
    )


class Worklist(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{
        "case_id": "case_3f9a1c0d2b7e4a51", "person_id": "per_8c21e4f09ab3d771", "given_name": "Mariam",
        "family_name": "Haidari", "date_of_birth": "1986-03-14", "step": "fitness_to_travel", "state": "scheduled",
        "attempt": 1, "appointment_reference": "APT-7F3K2Q", "due_by": "2026-05-12T06:30:00Z",
        "flight_departs_at": "2026-05-12T06:30:00Z"}]}]})

    items: list[WorklistItem]


class StepRecordView(StepRecord):
    """The step as it stands after the result was applied."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "step": "health_assessment", "person_id": "per_8c21e4f09ab3d771", "state": "done", "attempt": 1,
        "reference": "APT-2M8X1B", "valid_from": "2026-01-20", "valid_until": "2026-07-20",
        "due_by": "2026-01-22T08:00:00Z", "updated_at": "2026-01-20T10:14:03Z"}]})


class _StorableFindings(BaseModel):
    """PostgreSQL stores no NUL in text or JSON: a result carrying one would be accepted by the departure and then
    never saved, so the store (and every read of the departure) would stop there. Refused up front instead."""

    @field_validator("findings", check_fields=False)
    @classmethod
    def _no_nul(cls, findings: str) -> str:
        if "\x00" in findings:
            raise ValueError("NUL characters are not allowed")
        return findings


class AssessmentSubmission(_StorableFindings, AssessmentResult):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "person_id": "per_8c21e4f09ab3d771", "exam_date": "2026-01-20", "tb_class": "none",
        "findings": "chest x-ray clear", "functional_needs": []}]})

    examined_by: str | None = Field(default=None, description=EXAMINED_BY)  # type: ignore[assignment]


class ScreeningSubmission(_StorableFindings, ScreeningResult):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "person_id": "per_8c21e4f09ab3d771", "screened_on": "2026-05-01", "cleared": True,
        "findings": "sputum smear negative"}]})

    examined_by: str | None = Field(default=None, description=EXAMINED_BY)  # type: ignore[assignment]


class FitnessSubmission(_StorableFindings, FitnessResult):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "person_id": "per_8c21e4f09ab3d771", "checked_at": "2026-05-10T09:00:00Z", "fit": True,
        "functional_needs": ["wheelchair"], "findings": ""}]})

    examined_by: str | None = Field(default=None, description=EXAMINED_BY)  # type: ignore[assignment]


def as_result(submission: BaseModel, result_type: type[BaseModel], org_id: str) -> Any:
    """The domain result, signed by the caller's clinic whatever the body claimed."""
    return result_type.model_validate({**submission.model_dump(), "examined_by": org_id})


class MedicalFileView(MedicalFile):
    """Diagnoses and test results of one traveller: medical roles only, and every read is audited."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "person_id": "per_8c21e4f09ab3d771",
        "assessment": {"person_id": "per_8c21e4f09ab3d771", "exam_date": "2026-01-20", "tb_class": "B1",
                       "findings": "TB class B1, treated 2024", "functional_needs": ["follow_up_after_arrival"],
                       "examined_by": "clinic_nbo_1"},
        "screening": {"person_id": "per_8c21e4f09ab3d771", "screened_on": "2026-05-01", "cleared": True,
                      "findings": "sputum smear negative", "examined_by": "clinic_nbo_1"},
        "fitness": None}]})
