"""Documents as the API shows them: metadata with a download link, arrival manifests as data, and the public
verification answer, which carries nothing about the people a paper is for."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.problems import Problem
from domain.documents import (
    DocumentKind,
    DocumentStatus,
    FlightLeg,
    Issuer,
    ManifestChange,
    ManifestPassenger,
)

DOCUMENT_ID = r"^doc_[0-9a-f]{20}$"
MOVEMENT_ID = r"^mov_[0-9a-f]{16}$"
SHA256 = r"^[0-9a-fA-F]{64}$"

_REFERENCE = "doc_4be1f0c29a7d3e815b60"
_NEWER = "doc_91c7e2a4b0d5f3186e2c"
_SHA = "9f2c4e1b7a3d5f6081c2e4b6a8d0f1e3c5b7a9d1e3f5a7c9b1d3e5f7a9c1b3d5"
_FLIGHT = {"flight_number": "ET302", "origin": "Nairobi", "destination": "Winnipeg",
           "departs_at": "2026-04-14T22:10:00Z", "arrives_at": "2026-04-15T14:35:00Z"}


class DocumentView(BaseModel):
    reference: str = Field(description="the document's id, printed on the paper and in its QR code")
    kind: DocumentKind
    version: int
    status: DocumentStatus
    superseded_by: str | None = Field(description="the reference of the version that replaced this one")
    issued_at: datetime
    languages: list[str] = Field(description="primary first")
    sha256: str = Field(description="of the PDF; also its ETag")
    size: int = Field(description="of the PDF, in bytes")
    case_id: str | None = Field(description="null for a manifest, which is about a movement")
    person_id: str | None = Field(description="the traveller a per-person paper (fitness certificate) is about")
    movement_id: str | None
    organisation_id: str | None = Field(description="the receiving organisation a manifest is for")
    download_url: str = Field(description="the PDF; every download is recorded in the audit trail")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reference": _REFERENCE, "kind": "travel_pack", "version": 2, "status": "valid", "superseded_by": None,
        "issued_at": "2026-04-02T09:00:00Z", "languages": ["prs", "en"], "sha256": _SHA, "size": 84211,
        "case_id": "case_8c1d0f3b2a9e4d71", "person_id": None, "movement_id": None, "organisation_id": None,
        "download_url": f"/documents/{_REFERENCE}/pdf",
    }]})


class DocumentList(BaseModel):
    case_id: str
    items: list[DocumentView] = Field(description="by kind, each paper's versions newest first")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "case_id": "case_8c1d0f3b2a9e4d71",
        "items": DocumentView.model_config["json_schema_extra"]["examples"],  # type: ignore[index]
    }]})


class ManifestView(BaseModel):
    """One version of the arrival manifest of a movement for one receiving organisation."""

    reference: str
    version: int
    status: DocumentStatus
    superseded_by: str | None
    latest_version: int
    final: bool = Field(description="re-validated against who boarded")
    issued_at: datetime
    issuer: Issuer
    movement_id: str
    organisation_id: str
    destination_city: str
    flight: FlightLeg
    passengers: list[ManifestPassenger] = Field(description="functional needs only, never a diagnosis")
    changes: list[ManifestChange] = Field(description="since the previous version; empty in the first")
    sha256: str = Field(description="of this version's PDF")
    pdf_url: str
    csv_url: str

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reference": _NEWER, "version": 2, "status": "valid", "superseded_by": None, "latest_version": 2,
        "final": False, "issued_at": "2026-04-03T10:00:00Z",
        "issuer": {"organisation_id": "office_nairobi", "name": "IOM Nairobi"},
        "movement_id": "mov_3e9b0c2d4f6a8b1c", "organisation_id": "org_reception_mb", "destination_city": "Winnipeg",
        "flight": _FLIGHT,
        "passengers": [{"case_id": "case_8c1d0f3b2a9e4d71", "case_reference": "NBO-4F2A1C",
                        "person_id": "per_5be0c2a19d7e4f30", "given_name": "Mariam", "family_name": "Haidari",
                        "date_of_birth": "1986-03-14", "sex": "F", "nationality": "AFG", "relationship": "principal",
                        "functional_needs": ["wheelchair"]}],
        "changes": [{"change": "added", "case_id": "case_8c1d0f3b2a9e4d71", "person_id": "per_5be0c2a19d7e4f30",
                     "fields": []}],
        "sha256": _SHA,
        "pdf_url": "/movements/mov_3e9b0c2d4f6a8b1c/manifests/org_reception_mb/manifest.pdf?version=2",
        "csv_url": "/movements/mov_3e9b0c2d4f6a8b1c/manifests/org_reception_mb/manifest.csv?version=2",
    }]})


class ChangeCounts(BaseModel):
    added: int = 0
    removed: int = 0
    changed: int = 0


class ManifestVersionSummary(BaseModel):
    reference: str
    version: int
    status: DocumentStatus
    final: bool
    issued_at: datetime
    passengers: int
    changes: ChangeCounts = Field(description="since the previous version")
    sha256: str


class ManifestVersions(BaseModel):
    movement_id: str
    organisation_id: str
    items: list[ManifestVersionSummary] = Field(description="newest first")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "movement_id": "mov_3e9b0c2d4f6a8b1c", "organisation_id": "org_reception_mb",
        "items": [
            {"reference": _NEWER, "version": 2, "status": "valid", "final": False,
             "issued_at": "2026-04-03T10:00:00Z", "passengers": 5, "changes": {"added": 1, "removed": 0, "changed": 0},
             "sha256": _SHA},
            {"reference": _REFERENCE, "version": 1, "status": "superseded", "final": False,
             "issued_at": "2026-04-01T10:00:00Z", "passengers": 4, "changes": {"added": 0, "removed": 0, "changed": 0},
             "sha256": _SHA},
        ],
    }]})


class Verification(BaseModel):
    """What anyone holding a paper may learn about it: whether it is genuine and current. No names, no case,
    person or movement ids."""

    reference: str
    kind: DocumentKind
    version: int
    status: DocumentStatus = Field(description="superseded: a newer version exists, ask its holder for it")
    issued_at: datetime
    issuer: str = Field(description="the issuing organisation's name")
    sha256: str = Field(description="of the genuine PDF")
    superseded_by: str | None = Field(description="the reference of the next version")
    latest_version: int
    matches: bool | None = Field(default=None,
                                 description="whether `?sha256=` equals the genuine PDF's; null when not asked")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reference": _REFERENCE, "kind": "travel_pack", "version": 1, "status": "superseded",
        "issued_at": "2026-04-01T09:00:00Z", "issuer": "IOM Nairobi", "sha256": _SHA, "superseded_by": _NEWER,
        "latest_version": 2, "matches": True,
    }]})


class UnknownDocument(Problem):
    """The 404 of verification: RFC 9457's `status` is the HTTP status, so the verdict has a member of its own."""

    document_status: Literal["unknown"] = "unknown"
