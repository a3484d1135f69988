"""Documents for the API tests, stored straight into the archive the way the departure's activities store them.

The PDFs are real but blank (the API serves whatever bytes were stored); each carries its reference, so two
versions never share a checksum."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pikepdf
from pydantic import BaseModel

from domain.case import Case, Person
from domain.documents import (
    DocumentHeader,
    DocumentKind,
    DocumentToRender,
    FitnessCertificateContent,
    FlightLeg,
    Issuer,
    ItineraryContent,
    Journey,
    ManifestContent,
    ManifestPassenger,
    MedicalSummaryContent,
    OrientationRecord,
    Traveller,
    TravelPackContent,
    content_fingerprint,
    document_languages,
    document_reference,
    document_subject,
    manifest_changes,
    movement_id,
)
from domain.medical import MedicalFile
from domain.partner_messages import FlightBooking
from store.documents import DocumentArchive, StoredDocument
from store.repository import Store

ISSUER_NAME = "IOM Nairobi (test)"


def pdf_of(reference: str) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Title"] = reference
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)
    return out.getvalue()


def leg(booking: FlightBooking) -> FlightLeg:
    return FlightLeg(flight_number=booking.flight_number, origin=booking.origin, destination=booking.destination,
                     departs_at=booking.departs_at, arrives_at=booking.arrives_at)


def movement_of(booking: FlightBooking) -> str:
    return movement_id(booking.flight_number, booking.departs_at.date())


def traveller(person: Person) -> Traveller:
    return Traveller(person_id=person.person_id, given_name=person.given_name, family_name=person.family_name,
                     date_of_birth=person.date_of_birth, sex=person.sex, nationality=person.nationality,
                     relationship=person.relationship, functional_needs=person.functional_needs)


def passengers(case: Case) -> list[ManifestPassenger]:
    return [ManifestPassenger(case_id=case.case_id, case_reference=case.reference, **traveller(p).model_dump(
        exclude={"travel_document_number"})) for p in case.people]


async def file(store: Store, content: BaseModel, subject: str, version: int, *, issuer_id: str,
               issued_at: datetime | None = None, person_id: str | None = None, movement: str | None = None,
               organisation_id: str | None = None) -> StoredDocument:
    kind = DocumentKind(content.kind)  # type: ignore[attr-defined]
    reference = document_reference(subject, version)
    header = DocumentHeader(reference=reference, kind=kind, version=version,
                            issued_at=issued_at or datetime.now(UTC).replace(microsecond=0),
                            issuer=Issuer(organisation_id=issuer_id, name=ISSUER_NAME),
                            verify_url=f"https://verify.example.org/verify/{reference}",
                            languages=document_languages(kind, "prs", "en"))
    pdf = pdf_of(reference)
    return await DocumentArchive(store).add_version(
        DocumentToRender(header=header, content=content), hashlib.sha256(pdf).hexdigest(), pdf, subject=subject,
        fingerprint=content_fingerprint(content), generated_by="tests", person_id=person_id, movement_id=movement,
        organisation_id=organisation_id)


async def travel_pack(store: Store, case: Case, booking: FlightBooking, version: int = 1) -> StoredDocument:
    content = TravelPackContent(
        case_id=case.case_id, case_reference=case.reference, destination_country=case.destination.country,
        destination_city=case.destination.city, travellers=[traveller(p) for p in case.people],
        journey=Journey(booking_ref=booking.booking_ref, legs=[leg(booking)]), checklist=[],
        orientation=OrientationRecord(completed_on=None, language="prs"))
    # A later version differs in content, as it would after a re-booking.
    content.journey.special_service_requests = [f"V{version}"]
    subject = document_subject(DocumentKind.TRAVEL_PACK, case_id=case.case_id)
    return await file(store, content, subject, version, issuer_id=case.office_id)


async def itinerary(store: Store, case: Case, booking: FlightBooking) -> StoredDocument:
    content = ItineraryContent(case_id=case.case_id, case_reference=case.reference,
                               travellers=[traveller(p) for p in case.people],
                               journey=Journey(booking_ref=booking.booking_ref, legs=[leg(booking)]))
    subject = document_subject(DocumentKind.FLIGHT_ITINERARY, case_id=case.case_id)
    return await file(store, content, subject, 1, issuer_id=case.office_id)


async def fitness_certificate(store: Store, case: Case, person: Person, booking: FlightBooking) -> StoredDocument:
    content = FitnessCertificateContent(case_id=case.case_id, traveller=traveller(person), flight=leg(booking),
                                        fit=True, checked_at=booking.departs_at - timedelta(hours=30),
                                        examined_by=case.medical_partner_id)
    subject = document_subject(DocumentKind.FIT_TO_TRAVEL, case_id=case.case_id, person_id=person.person_id)
    return await file(store, content, subject, 1, issuer_id=case.medical_partner_id, person_id=person.person_id)


async def medical_summary(store: Store, case: Case, files: list[MedicalFile] | None = None) -> StoredDocument:
    content = MedicalSummaryContent(case_id=case.case_id, case_reference=case.reference,
                                    travellers=[traveller(p) for p in case.people], files=files or [])
    subject = document_subject(DocumentKind.MEDICAL_SUMMARY, case_id=case.case_id)
    return await file(store, content, subject, 1, issuer_id=case.medical_partner_id)


async def manifest(store: Store, booking: FlightBooking, organisation_id: str, on_board: list[ManifestPassenger],
                   *, issuer_id: str, final: bool = False) -> StoredDocument:
    """The next version of the movement's manifest for the organisation, with its changes since the last."""
    movement = movement_of(booking)
    subject = document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=movement, organisation_id=organisation_id)
    archive = DocumentArchive(store)
    previous = await archive.latest(subject)
    before: list[ManifestPassenger] = []
    if previous is not None:
        document = await archive.content(previous.document_id)
        assert document is not None and isinstance(document.content, ManifestContent)
        before = document.content.passengers
    content = ManifestContent(movement_id=movement, organisation_id=organisation_id, flight=leg(booking),
                              destination_city="Winnipeg", passengers=on_board,
                              changes=manifest_changes(before, on_board) if previous else [], final=final)
    return await file(store, content, subject, (previous.version + 1) if previous else 1, issuer_id=issuer_id,
                      movement=movement, organisation_id=organisation_id)
