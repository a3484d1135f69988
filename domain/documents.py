"""The documents a departure produces: what each one says, who issued it, and how versions of it follow each other.

Pure data and rules: `documents/` turns these into PDFs, activities store them, the API serves them."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from domain.case import FunctionalNeed, Relationship, Sex
from domain.medical import MedicalFile
from domain.steps import Step, StepState


class DocumentKind(StrEnum):
    TRAVEL_PACK = "travel_pack"  # one per family: journey cover, a travel letter per person, checklist, PDO certificate
    FLIGHT_ITINERARY = "flight_itinerary"
    FIT_TO_TRAVEL = "fit_to_travel_certificate"  # one per traveller: outcome and functional needs, no diagnosis
    MEDICAL_SUMMARY = "medical_summary"  # medical roles only
    ARRIVAL_MANIFEST = "arrival_manifest"  # one per movement and receiving organisation


MEDICAL_KINDS = frozenset({DocumentKind.MEDICAL_SUMMARY})


class DocumentStatus(StrEnum):
    VALID = "valid"
    SUPERSEDED = "superseded"


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def movement_id(flight_number: str, departs_on: date) -> str:
    """One flight on one day. Derived, so every departure on the same flight names the same movement."""
    return f"mov_{_digest(f'{flight_number.upper()}|{departs_on.isoformat()}', 16)}"


def document_subject(kind: DocumentKind, *, case_id: str | None = None, person_id: str | None = None,
                     movement: str | None = None, organisation_id: str | None = None) -> str:
    """What a document is about; its versions share the subject. Built from opaque ids only."""
    parts = [kind.value, case_id, person_id, movement, organisation_id]
    return ":".join(p for p in parts if p)


def document_reference(subject: str, version: int) -> str:
    """The reference printed on the paper and in its QR code. Derived from subject and version, so an activity that
    is retried after its answer was lost prints the same reference; it reveals nothing about who it is for."""
    return f"doc_{_digest(f'{subject}#{version}', 20)}"


# Languages we hold catalogs for. Dari ("prs") is what Afghan families read; Persian ("fa") readers read it too.
SUPPORTED_LANGUAGES = ("en", "fr", "ar", "prs")
RIGHT_TO_LEFT = frozenset({"ar", "prs"})
LANGUAGE_ALIASES = {"fa": "prs", "fa-af": "prs", "prs": "prs", "en": "en", "fr": "fr", "ar": "ar"}


def catalog_language(code: str) -> str | None:
    return LANGUAGE_ALIASES.get(code.lower())


def family_language(languages_by_person: list[list[str]], fallback: str) -> str:
    """The language most of the family reads among those we can print, earlier preferences breaking ties."""
    score: dict[str, tuple[int, int]] = {}
    for languages in languages_by_person:
        for rank, code in enumerate(languages):
            lang = catalog_language(code)
            if lang is None:
                continue
            count, best_rank = score.get(lang, (0, rank))
            score[lang] = (count + 1, min(best_rank, rank))
    if not score:
        return fallback
    return max(score, key=lambda lang: (score[lang][0], -score[lang][1], lang == fallback))


def document_languages(kind: DocumentKind, family: str, official: str) -> list[str]:
    """Primary language first. Papers the family carries are in its language with the destination's official
    language beside it, so border and airline staff can read them; papers for officials and the medical file are
    in the official language, the fit-to-travel certificate also in the family's so the traveller can read it."""
    if kind in (DocumentKind.MEDICAL_SUMMARY, DocumentKind.ARRIVAL_MANIFEST):
        return [official]
    if kind is DocumentKind.FIT_TO_TRAVEL:
        langs = [official, family]
    else:
        langs = [family, official]
    return list(dict.fromkeys(langs))


class Issuer(BaseModel):
    organisation_id: str
    name: str


class DocumentHeader(BaseModel):
    """What every document carries besides its content."""

    reference: str = Field(description="document_reference(subject, version)")
    kind: DocumentKind
    version: int = Field(ge=1)
    issued_at: datetime
    issuer: Issuer
    verify_url: str = Field(description="the public verification URL, also in the QR code")
    languages: list[str] = Field(min_length=1, max_length=2, description="primary first; two for bilingual papers")


class FlightLeg(BaseModel):
    flight_number: str
    origin: str
    destination: str
    departs_at: datetime
    arrives_at: datetime


class EscortKind(StrEnum):
    OPERATIONAL = "operational"
    MEDICAL = "medical"


