"""What partner systems send back: a permit or document decision, a booking's fate."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from api.cases.schemas import OptionalText

PARTNER_REFERENCE = r"^[A-Za-z0-9._:\-]{1,128}$"


class DecisionStatus(StrEnum):
    ISSUED = "issued"
    REFUSED = "refused"


class DecisionCallback(BaseModel):
    """An exit permit or travel document decided. `issued` needs the document's number and last valid day."""

    status: DecisionStatus
    valid_from: date | None = None
    valid_until: date | None = Field(default=None, description="required when issued")
    document_number: OptionalText(1, 128, description="required when issued") = None
    reason: OptionalText(1, 500, description="why it was refused") = None
    case_id: str | None = Field(
        default=None, pattern=PARTNER_REFERENCE, description="our case id, as our request named it: a decision that "
        "arrives before your answer to the request reached us is then kept for the case, not refused")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "issued", "valid_from": "2026-03-01", "valid_until": "2027-02-28", "document_number": "EP-448120"},
        {"status": "refused", "reason": "applicant not on the departure list"},
    ]})


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED_BY_AIRLINE = "cancelled_by_airline"


class BookingCallback(BaseModel):
    status: BookingStatus
    reason: OptionalText(1, 500) = None

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "confirmed"}, {"status": "cancelled_by_airline", "reason": "flight withdrawn"}]})


class CallbackReceipt(BaseModel):
    reference: str = Field(description="the reference the callback named")
    status: str = Field(description="the status it reported")
    received_at: datetime
    duplicate: bool = Field(description="true when this same answer had been received before: nothing changed")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reference": "EXP-t8k2lc-7fq1x0a9c2", "status": "issued", "received_at": "2026-03-01T10:02:11Z",
        "duplicate": False,
    }]})
