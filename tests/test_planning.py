"""Charter planning: families go whole on the earliest charter they can take, most urgent first; every family left
out is told why; a coordinator's edits and bad input are refused with the field named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings

from domain.calendar import add_working_days
from domain.departure import DepartureState
from domain.partner_messages import FlightBooking
from domain.planning import (
    CharterSelection,
    LeftOutReason,
    NoticeRules,
    PlanningError,
    Proposal,
    propose,
    ready_case,
    validate_charter,
    validate_selection,
)
from domain.policy import PolicyBook
from domain.steps import Step, StepRecord, StepState, step_key
from tests.factories import family
from tests.planning_fixtures import TODAY, charter, day, plain_plan, plans, ready, window


def reason_of(proposal: Proposal, case_id: str) -> dict[str, object]:
    return next(item for item in proposal.left_out if item.case_id == case_id).as_dict()


def test_a_family_goes_whole_on_the_earliest_charter_with_room_for_all_of_it() -> None:
    early, late = charter("AC101", 20, seats=4), charter("AC102", 27, seats=10)
    proposal = propose([late, early], [ready("case_big", seats=5, waiting=90), ready("case_small", seats=4)], TODAY)
    assert proposal.placement() == {"case_big": late.movement_id, "case_small": early.movement_id}
    assert [(p.flight_number, p.seats_proposed, p.seats_left) for p in proposal.charters] == [("AC101", 4, 0),
                                                                                              ("AC102", 5, 5)]


def test_when_seats_are_scarce_priority_goes_first_then_the_longest_wait() -> None:
    flight = charter("AC101", 20, seats=6)
    cases = [ready("case_long_wait_p3", priority=3, waiting=400), ready("case_recent_p1", priority=1, waiting=5),
             ready("case_older_p1", priority=1, waiting=50)]
    proposal = propose([flight], cases, TODAY)
    assert proposal.charters[0].case_ids == ["case_older_p1", "case_recent_p1"]
    assert reason_of(proposal, "case_long_wait_p3")["reason"] == "no_seats"


def test_a_family_too_big_for_the_seats_left_is_not_split_and_a_smaller_one_behind_it_flies() -> None:
    proposal = propose([charter("AC101", 20, seats=10, taken=6, on_board=["case_earlier"])],
                       [ready("case_five", seats=5, priority=1), ready("case_four", seats=4, priority=2)], TODAY)
    assert proposal.charters[0].case_ids == ["case_four"]
    # The seats left are those of the plan as made: the four went to the family of four.
    assert reason_of(proposal, "case_five") == {
        "case_id": "case_five", "reason": "no_seats", "family_size": 5, "most_seats_left": 0,
        "message": "a family of 5 travels together; no charter it could take has more than 0 seats left in this plan"}


def test_a_family_already_on_a_charter_or_another_flight_is_not_proposed_again() -> None:
    flight = charter("AC101", 20, seats=10, taken=3, on_board=["case_on_board"])
    proposal = propose([flight], [ready("case_on_board"), ready("case_scheduled", booked_on="mov_elsewhere")], TODAY)
    assert proposal.placement() == {}
    assert reason_of(proposal, "case_on_board")["reason"] == "already_booked"
    assert reason_of(proposal, "case_on_board")["movement_id"] == flight.movement_id
    assert reason_of(proposal, "case_scheduled")["movement_id"] == "mov_elsewhere"


def test_a_family_bound_elsewhere_is_left_for_a_charter_to_its_country() -> None:
    proposal = propose([charter("AC101", 20)], [ready("case_us", country="us")], TODAY)
    assert reason_of(proposal, "case_us") == {"case_id": "case_us", "reason": "other_destination",
                                              "destination_country": "US",
                                              "message": "no charter of this plan flies to US"}


def test_a_deferred_family_takes_the_first_charter_after_its_deferral_or_is_told_it_is_deferred() -> None:
    first, second = charter("AC101", 20), charter("AC102", 30)
    proposal = propose([first, second], [ready("case_later", not_before=25), ready("case_much_later", not_before=31)],
                       TODAY)
    assert proposal.placement() == {"case_later": second.movement_id}
    left = reason_of(proposal, "case_much_later")
    assert left["reason"] == "deferred" and left["not_before"] == day(31) and left["movement_id"] == second.movement_id


def test_a_charter_arriving_before_the_reception_team_has_ten_working_days_notice_takes_nobody() -> None:
    # Today is Monday 23 November: ten working days on is Monday 7 December.
    assert add_working_days(TODAY, 10) == day(14)
    too_soon, in_time = charter("AC101", 13), charter("AC102", 14)
    proposal = propose([too_soon], [ready("case_a")], TODAY)
    assert reason_of(proposal, "case_a") | {"message": ""} == {
        "case_id": "case_a", "reason": "notice_too_short", "needs_working_days": 10, "has_working_days": 9,
        "movement_id": too_soon.movement_id, "flight_date": day(13), "message": ""}
    assert propose([too_soon, in_time], [ready("case_a")], TODAY).placement() == {"case_a": in_time.movement_id}


def test_notice_is_counted_on_the_destinations_holidays_and_its_own_lead_time() -> None:
    flight = charter("AC101", 14)
    holiday = NoticeRules(holidays={"CA": [day(2)]})
    assert reason_of(propose([flight], [ready("case_a")], TODAY, holiday), "case_a")["has_working_days"] == 9
    shorter = NoticeRules(policies=PolicyBook(overrides={"CA": {"arrival_notice_working_days": 3}}))
    assert propose([charter("AC101", 3)], [ready("case_a")], TODAY, shorter).placement() == {
        "case_a": charter("AC101", 3).movement_id}


def test_a_window_that_ends_before_every_charter_is_named_with_its_person_and_date() -> None:
    exam = window(Step.HEALTH_ASSESSMENT, "per_child", -100, 18)
    flight = charter("AC101", 20)
    proposal = propose([flight], [ready("case_a", windows=[window(Step.EXIT_PERMIT, None, -50, 300), exam])], TODAY)
    left = reason_of(proposal, "case_a")
    assert left["reason"] == "window_closed" and left["step"] == Step.HEALTH_ASSESSMENT
    assert left["person_id"] == "per_child" and left["valid_until"] == day(18)
    assert left["movement_id"] == flight.movement_id and left["flight_date"] == day(20)
    assert left["message"] == f"the health assessment of per_child ends on {day(18)}, before flight AC101 on {day(20)}"


def test_a_window_that_opens_after_every_charter_is_named_with_its_start() -> None:
    permit = window(Step.EXIT_PERMIT, None, 40, 400)
    proposal = propose([charter("AC101", 20), charter("AC102", 30)], [ready("case_a", windows=[permit])], TODAY)
    left = reason_of(proposal, "case_a")
    assert (left["reason"], left["step"], left["valid_from"], left["flight_date"]) == (
        "window_closed", Step.EXIT_PERMIT, day(40), day(30))
    assert left["message"].startswith("the case's exit permit starts on")


def test_every_window_of_every_member_must_be_open_on_the_flight_date() -> None:
    first, second = charter("AC101", 20), charter("AC102", 30)
    # The last day a window is valid still counts.
    windows = [window(Step.TRAVEL_DOCUMENT, "per_a", 25, None), window(Step.HEALTH_ASSESSMENT, "per_b", None, 30)]
    proposal = propose([first, second], [ready("case_a", windows=windows)], TODAY)
    assert proposal.placement() == {"case_a": second.movement_id}


def test_bad_input_is_refused_with_the_field_named_and_nothing_planned() -> None:
    with pytest.raises(PlanningError) as past:
        propose([charter("AC101", 20), charter("AC102", -1)], [ready("case_a")], TODAY)
    assert past.value.field == "charters.1.departs_on"
    with pytest.raises(PlanningError) as twice:
        propose([charter("AC101", 20)], [ready("case_a"), ready("case_a")], TODAY)
    assert twice.value.field == "cases.1"
    with pytest.raises(PlanningError) as same_flight:
        propose([charter("AC101", 20), charter("ac101", 20)], [], TODAY)
    assert same_flight.value.field == "charters.1"


@pytest.mark.parametrize(("seats", "departs", "arrives", "taken", "field"), [
    (150, 20, 21, 151, "seats"),  # below the seats already taken
    (0, 20, 21, 0, "seats"),
    (150, -1, 0, 0, "departs_on"),  # in the past
    (150, 20, 19, 0, "arrives_on"),  # before it leaves
])
def test_a_charter_that_breaks_a_rule_is_refused_with_the_field_named(seats: int, departs: int, arrives: int,
                                                                      taken: int, field: str) -> None:
    with pytest.raises(PlanningError) as refused:
        validate_charter(seats, day(departs), day(arrives), TODAY, taken)
    assert refused.value.field == field


def test_a_charter_leaving_today_with_every_seat_taken_is_valid() -> None:
    validate_charter(150, TODAY, day(1), TODAY, 150)


def edited_plan() -> tuple[list, list, Proposal]:
    charters = [charter("AC101", 20, seats=8, taken=2, on_board=["case_held"]), charter("AC102", 30, seats=6),
                charter("AC103", 5)]
    cases = [ready("case_a", seats=4), ready("case_b", seats=3),
             ready("case_c", seats=3, windows=[window(Step.ORIENTATION, None, -5, 25)]),
             ready("case_us", country="US"), ready("case_late", not_before=28), ready("case_held")]
    return charters, cases, propose(charters, cases, TODAY)


def test_an_unedited_proposal_passes_its_own_check() -> None:
    charters, cases, proposal = edited_plan()
    assert proposal.placement() == {"case_a": charters[0].movement_id, "case_b": charters[1].movement_id,
                                    "case_late": charters[1].movement_id}
    validate_selection(proposal.selection(), charters, cases, TODAY)


@pytest.mark.parametrize(("edit", "field", "says"), [
    ({0: ["case_a", "case_ghost"]}, "charters.0.case_ids.1", "not ready"),
    ({0: ["case_a", "case_c"]}, "charters.0.case_ids.1", "does not fit"),
    ({0: ["case_a"], 1: ["case_a"]}, "charters.1.case_ids.0", "chosen twice"),
    ({1: ["case_c"]}, "charters.0.case_ids.0", "orientation"),  # its window closes before the 30th
    ({0: ["case_us"]}, "charters.0.case_ids.0", "flies to US"),
    ({0: ["case_late"]}, "charters.0.case_ids.0", "deferred"),
    ({1: ["case_held"]}, "charters.0.case_ids.0", "already holds seats"),
    ({2: ["case_b"]}, "charters.0.case_ids", "working days' notice"),
])
def test_an_edit_that_breaks_a_rule_is_refused_with_the_field_named(edit: dict[int, list[str]], field: str,
                                                                    says: str) -> None:
    # An edit maps a charter of the plan to the families put on it; the field counts in the edit's own order.
    charters, cases, _ = edited_plan()
    selection = [CharterSelection(movement_id=charters[i].movement_id, case_ids=ids) for i, ids in edit.items()]
    with pytest.raises(PlanningError) as refused:
        validate_selection(selection, charters, cases, TODAY)
    assert refused.value.field == field and says in refused.value.message


def test_an_edit_naming_a_charter_not_in_the_plan_is_refused() -> None:
    charters, cases, _ = edited_plan()
    with pytest.raises(PlanningError) as refused:
        validate_selection([CharterSelection(movement_id="mov_unknown", case_ids=[])], charters, cases, TODAY)
    assert refused.value.field == "charters.0.movement_id"


def test_a_departure_is_ready_once_every_window_step_is_done_for_every_member() -> None:
    case = family(TODAY, children=0)
    ids = [p.person_id for p in case.people]
    steps = {step_key(Step.EXIT_PERMIT): StepRecord(step=Step.EXIT_PERMIT, state=StepState.DONE, valid_until=day(90)),
             step_key(Step.ORIENTATION): StepRecord(step=Step.ORIENTATION, state=StepState.NOT_REQUIRED)}
    for pid in ids:
        for step in (Step.TRAVEL_DOCUMENT, Step.HEALTH_ASSESSMENT):
            steps[step_key(step, pid)] = StepRecord(step=step, person_id=pid, state=StepState.DONE,
                                                    valid_from=day(-10), valid_until=day(170))
    state = DepartureState(case_id=case.case_id, steps=steps)
    found = ready_case(case, state, ready_since=day(-3))
    assert found is not None and found.seats == 2 and len(found.windows) == 5 and found.booked_on is None
    assert {(w.step, w.person_id) for w in found.windows} >= {(Step.HEALTH_ASSESSMENT, pid) for pid in ids}
    exam = step_key(Step.HEALTH_ASSESSMENT, ids[1])
    state.steps[exam] = state.steps[exam].model_copy(update={"state": StepState.SCHEDULED})
    assert ready_case(case, state, ready_since=day(-3)) is None
    state.steps[exam] = steps[exam]
    leaves = datetime(2026, 12, 20, 9, tzinfo=UTC)
    state.booking = FlightBooking(booking_ref="B1", flight_number="AC101", departs_at=leaves,
                                  arrives_at=leaves + timedelta(hours=12), origin="BEY", destination="YYZ", seats=2)
    booked = ready_case(case, state, ready_since=day(-3))
    assert booked is not None and booked.booked_on == charter("AC101", 27).movement_id


@settings(max_examples=300, deadline=None)
@given(plans())
def test_the_planner_agrees_with_a_plain_one_and_keeps_every_rule(plan: tuple) -> None:
    charters, cases, rules = plan
    proposal = propose(charters, cases, TODAY, rules)
    placed, why = plain_plan(charters, cases, TODAY, rules)
    assert {p.movement_id: p.case_ids for p in proposal.charters} == placed
    assert propose(charters[::-1], cases[::-1], TODAY, rules) == proposal  # the order of the input does not matter
    by_id = {c.case_id: c for c in cases}
    flights = {c.movement_id: c for c in charters}
    for plan_ in proposal.charters:
        flight = flights[plan_.movement_id]
        assert plan_.seats_proposed == sum(by_id[c].seats for c in plan_.case_ids) and plan_.seats_left >= 0
        due = add_working_days(TODAY, rules.lead_days(flight.destination_country),
                               rules.holidays.get(flight.destination_country, ()))
        for case_id in plan_.case_ids:
            case = by_id[case_id]
            assert all(w.covers(flight.departs_on) for w in case.windows) and flight.arrives_on >= due
    assert [item.case_id for item in proposal.left_out] == [c for c in sorted(
        by_id, key=lambda c: (by_id[c].priority, by_id[c].ready_since, c)) if c in why]
    for item in proposal.left_out:
        reason, movement, number = why[item.case_id]
        assert item.reason == LeftOutReason(reason)
        if reason == "window_closed":  # the flight named is one the family could otherwise take, closed to it
            flight = flights[item.movement_id]
            assert flight.destination_country == by_id[item.case_id].destination_country
            closed = next(w for w in by_id[item.case_id].windows if (w.step, w.person_id, w.valid_from,
                                                                     w.valid_until) == (item.step, item.person_id,
                                                                                        item.valid_from,
                                                                                        item.valid_until))
            assert not closed.covers(flight.departs_on)
        elif reason in ("already_booked", "deferred", "notice_too_short"):
            assert item.movement_id == movement
        if reason == "no_seats":
            assert item.most_seats_left == number
        if reason == "notice_too_short":
            assert item.has_working_days == number