class Escort(BaseModel):
    kind: EscortKind
    for_person_id: str | None = None


class Journey(BaseModel):
    booking_ref: str
    legs: list[FlightLeg] = Field(min_length=1, description="in order; more than one leg means transit")
    escorts: list[Escort] = Field(default_factory=list)
    special_service_requests: list[str] = Field(default_factory=list, description="airline SSR codes, e.g. WCHR")


class Traveller(BaseModel):
    person_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    nationality: str
    relationship: Relationship
    travel_document_number: str | None = None
    functional_needs: list[FunctionalNeed] = Field(default_factory=list)


class ChecklistItem(BaseModel):
    step: Step
    person_id: str | None = None
    state: StepState
    valid_until: date | None = None


class OrientationRecord(BaseModel):
    completed_on: date | None
    reference: str | None = None
    language: str


class TravelPackContent(BaseModel):
    kind: Literal[DocumentKind.TRAVEL_PACK] = DocumentKind.TRAVEL_PACK
    case_id: str
    case_reference: str
    destination_country: str
    destination_city: str
    travellers: list[Traveller]
    journey: Journey
    checklist: list[ChecklistItem]
    orientation: OrientationRecord


class ItineraryContent(BaseModel):
    kind: Literal[DocumentKind.FLIGHT_ITINERARY] = DocumentKind.FLIGHT_ITINERARY
    case_id: str
    case_reference: str
    travellers: list[Traveller]
    journey: Journey


class FitnessCertificateContent(BaseModel):
    kind: Literal[DocumentKind.FIT_TO_TRAVEL] = DocumentKind.FIT_TO_TRAVEL
    case_id: str
    traveller: Traveller
    flight: FlightLeg
    fit: bool
    checked_at: datetime
    examined_by: str


class MedicalSummaryContent(BaseModel):
    kind: Literal[DocumentKind.MEDICAL_SUMMARY] = DocumentKind.MEDICAL_SUMMARY
    case_id: str
    case_reference: str
    travellers: list[Traveller]
    files: list[MedicalFile]


class ManifestPassenger(BaseModel):
    case_id: str
    case_reference: str
    person_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: Sex
    nationality: str
    relationship: Relationship
    functional_needs: list[FunctionalNeed] = Field(default_factory=list, description="never a diagnosis")


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


class ManifestChange(BaseModel):
    change: ChangeKind
    case_id: str
    person_id: str | None = None
    fields: list[str] = Field(default_factory=list, description="for CHANGED: which passenger fields changed")


class ManifestContent(BaseModel):
    kind: Literal[DocumentKind.ARRIVAL_MANIFEST] = DocumentKind.ARRIVAL_MANIFEST
    movement_id: str
    organisation_id: str
    flight: FlightLeg
    destination_city: str
    passengers: list[ManifestPassenger] = Field(description="ordered by case, then as listed in the case")
    changes: list[ManifestChange] = Field(default_factory=list, description="since the previous version")
    final: bool = Field(default=False, description="re-validated against who boarded")


DocumentContent = Annotated[
    TravelPackContent | ItineraryContent | FitnessCertificateContent | MedicalSummaryContent | ManifestContent,
    Field(discriminator="kind"),
]


class DocumentToRender(BaseModel):
    header: DocumentHeader
    content: DocumentContent


def content_fingerprint(content: BaseModel) -> str:
    """Equal for equal content whatever the header says: a retried or repeated request issues no new version."""
    return hashlib.sha256(content.model_dump_json(exclude={"changes"}).encode()).hexdigest()


def manifest_changes(previous: list[ManifestPassenger], current: list[ManifestPassenger]) -> list[ManifestChange]:
    """What an amendment tells the reception team: who was added, who was removed, whose details changed."""
    before = {p.person_id: p for p in previous}
    after = {p.person_id: p for p in current}
    changes: list[ManifestChange] = []
    for p in current:
        old = before.get(p.person_id)
        if old is None:
            changes.append(ManifestChange(change=ChangeKind.ADDED, case_id=p.case_id, person_id=p.person_id))
        elif old != p:
            fields = [name for name in ManifestPassenger.model_fields if getattr(old, name) != getattr(p, name)]
            changes.append(ManifestChange(change=ChangeKind.CHANGED, case_id=p.case_id, person_id=p.person_id,
                                          fields=fields))
    for p in previous:
        if p.person_id not in after:
            changes.append(ManifestChange(change=ChangeKind.REMOVED, case_id=p.case_id, person_id=p.person_id))
    return changes
