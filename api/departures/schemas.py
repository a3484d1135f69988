"""Starting a case's departure and the coordinator's changes to it: defer, cancel, change the date."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.cases.schemas import printable
from domain.departure import Phase

Reason = Annotated[str, Field(min_length=1, max_length=500, description="why; shown on the timeline"),
                   AfterValidator(printable)]


class Departure(BaseModel):
    case_id: str
    workflow_id: str = Field(description="derived from the case id only")
    run_id: str | None = Field(description="the departure's first run: the same however often it is started")
    phase: Phase

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "case_8c1d0f3b2a9e4d71", "workflow_id": "departure-case_8c1d0f3b2a9e4d71",
        "run_id": "0f7b8a52-3c1e-4a0e-9d64-2b5f1c9e7a13", "phase": "preparing",
    }]})


class DeferBody(BaseModel):
    not_before: date = Field(description="the earliest day the family may fly; today or later")
    reason: Reason

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"not_before": "2026-05-01", "reason": "family asked to wait for a newborn's documents"}]})


class CancelBody(BaseModel):
    reason: Reason

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "case withdrawn by the receiving state"}]})


class DateChangeBody(BaseModel):
    date: dt.date = Field(description="the new earliest departure date; the departure is replanned for it")
    reason: Reason

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"date": "2026-06-15", "reason": "charter moved by the receiving state"}]})


class DeferralView(BaseModel):
    at: datetime
    not_before: date
    reason: str
    by: str = Field(description="opaque id of who deferred, or system:pre-embarkation-check")


class DepartureStatus(BaseModel):
    """The departure right after the change took effect."""

    case_id: str
    phase: Phase
    reason: str | None = None
    not_before: date | None = Field(default=None, description="the earliest date the coordinator allows")
    deferrals: list[DeferralView] = Field(default_factory=list)
    blockers: list[str] = Field(default_factory=list)
    next_deadline: datetime | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "case_8c1d0f3b2a9e4d71", "phase": "deferred",
        "reason": "family asked to wait for a newborn's documents", "not_before": "2026-05-01",
        "deferrals": [{"at": "2026-03-02T09:14:07Z", "not_before": "2026-05-01",
                       "reason": "family asked to wait for a newborn's documents", "by": "usr_3f9a1c2e"}],
        "blockers": [], "next_deadline": None,
    }]})
