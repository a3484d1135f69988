"""Read queries for the medical partner. Every query is scoped to the clinic's own cases in SQL, so a result
outside them cannot be returned by mistake further up."""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from api.context import ApiContext
from api.medical.schemas import MedicalStep, WorklistItem
from domain.departure import TERMINAL_PHASES, BookingStatus
from domain.steps import Step, StepState
from store.models import BookingRow, CaseRow, PersonRow, StepResultRow

PRE_EMBARKATION = (Step.PRE_DEPARTURE_SCREENING.value, Step.FITNESS_TO_TRAVEL.value)


async def worklist(context: ApiContext, clinic_id: str, step: MedicalStep | None, limit: int) -> list[WorklistItem]:
    """Examinations due from this clinic: appointments waiting for a result, and TB class A re-examinations
    (the assessment stays blocked, with the new appointment's reference, until the clinic clears it)."""
    flight = (
        select(BookingRow.departs_at)
        .where(BookingRow.case_id == StepResultRow.case_id, BookingRow.status == BookingStatus.BOOKED.value)
        .order_by(BookingRow.attempt.desc())
        .limit(1)
        .scalar_subquery()
    )
    due = or_(
        StepResultRow.state == StepState.SCHEDULED.value,
        and_(
            StepResultRow.step == Step.HEALTH_ASSESSMENT.value,
            StepResultRow.state == StepState.BLOCKED.value,
            StepResultRow.reference.is_not(None),
        ),
    )
    steps = [step.value] if step else [s.value for s in MedicalStep]
    query = (
        select(StepResultRow, PersonRow, flight.label("flight_departs_at"))
        .join(CaseRow, CaseRow.case_id == StepResultRow.case_id)
        .join(PersonRow, and_(PersonRow.person_id == StepResultRow.person_id,
                              PersonRow.case_id == StepResultRow.case_id))
        .where(
            CaseRow.medical_partner_id == clinic_id,
            CaseRow.departure_phase.not_in([p.value for p in TERMINAL_PHASES]),
            StepResultRow.step.in_(steps),
            due,
        )
        .order_by(StepResultRow.due_by.is_(None), StepResultRow.due_by, StepResultRow.case_id, PersonRow.position,
                  StepResultRow.step)
        .limit(limit)
    )
    async with context.store.session() as session:
        rows = (await session.execute(query)).all()
    return [
        WorklistItem(
            case_id=record.case_id,
            person_id=person.person_id,
            given_name=person.given_name,
            family_name=person.family_name,
            date_of_birth=person.date_of_birth,
            step=MedicalStep(record.step),
            state=StepState(record.state),
            attempt=record.attempt,
            appointment_reference=record.reference,
            due_by=record.due_by,
            flight_departs_at=departs_at if record.step in PRE_EMBARKATION else None,
        )
        for record, person, departs_at in rows
    ]
