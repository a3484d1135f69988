"""Charter planning: a coordinator creates charters, the system proposes which ready families go on them and says
why each other family stays behind, and the coordinator accepts the proposal or edits it first.

The pieces live in `planning_*` modules; this one is what the rest of the system imports, and it also turns a
departure's state into the `ReadyCase` planning needs."""

from __future__ import annotations

from datetime import date

from domain.case import Case
from domain.departure import DepartureState
from domain.documents import movement_id
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
from domain.planning_validation import charter_problem, refusal, validate_charter, validate_selection
from domain.steps import PER_PERSON_STEPS, StepState, step_key
from domain.windows import WINDOW_STEPS

__all__ = [
    "Charter", "CharterPlan", "CharterSelection", "LeftOut", "LeftOutReason", "MemberWindow", "NoticeRules",
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
        receiving_organisation=case.destination.receiving_organisation, windows=windows,
        not_before=state.not_before,
        booked_on=movement_id(booking.flight_number, booking.departs_at.date()) if booking else None)
