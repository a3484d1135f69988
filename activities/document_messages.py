"""Inputs and answers of the document activities. Opaque ids, dates and codes only: the activity reads names,
bookings and medical files from the store, so none of them enter a workflow's history.

Every input carries the time the workflow issued it: a retried activity prints the same date, hence the same bytes,
and finds the version it stored before instead of adding one."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.documents import DocumentKind

WORKFLOW_AUTHOR = "system:departure-workflow"


class CaseDocumentsCall(BaseModel):
    """The papers of one family: its travel pack and itinerary, or its fit-to-travel certificates and medical
    summary."""

    case_id: str
    issued_at: datetime
    official_language: str = Field(description="the destination's: DestinationPolicy.official_language")
    generated_by: str = WORKFLOW_AUTHOR


class ManifestCall(BaseModel):
    """The arrival manifest of one movement for one receiving organisation, as its roster stands now."""

    movement_id: str
    organisation_id: str
    issued_at: datetime
    official_language: str
    final: bool = Field(default=False, description="re-validated against who boarded")
    boarded_person_ids: list[str] | None = Field(
        default=None, description="with final: who boarded; anyone else on the roster is left off as a no-show")
    generated_by: str = WORKFLOW_AUTHOR


class IssuedDocument(BaseModel):
    """The version a call left current: newly stored, or the one already stored with the same content."""

    reference: str
    kind: DocumentKind
    version: int
    sha256: str
