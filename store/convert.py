"""Between domain models and table rows. Enums are stored by value, nested results as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.audit import AuditEvent
from domain.case import Case, Destination, Passport, Person
from domain.departure import BookingRecord
from domain.documents import movement_id
from domain.medical import MedicalFile
from domain.partner_messages import FlightBooking
from domain.steps import StepRecord
from store.models import AuditRow, BookingRow, CaseRow, MedicalResultRow, PersonRow, StepResultRow

Row = dict[str, Any]

# Columns a save or an update may overwrite; keys and creation times stay as first written.
CASE_FIELDS = (
    "reference",
    "office_id",
    "medical_partner_id",
    "destination_country",
    "destination_city",
    "receiving_organisation",
    "priority",
    "approved_on",
)
PERSON_FIELDS = (
    "case_id",
    "position",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "nationality",
    "languages",
    "relationship",
    "passport_number",
    "passport_issuing_country",
    "passport_expires_on",
    "functional_needs",
)
STEP_FIELDS = (
    "step", "person_id", "state", "attempt", "reference", "document_number", "valid_from", "valid_until", "due_by",
    "reason",
)
STEP_FIELDS_WITH_TIME = (*STEP_FIELDS, "updated_at")
BOOKING_FIELDS = (
    "case_id",
    "attempt",
    "booking_ref",
    "flight_number",
    "movement_id",
    "departs_at",
    "arrives_at",
    "origin",
    "destination",
    "seats",
    "special_service_requests",
    "status",
)


def case_row(case: Case, now: datetime) -> Row:
    return {
        "case_id": case.case_id,
        "reference": case.reference,
        "office_id": case.office_id,
        "medical_partner_id": case.medical_partner_id,
        "destination_country": case.destination.country,
        "destination_city": case.destination.city,
        "receiving_organisation": case.destination.receiving_organisation,
        "priority": case.priority,
        "approved_on": case.approved_on,
        "created_at": now,
        "updated_at": now,
    }


def person_rows(case: Case) -> list[Row]:
    return [
        {
            "person_id": person.person_id,
            "case_id": case.case_id,
            "position": position,
            "given_name": person.given_name,
            "family_name": person.family_name,
            "date_of_birth": person.date_of_birth,
            "sex": person.sex.value,
            "nationality": person.nationality,
            "languages": list(person.languages),
            "relationship": person.relationship.value,
            "passport_number": person.passport.number if person.passport else None,
            "passport_issuing_country": person.passport.issuing_country if person.passport else None,
            "passport_expires_on": person.passport.expires_on if person.passport else None,
            "functional_needs": [need.value for need in person.functional_needs],
        }
        for position, person in enumerate(case.people)
    ]


def case_from_rows(row: CaseRow, people: list[PersonRow]) -> Case:
    return Case(
        case_id=row.case_id,
        reference=row.reference,
        office_id=row.office_id,
        medical_partner_id=row.medical_partner_id,
        destination=Destination(
            country=row.destination_country,
            city=row.destination_city,
            receiving_organisation=row.receiving_organisation,
        ),
        people=[person_from_row(p) for p in sorted(people, key=lambda p: p.position)],
        priority=row.priority,
        approved_on=row.approved_on,
    )


def person_from_row(row: PersonRow) -> Person:
    passport = None
    if row.passport_number and row.passport_issuing_country and row.passport_expires_on:
        passport = Passport(
            number=row.passport_number,
            issuing_country=row.passport_issuing_country,
            expires_on=row.passport_expires_on,
        )
    return Person(
        person_id=row.person_id,
        given_name=row.given_name,
        family_name=row.family_name,
        date_of_birth=row.date_of_birth,
        sex=row.sex,
        nationality=row.nationality,
        languages=row.languages,
        relationship=row.relationship,
        passport=passport,
        functional_needs=row.functional_needs,
    )


def step_row(case_id: str, record: StepRecord) -> Row:
    return {
        "case_id": case_id,
        "step_key": record.key,
        "step": record.step.value,
        "person_id": record.person_id,
        "state": record.state.value,
        "attempt": record.attempt,
        "reference": record.reference,
        "document_number": record.document_number,
        "valid_from": record.valid_from,
        "valid_until": record.valid_until,
        "due_by": record.due_by,
        "reason": record.reason,
        "updated_at": record.updated_at,
    }


def step_from_row(row: StepResultRow) -> StepRecord:
    return StepRecord.model_validate({name: getattr(row, name) for name in STEP_FIELDS_WITH_TIME})


def medical_row(case_id: str, medical: MedicalFile, now: datetime, sequence: int | None) -> Row:
    return {
        "case_id": case_id,
        "person_id": medical.person_id,
        "payload": medical.model_dump(mode="json"),
        "progress_sequence": sequence,
        "updated_at": now,
    }


def medical_from_row(row: MedicalResultRow) -> MedicalFile:
    return MedicalFile.model_validate(row.payload)


def booking_row(case_id: str, record: BookingRecord, now: datetime) -> Row:
    flight = record.booking
    return {
        "idempotency_key": record.idempotency_key,
        "case_id": case_id,
        "attempt": record.attempt,
        "booking_ref": flight.booking_ref,
        "flight_number": flight.flight_number,
        "movement_id": movement_id(flight.flight_number, flight.departs_at.date()),
        "departs_at": flight.departs_at,
        "arrives_at": flight.arrives_at,
        "origin": flight.origin,
        "destination": flight.destination,
        "seats": flight.seats,
        "special_service_requests": list(flight.special_service_requests),
        "status": record.status.value,
        "updated_at": now,
    }


def booking_from_row(row: BookingRow) -> BookingRecord:
    return BookingRecord(
        attempt=row.attempt,
        idempotency_key=row.idempotency_key,
        status=row.status,
        booking=FlightBooking(
            booking_ref=row.booking_ref,
            flight_number=row.flight_number,
            departs_at=row.departs_at,
            arrives_at=row.arrives_at,
            origin=row.origin,
            destination=row.destination,
            seats=row.seats,
            special_service_requests=row.special_service_requests,
        ),
    )


def audit_row(event: AuditEvent) -> Row:
    return event.model_dump(mode="python")


def audit_from_row(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        event_key=row.event_key,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        detail=row.detail,
    )
