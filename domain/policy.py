"""Per-destination timing rules. Defaults are those of DOMAIN.md; each destination may override any of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field


class DestinationPolicy(BaseModel):
    medical_validity_months: int = Field(default=6, ge=1, description="CDC panel-physician rule")
    b1_screening_within_days: int = Field(default=21, ge=1, description="TB class B1 pre-departure screening")
    fitness_check_within_hours: int = Field(default=72, ge=1, description="pre-embarkation check before the flight")
    orientation_within_days: int = Field(default=30, ge=1, description="PDO completed within this many days before")
    arrival_notice_working_days: int = Field(default=10, ge=0, description="notice to the reception team")
    passport_min_remaining_days: int = Field(
        default=180, ge=0, description="a passport must stay valid this long after departure to be used"
    )
    travel_document_kind: str = Field(
        default="emergency_travel_document",
        description="what the issuer makes when no passport will do: emergency_travel_document or boarding_letter",
    )
    boarding_letter_validity_days: int = Field(default=365, ge=1, description="US boarding letter")
    unfit_deferral_days: int = Field(default=14, ge=1, description="how long a family waits after an unfit check")
    official_language: str = Field(
        default="en", description="the language documents for the destination's officials and reception teams use"
    )
    partner_poll_interval: timedelta = Field(
        default=timedelta(hours=24), description="how often a slow partner (permit authority, issuer) is asked for news"
    )

    @property
    def fitness_check_window(self) -> timedelta:
        return timedelta(hours=self.fitness_check_within_hours)


class PolicyBook(BaseModel):
    """The default policy and per-destination overrides (ISO alpha-2 country code -> changed fields)."""

    default: DestinationPolicy = Field(default_factory=DestinationPolicy)
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def for_country(self, country: str) -> DestinationPolicy:
        changes = self.overrides.get(country.upper(), {})
        return self.default.model_copy(update=changes) if changes else self.default
