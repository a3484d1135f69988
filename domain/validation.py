"""Checks on what partners and coordinators send a departure. Each raises ValueError with a message that names
the field at fault; the workflow's Update validators and the API both use them, so the API can answer 422
before anything reaches the workflow, and a rejected Update leaves the departure unchanged."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.calendar import add_months
from domain.case import Case
from domain.departure import DeferRequest, DepartureState
from domain.medical import AssessmentResult, FitnessResult, ScreeningResult
from domain.policy import DestinationPolicy
from domain.steps import OPEN_FOR_RESULTS, Step, StepRecord, step_key

LATEST_DEFERRAL = timedelta(days=5 * 365)


def _open_step(state: DepartureState, case: Case, step: Step, person_id: str) -> StepRecord:
    if state.is_terminal:
        raise ValueError(f"the departure is {state.phase.value}; it takes no more results")
    if case.person(person_id) is None:
        raise ValueError(f"person_id: unknown person {person_id} in this case")
    record = state.steps.get(step_key(step, person_id))
    if record is None or record.state not in OPEN_FOR_RESULTS:
        current = record.state.value if record else "not required"
        raise ValueError(f"person_id: {step.value} for {person_id} is not open for results (it is {current})")
    return record


def _not_in_future(field: str, day: date, today: date) -> None:
    if day > today:
        raise ValueError(f"{field}: {day.isoformat()} is in the future")


def validate_assessment(
    state: DepartureState, case: Case, result: AssessmentResult, policy: DestinationPolicy, today: date
) -> None:
    _open_step(state, case, Step.HEALTH_ASSESSMENT, result.person_id)
    _not_in_future("exam_date", result.exam_date, today)
    person = case.person(result.person_id)
    assert person is not None
    if result.exam_date < person.date_of_birth:
        raise ValueError("exam_date: before the person's date of birth")
    if add_months(result.exam_date, policy.medical_validity_months) < today:
        raise ValueError(f"exam_date: an exam of {result.exam_date.isoformat()} has already expired")


def validate_screening(
    state: DepartureState, case: Case, result: ScreeningResult, policy: DestinationPolicy, today: date
) -> None:
    _open_step(state, case, Step.PRE_DEPARTURE_SCREENING, result.person_id)
    _not_in_future("screened_on", result.screened_on, today)
    if state.booking is None:
        raise ValueError("person_id: no flight is booked, so no screening is due")
    flight_day = state.booking.departs_at.date()
    earliest = flight_day - timedelta(days=policy.b1_screening_within_days)
    if not earliest <= result.screened_on <= flight_day:
        raise ValueError(
            f"screened_on: must fall within the {policy.b1_screening_within_days} days before the flight "
            f"({earliest.isoformat()} to {flight_day.isoformat()})"
        )


def validate_fitness(
    state: DepartureState, case: Case, result: FitnessResult, policy: DestinationPolicy, now: datetime
) -> None:
    _open_step(state, case, Step.FITNESS_TO_TRAVEL, result.person_id)
    if result.checked_at.tzinfo is None:
        raise ValueError("checked_at: needs a time zone")
    if result.checked_at > now:
        raise ValueError(f"checked_at: {result.checked_at.isoformat()} is in the future")
    if state.booking is None:
        raise ValueError("person_id: no flight is booked, so no fitness check is due")
    departs = state.booking.departs_at
    if not departs - policy.fitness_check_window <= result.checked_at <= departs:
        raise ValueError(
            f"checked_at: must fall within the {policy.fitness_check_within_hours} hours before the flight")


def validate_deferral(state: DepartureState, request: DeferRequest, today: date) -> None:
    if state.is_terminal:
        raise ValueError(f"the departure is {state.phase.value}; it cannot be deferred")
    if request.not_before < today:
        raise ValueError(f"not_before: {request.not_before.isoformat()} is in the past")
    if request.not_before > today + LATEST_DEFERRAL:
        raise ValueError("not_before: more than five years ahead; cancel the departure instead")


def validate_cancellation(state: DepartureState) -> None:
    if state.is_terminal:
        raise ValueError(f"the departure is already {state.phase.value}")
