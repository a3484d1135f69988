"""Cases as a finished (or unfinished) departure leaves them in the store, seeded straight in, so the retention run
can be tested against families that arrived a year ago without flying them a year ago."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from domain.audit import AuditEvent
from domain.case import Case, FunctionalNeed
from domain.departure import BookingRecord, BookingStatus, Phase, ProgressUpdate
from domain.medical import AssessmentResult, FitnessResult, MedicalFile, TbClass
from domain.partner_messages import FlightBooking
from domain.steps import Step, StepRecord, StepState
from store.models import (
    AuditRow,
    BookingRow,
    CaseRow,
    DocumentContentRow,
    DocumentRow,
    MedicalResultRow,
    PersonRow,
    StepResultRow,
)
from store.repository import Store
from store.statistics import DEPARTURE_ACTOR
from tests import papers
from tests.factories import family

FINDINGS = "TB class B1, treated; chest x-ray clear"


@dataclass
class Seeded:
    case: Case
    booking: FlightBooking
    document_ids: list[str]


def _event(case_id: str, n: int, at: datetime, action: str, **detail: str) -> AuditEvent:
    return AuditEvent(event_key=f"{case_id}:{n}", at=at, actor=DEPARTURE_ACTOR, action=action, object_type="case",
                      object_id=case_id, detail=detail)


async def seed_case(store: Store, *, office: str, country: str, arrives_at: datetime,
                    phase: Phase = Phase.DEPARTED) -> Seeded:
    """A family of three with passports, a wheelchair, medical results, papers and a manifest, whose flight lands at
    `arrives_at`; its departure reported `phase` last."""
    case = family(arrives_at.date() - timedelta(days=200), passports=True, needs=[FunctionalNeed.WHEELCHAIR],
                  country=country, office=office)
    await store.save_case(case)
    departs_at = arrives_at - timedelta(hours=14)
    booked_at = departs_at - timedelta(days=20)
    asked_at = departs_at - timedelta(days=120)
    booking = FlightBooking(booking_ref=f"PNR{uuid.uuid4().hex[:6].upper()}",
                            flight_number=f"XY{uuid.uuid4().int % 9000 + 1000}", departs_at=departs_at,
                            arrives_at=arrives_at, origin="NBO", destination="YWG", seats=len(case.people))
    steps = [StepRecord(step=Step.EXIT_PERMIT, state=StepState.DONE, reference=f"EP-{case.case_id}",
                        document_number="EXIT-2231-889", valid_from=asked_at.date(), updated_at=booked_at)]
    medical = []
    for person in case.people:
        steps.append(StepRecord(step=Step.HEALTH_ASSESSMENT, person_id=person.person_id, state=StepState.DONE,
                                reason="cleared after treatment", updated_at=booked_at))
        medical.append(MedicalFile(
            person_id=person.person_id,
            assessment=AssessmentResult(person_id=person.person_id, exam_date=asked_at.date(), tb_class=TbClass.B1,
                                        findings=FINDINGS, examined_by=case.medical_partner_id),
            fitness=FitnessResult(person_id=person.person_id, checked_at=departs_at - timedelta(hours=30), fit=True,
                                  functional_needs=[FunctionalNeed.WHEELCHAIR], examined_by=case.medical_partner_id)))
    audit = [
        _event(case.case_id, 1, asked_at, "step.requested", step=Step.EXIT_PERMIT.value, state="requested"),
        _event(case.case_id, 2, asked_at + timedelta(days=60), "step.done", step=Step.EXIT_PERMIT.value, state="done"),
        _event(case.case_id, 3, asked_at, "step.scheduled", step=f"{Step.HEALTH_ASSESSMENT.value}:"
               f"{case.people[0].person_id}", state="scheduled"),
        _event(case.case_id, 4, asked_at + timedelta(days=3), "step.done", step=f"{Step.HEALTH_ASSESSMENT.value}:"
               f"{case.people[0].person_id}", state="done"),
        _event(case.case_id, 5, booked_at, "step.done", step=Step.FLIGHT_BOOKING.value, state="done"),
    ]
    if phase is Phase.DEPARTED:
        audit.append(_event(case.case_id, 6, departs_at, "departure.departed", step=Step.DEPARTURE.value,
                            state="done"))
    await store.apply_progress(ProgressUpdate(
        case_id=case.case_id, phase=phase, steps=steps, medical=medical, audit=audit,
        bookings=[BookingRecord(attempt=1, idempotency_key=f"{case.case_id}-flight-1", status=BookingStatus.BOOKED,
                                booking=booking)]))
    documents = [
        await papers.travel_pack(store, case, booking),
        await papers.itinerary(store, case, booking),
        await papers.medical_summary(store, case, medical),
        await papers.fitness_certificate(store, case, case.people[0], booking),
        await papers.manifest(store, booking, case.destination.receiving_organisation, papers.passengers(case),
                              issuer_id="org_movement_operations"),
    ]
    return Seeded(case, booking, [d.document_id for d in documents])


def _plain(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


async def snapshot(store: Store, seeded: Seeded) -> dict[str, Any]:
    """Every row the case has in the store, its audit trail and its papers' bytes included, for comparisons."""
    case_id = seeded.case.case_id
    async with store.session() as session:
        def rows(model: Any, *where: Any) -> Any:
            return session.scalars(select(model).where(*where).order_by(*model.__table__.primary_key.columns))

        documents = [_plain(r) for r in await rows(DocumentRow, DocumentRow.document_id.in_(seeded.document_ids))]
        return {
            "case": [_plain(r) for r in await rows(CaseRow, CaseRow.case_id == case_id)],
            "people": [_plain(r) for r in await rows(PersonRow, PersonRow.case_id == case_id)],
            "steps": [_plain(r) for r in await rows(StepResultRow, StepResultRow.case_id == case_id)],
            "medical": [_plain(r) for r in await rows(MedicalResultRow, MedicalResultRow.case_id == case_id)],
            "bookings": [_plain(r) for r in await rows(BookingRow, BookingRow.case_id == case_id)],
            "audit": [_plain(r) for r in await rows(AuditRow, AuditRow.object_id == case_id)],
            "documents": documents,
            "pdfs": [_plain(r) for r in await rows(DocumentContentRow, DocumentContentRow.sha256.in_(
                [d["sha256"] for d in documents]))],
        }
