"""What each of a family's papers says, put together from what the store holds about the family.

Pure: the activities read the store, these functions only arrange what was read, so the same reads give the same
content (and the same fingerprint, hence no new version)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from domain.case import Case, FunctionalNeed, Person
from domain.departure import BookingRecord, BookingStatus
from domain.documents import (
    ChecklistItem,
    DocumentKind,
    Escort,
    EscortKind,
    FitnessCertificateContent,
    FlightLeg,
    Issuer,
    ItineraryContent,
    Journey,
    MedicalSummaryContent,
    OrientationRecord,
    Traveller,
    TravelPackContent,
    document_subject,
)
from domain.medical import MedicalFile
from domain.partner_messages import FlightBooking
from domain.steps import Step, StepRecord, StepState, step_key


@dataclass(frozen=True)
class Draft:
    """One paper to issue: its content, who issues it, in which languages, and what it is filed under."""

    subject: str
    content: BaseModel
    issuer: Issuer
    languages: list[str]
    audit_object: tuple[str, str]  # (object_type, object_id) its audit event names
    person_id: str | None = None
    movement_id: str | None = None
    organisation_id: str | None = None


@dataclass(frozen=True)
class CaseFile:
    """Everything the store holds that a family's papers are made of."""

    case: Case
    steps: list[StepRecord]
    medical: list[MedicalFile]
    booking: FlightBooking | None

    def needs(self, person: Person) -> list[FunctionalNeed]:
        """The case's own and what the medical partner found: functional needs only, never a diagnosis."""
        file = next((f for f in self.medical if f.person_id == person.person_id), None)
        return sorted({*person.functional_needs, *(file.functional_needs() if file else [])})

    def step(self, key: str) -> StepRecord | None:
        return next((r for r in self.steps if r.key == key), None)

    def travellers(self) -> list[Traveller]:
        return [self.traveller(p) for p in self.case.people]

    def traveller(self, person: Person) -> Traveller:
        record = self.step(step_key(Step.TRAVEL_DOCUMENT, person.person_id))
        number = record.document_number if record else None
        if number is None and person.passport is not None:
            number = person.passport.number  # travelling on the national passport: the issuer made nothing new
        return Traveller(person_id=person.person_id, given_name=person.given_name, family_name=person.family_name,
                         date_of_birth=person.date_of_birth, sex=person.sex, nationality=person.nationality,
                         relationship=person.relationship, travel_document_number=number,
                         functional_needs=self.needs(person))

    def checklist(self) -> list[ChecklistItem]:
        steps = list(Step)
        position = {p.person_id: n for n, p in enumerate(self.case.people)}
        ordered = sorted(self.steps, key=lambda r: (steps.index(r.step), position.get(r.person_id or "", -1)))
        return [ChecklistItem(step=r.step, person_id=r.person_id, state=r.state, valid_until=r.valid_until)
                for r in ordered]

    def orientation(self) -> OrientationRecord:
        record = self.step(Step.ORIENTATION.value)
        done = record is not None and record.state is StepState.DONE
        return OrientationRecord(completed_on=record.valid_from if record is not None and done else None,
                                 reference=record.reference if record else None,
                                 language=self.case.orientation_language())


def current_booking(bookings: list[BookingRecord]) -> FlightBooking | None:
    """The newest attempt, if it still holds seats: an older one was given back when it was replaced."""
    if not bookings:
        return None
    newest = max(bookings, key=lambda b: b.attempt)
    return newest.booking if newest.status is BookingStatus.BOOKED else None


def flight_leg(booking: FlightBooking) -> FlightLeg:
    return FlightLeg(flight_number=booking.flight_number, origin=booking.origin, destination=booking.destination,
                     departs_at=booking.departs_at, arrives_at=booking.arrives_at)


def journey(booking: FlightBooking, travellers: list[Traveller]) -> Journey:
    escorts = [Escort(kind=EscortKind.MEDICAL, for_person_id=t.person_id)
               for t in travellers if FunctionalNeed.MEDICAL_ESCORT in t.functional_needs]
    return Journey(booking_ref=booking.booking_ref, legs=[flight_leg(booking)], escorts=escorts,
                   special_service_requests=list(booking.special_service_requests))


def booking_contents(file: CaseFile) -> list[BaseModel]:
    """The travel pack and the itinerary; none while the family holds no booking."""
    if file.booking is None:
        return []
    case = file.case
    travellers = file.travellers()
    trip = journey(file.booking, travellers)
    return [
        TravelPackContent(case_id=case.case_id, case_reference=case.reference,
                          destination_country=case.destination.country, destination_city=case.destination.city,
                          travellers=travellers, journey=trip, checklist=file.checklist(),
                          orientation=file.orientation()),
        ItineraryContent(case_id=case.case_id, case_reference=case.reference, travellers=travellers, journey=trip),
    ]


def fitness_contents(file: CaseFile) -> list[tuple[str, FitnessCertificateContent]]:
    """(person_id, certificate) for every traveller the medical partner checked for this booking's flight."""
    if file.booking is None:
        return []
    flight = flight_leg(file.booking)
    checked = {f.person_id: f.fitness for f in file.medical if f.fitness is not None}
    return [
        (p.person_id, FitnessCertificateContent(case_id=file.case.case_id, traveller=file.traveller(p), flight=flight,
                                                fit=result.fit, checked_at=result.checked_at,
                                                examined_by=result.examined_by))
        for p in file.case.people if (result := checked.get(p.person_id)) is not None
    ]


def medical_summary(file: CaseFile) -> MedicalSummaryContent | None:
    position = {p.person_id: n for n, p in enumerate(file.case.people)}
    files = sorted((f for f in file.medical if f.person_id in position), key=lambda f: position[f.person_id])
    if not files:
        return None
    return MedicalSummaryContent(case_id=file.case.case_id, case_reference=file.case.reference,
                                 travellers=file.travellers(), files=files)


def case_subject(kind: DocumentKind, case_id: str, person_id: str | None = None) -> str:
    return document_subject(kind, case_id=case_id, person_id=person_id)
