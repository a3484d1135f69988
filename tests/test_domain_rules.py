"""The pure rules: validity windows, what must be redone, dates, and the case's own consistency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.calendar import add_months, add_working_days
from domain.case import Relationship
from domain.departure import DeferRequest, DepartureState, Phase
from domain.medical import AssessmentResult, TbClass
from domain.partner_messages import FlightBooking
from domain.policy import DestinationPolicy, PolicyBook
from domain.steps import Step, StepRecord, StepState
from domain.validation import validate_deferral, validate_fitness
from domain.windows import (
    assessment_validity,
    earliest_departure,
    feasible_window,
    must_redo,
    open_windows,
    passport_validity,
    plan_redo,
)
from tests.factories import family

TODAY = date(2026, 11, 23)  # a Monday


def done(step: Step, start: date | None, end: date | None, person: str | None = None) -> StepRecord:
    return StepRecord(step=step, person_id=person, state=StepState.DONE, valid_from=start, valid_until=end)


def test_six_months_from_the_end_of_august_is_the_end_of_february() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), -5) == date(2026, 6, 15)


def test_ten_working_days_skip_weekends_and_holidays() -> None:
    assert add_working_days(TODAY, 10) == date(2026, 12, 7)
    assert add_working_days(date(2026, 12, 18), 1) == date(2026, 12, 21)  # Friday -> Monday
    christmas = {date(2026, 12, 25), date(2026, 12, 28)}
    assert add_working_days(date(2026, 12, 24), 2, christmas) == date(2026, 12, 30)


def test_the_medical_exam_is_valid_for_six_months_by_default_and_per_destination() -> None:
    result = AssessmentResult(person_id="p", exam_date=date(2026, 3, 10), tb_class=TbClass.NONE, examined_by="c")
    assert assessment_validity(result, DestinationPolicy()).end == date(2026, 9, 10)
    book = PolicyBook(overrides={"US": {"medical_validity_months": 12}})
    assert assessment_validity(result, book.for_country("us")).end == date(2027, 3, 10)
    assert book.for_country("CA").medical_validity_months == 6


def test_a_passport_counts_only_while_it_stays_valid_long_enough_after_departure() -> None:
    window = passport_validity(date(2027, 6, 1), DestinationPolicy(passport_min_remaining_days=180))
    assert window is not None and window.end == date(2026, 12, 3)


def test_the_feasible_window_is_where_every_validity_overlaps() -> None:
    records = [
        done(Step.EXIT_PERMIT, date(2026, 10, 1), date(2027, 10, 1)),
        done(Step.HEALTH_ASSESSMENT, date(2026, 9, 1), date(2027, 3, 1), "p1"),
        done(Step.TRAVEL_DOCUMENT, None, date(2027, 1, 31), "p1"),
        done(Step.ORIENTATION, date(2026, 12, 1), date(2026, 12, 31)),
    ]
    window = feasible_window(records, TODAY)
    assert window is not None and (window.start, window.end) == (date(2026, 12, 1), date(2026, 12, 31))
    assert open_windows(records, date(2027, 1, 15)) == {
        "exit_permit": True, "health_assessment:p1": True, "travel_document:p1": True, "orientation": False}
    assert {r.key for r in must_redo(records, date(2027, 2, 10))} == {"orientation", "travel_document:p1"}


def test_no_window_while_a_step_is_not_done_or_when_windows_do_not_meet() -> None:
    pending = [done(Step.EXIT_PERMIT, TODAY, TODAY + timedelta(days=300)),
               StepRecord(step=Step.ORIENTATION, state=StepState.SCHEDULED)]
    assert feasible_window(pending, TODAY) is None
    apart = [done(Step.HEALTH_ASSESSMENT, date(2026, 6, 1), date(2026, 12, 1), "p1"),
             done(Step.ORIENTATION, date(2026, 12, 10), date(2027, 1, 9))]
    assert feasible_window(apart, TODAY) is None
    # The exam ended before the orientation began: the exam is what must be redone.
    assert [r.key for r in plan_redo(apart, TODAY)] == ["health_assessment:p1"]


def test_not_required_steps_do_not_bound_the_window() -> None:
    records = [done(Step.EXIT_PERMIT, TODAY, TODAY + timedelta(days=60)),
               StepRecord(step=Step.TRAVEL_DOCUMENT, person_id="p", state=StepState.NOT_REQUIRED)]
    window = feasible_window(records, TODAY + timedelta(days=5))
    assert window is not None and window.end == TODAY + timedelta(days=60)


def test_the_earliest_departure_leaves_the_reception_team_its_notice() -> None:
    assert earliest_departure(TODAY, DestinationPolicy()) == date(2026, 12, 7)
    assert earliest_departure(TODAY, DestinationPolicy(arrival_notice_working_days=0)) == TODAY


def test_a_case_has_exactly_one_principal_and_unique_people() -> None:
    case = family(TODAY, children=2)
    data = case.model_dump()
    data["people"][1]["relationship"] = Relationship.PRINCIPAL.value
    with pytest.raises(ValidationError, match="exactly one principal"):
        type(case).model_validate(data)
    data = case.model_dump()
    data["people"][1]["person_id"] = data["people"][0]["person_id"]
    with pytest.raises(ValidationError, match="unique"):
        type(case).model_validate(data)
    data = case.model_dump()
    data["people"][2]["date_of_birth"] = TODAY + timedelta(days=1)
    with pytest.raises(ValidationError, match="date_of_birth"):
        type(case).model_validate(data)


def test_orientation_is_in_the_language_most_of_the_family_speaks() -> None:
    case = family(TODAY, children=2)
    assert case.orientation_language() == "fa"


def test_a_fitness_check_must_fall_within_72_hours_before_the_flight() -> None:
    case = family(TODAY, children=0)
    departs = datetime(2026, 12, 10, 18, 0, tzinfo=UTC)
    pid = case.principal.person_id
    state = DepartureState(case_id=case.case_id, phase=Phase.AWAITING_FLIGHT, steps={
        f"fitness_to_travel:{pid}": StepRecord(step=Step.FITNESS_TO_TRAVEL, person_id=pid, state=StepState.SCHEDULED)},
        booking=FlightBooking(booking_ref="b", flight_number="f", departs_at=departs, arrives_at=departs,
                              origin="x", destination="y", seats=2))
    from domain.medical import FitnessResult

    def check(at: datetime) -> None:
        validate_fitness(state, case, FitnessResult(person_id=pid, checked_at=at, fit=True, examined_by="c"),
                         DestinationPolicy(), now=departs)

    check(departs - timedelta(hours=71))
    with pytest.raises(ValueError, match="checked_at: must fall within the 72 hours"):
        check(departs - timedelta(hours=73))


def test_a_deferral_cannot_point_to_the_past_or_follow_a_cancellation() -> None:
    state = DepartureState(case_id="case_x")
    with pytest.raises(ValueError, match="not_before: .* is in the past"):
        yesterday = DeferRequest(not_before=TODAY - timedelta(days=1), reason="r", requested_by="c")
        validate_deferral(state, yesterday, TODAY)
    state.phase = Phase.CANCELLED
    with pytest.raises(ValueError, match="cancelled"):
        validate_deferral(state, DeferRequest(not_before=TODAY, reason="r", requested_by="c"), TODAY)


def test_non_medical_views_carry_no_medical_file() -> None:
    from domain.medical import MedicalFile

    state = DepartureState(case_id="c", medical={"p": MedicalFile(person_id="p")})
    assert state.without_medical_details().medical == {}
