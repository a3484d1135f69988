"""The one examination a result form answers, read for that person alone: the clinic's worklist may hold more
entries than one page lists, and a form must open for any of them. The same rules as the worklist's query
(api/medical/repository.py): the clinic's own case, a departure still under way, and a step waiting for a result."""

from __future__ import annotations

from api.context import ApiContext
from api.medical import service
from api.medical.schemas import MedicalStep, WorklistItem
from api.principal import Principal
from api.problems import ProblemError
from api.web.render import N_
from domain.departure import TERMINAL_PHASES
from domain.steps import Step, StepRecord, StepState, step_key

NOT_DUE = N_("No such result is due from your clinic for this person.")
TIMED_OFF_THE_FLIGHT = frozenset({MedicalStep.PRE_DEPARTURE_SCREENING, MedicalStep.FITNESS_TO_TRAVEL})


def waiting_for_result(record: StepRecord) -> bool:
    """An appointment waiting for its result, or a TB class A re-examination (blocked, with its new appointment)."""
    if record.state is StepState.SCHEDULED:
        return True
    return record.step is Step.HEALTH_ASSESSMENT and record.state is StepState.BLOCKED and bool(record.reference)


async def due_item(context: ApiContext, principal: Principal, case_id: str, person_id: str,
                   step: MedicalStep) -> WorklistItem:
    """404 alike for another clinic's case (as the JSON routes answer) and for a result not due."""
    async with service.outage_is_unavailable():
        case = await service.own_case(context, principal, case_id)
        person = case.person(person_id)
        phase = await context.store.departure_phase(case_id)
        steps = {r.key: r for r in await context.store.step_records(case_id)}
        record = steps.get(step_key(Step(step.value), person_id))
        if person is None or phase is None or phase[0] in TERMINAL_PHASES or record is None \
                or not waiting_for_result(record):
            raise ProblemError(404, NOT_DUE)
        booking = service.current_booking(await context.store.bookings(case_id))
    return WorklistItem(
        case_id=case_id, person_id=person_id, given_name=person.given_name, family_name=person.family_name,
        date_of_birth=person.date_of_birth, step=step, state=record.state, attempt=record.attempt,
        appointment_reference=record.reference, due_by=record.due_by,
        flight_departs_at=booking.departs_at if booking is not None and step in TIMED_OFF_THE_FLIGHT else None)
