"""Charter planning: a coordinator creates charters, the system proposes which ready families go on them and says
why each other family stays behind, and the coordinator accepts the proposal or edits it first.

The pieces live in `planning_*` modules; this one is what the rest of the system imports, and it also turns a
departure's state into the `ReadyCase` planning needs."""

from __future__ import annotations

from datetime import date

from domain.case import Case
from domain.departure import DepartureState
from domain.documents import movement_id
from domain.movement import CharterAssignment
from domain.planning_allocation import planning_order, propose
from domain.planning_calendar import NoticeRules, WorkingDayCalendar
from domain.planning_models import (
    Charter,
    CharterPlan,
    CharterSelection,
    LeftOut,
    LeftOutReason,
    MemberWindow,
    PlanningError,
    Proposal,
    ReadyCase,
)
from domain.planning_reasons import Flight, waiting, window_closed
from domain.planning_validation import charter_problem, refusal, validate_charter, validate_selection
from domain.steps import PER_PERSON_STEPS, StepState, step_key
from domain.windows import WINDOW_STEPS

__all__ = [
    "Charter", "CharterPlan", "charter_assignment_problem", "CharterSelection", "LeftOut", "LeftOutReason",
    "MemberWindow", "NoticeRules",
    "PlanningError", "Proposal", "ReadyCase", "WorkingDayCalendar", "charter_problem",
    "planning_order", "propose", "ready_case", "refusal", "validate_charter", "validate_selection",
]


def ready_case(case: Case, state: DepartureState, ready_since: date) -> ReadyCase | None:
    """The case as planning sees it, or None while a step that bounds the flight date is not done for every
    member (or the departure has ended). A booked case is returned with its movement, so a plan can say so."""
    if state.is_terminal:
        return None
    windows: list[MemberWindow] = []
    for step in sorted(WINDOW_STEPS):
        people = [p.person_id for p in case.people] if step in PER_PERSON_STEPS else [None]
        for person_id in people:
            record = state.steps.get(step_key(step, person_id))
            if record is None:
                return None
            if record.state is StepState.NOT_REQUIRED:
                continue
            if record.state is not StepState.DONE:
                return None
            windows.append(MemberWindow(step=step, person_id=person_id, valid_from=record.valid_from,
                                        valid_until=record.valid_until))
    booking = state.booking
    return ReadyCase(
        case_id=case.case_id, seats=len(case.people), priority=case.priority, ready_since=ready_since,
        destination_country=case.destination.country,
        receiving_organisation=case.destination.receiving_organisation, windows=tuple(windows),
        not_before=state.not_before,
        booked_on=movement_id(booking.flight_number, booking.departs_at.date()) if booking else None)


def charter_assignment_problem(case: Case, state: DepartureState, charter: CharterAssignment,
                               allocated_to: str | None, today: date) -> str | None:
    """Why a departure cannot take this charter now, or None. A departure that already holds (or was already
    given) this very charter takes it again without change, so an allocation sent twice books nothing twice."""
    if state.is_terminal:
        return f"the departure has {state.phase.value}; it takes no flight now"
    booking = state.booking
    if booking is not None:
        held = movement_id(booking.flight_number, booking.departs_at.date())
        return None if held == charter.movement_id else f"already holds seats on movement {held}"
    if allocated_to is not None and allocated_to != charter.movement_id:
        return f"already allocated to charter movement {allocated_to}"
    ready = ready_case(case, state, today)
    if ready is None:
        open_steps = sorted(key for key, record in state.steps.items() if record.step in WINDOW_STEPS
                            and record.state not in (StepState.DONE, StepState.NOT_REQUIRED))
        return "not ready for a flight: " + (", ".join(open_steps) or "its steps have not started")
    day = charter.departs_on
    if charter.destination_country.upper() != ready.destination_country:
        return f"flies to {ready.destination_country}, the charter to {charter.destination_country.upper()}"
    if day < today:
        return f"the charter left on {day}"
    if state.not_before is not None and day < state.not_before:
        return f"is deferred until {state.not_before}; the flight leaves on {day}"
    family = waiting(ready)
    window = family.blocking(day)
    if window is not None:
        flight = Flight(charter.movement_id, charter.flight.flight_number, day)
        return window_closed(family, window, flight).message
    return None
