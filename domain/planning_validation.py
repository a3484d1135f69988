"""Checks a coordinator's input must pass before anything changes: a charter as created or edited, and the
selection of families to put on the charters, as proposed or as edited before it is accepted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from domain import planning_reasons as reasons
from domain.planning_calendar import NoticeRules
from domain.planning_models import Charter, CharterSelection, PlanningError, ReadyCase


def charter_problem(seats: int, departs_on: date, arrives_on: date, today: date,
                    seats_taken: int = 0) -> tuple[str, str] | None:
    """(field, message) of the first rule a charter breaks, or None."""
    if seats < 1:
        return "seats", "a charter has at least one seat"
    if seats < seats_taken:
        return "seats", f"{seats_taken} seats are taken already; the charter cannot have fewer"
    if departs_on < today:
        return "departs_on", f"is in the past (today is {today})"
    if arrives_on < departs_on:
        return "arrives_on", "is before the departure"
    return None


def validate_charter(seats: int, departs_on: date, arrives_on: date, today: date, seats_taken: int = 0) -> None:
    problem = charter_problem(seats, departs_on, arrives_on, today, seats_taken)
    if problem:
        raise PlanningError(*problem)


def refusal(case: ReadyCase, charter: Charter) -> str | None:
    """Why this family cannot take this flight whatever its seats, or None. Notice is the charter's own matter."""
    if case.destination_country != charter.destination_country:
        return f"flies to {case.destination_country}, the charter to {charter.destination_country}"
    if case.not_before is not None and charter.departs_on < case.not_before:
        return f"is deferred until {case.not_before}; the flight leaves on {charter.departs_on}"
    family = reasons.waiting(case)
    window = family.blocking(charter.departs_on)
    if window is not None:
        return reasons.window_closed(family, window, reasons.flight_of(charter)).message
    return None


def validate_selection(selection: Sequence[CharterSelection], charters: Sequence[Charter],
                       cases: Sequence[ReadyCase], today: date, rules: NoticeRules | None = None) -> None:
    """Raise PlanningError naming the first family or charter of the selection that breaks a planning rule:
    a case that is unknown or not ready, already booked, chosen twice, on a flight it cannot take, or a family
    that does not fit in the seats left. The fields are `charters.<i>.movement_id|case_ids[.<j>]`."""
    rules = rules or NoticeRules()
    by_movement = {c.movement_id: c for c in charters}
    ready = {c.case_id: c for c in cases}
    on_board = {case_id: c.movement_id for c in charters for case_id in c.on_board}
    chosen_movements: set[str] = set()
    chosen_cases: set[str] = set()
    for i, chosen in enumerate(selection):
        charter = by_movement.get(chosen.movement_id)
        if charter is None:
            raise PlanningError(f"charters.{i}.movement_id", "is not a charter of this plan")
        if chosen.movement_id in chosen_movements:
            raise PlanningError(f"charters.{i}.movement_id", "the same charter is listed twice")
        chosen_movements.add(chosen.movement_id)
        if charter.departs_on < today:
            raise PlanningError(f"charters.{i}.movement_id", f"the flight left on {charter.departs_on}")
        if not chosen.case_ids:
            continue
        lead = rules.lead_days(charter.destination_country)
        notice = rules.notice(charter.destination_country, today, charter.arrives_on)
        if notice < lead:
            raise PlanningError(f"charters.{i}.case_ids", f"the reception team needs {lead} working days' notice "
                                                          f"of an arrival; this flight arrives in {notice}")
        seats_left = charter.seats_left
        for j, case_id in enumerate(chosen.case_ids):
            where = f"charters.{i}.case_ids.{j}"
            if case_id in chosen_cases:
                raise PlanningError(where, f"case {case_id} is chosen twice; a family travels on one flight")
            chosen_cases.add(case_id)
            case = ready.get(case_id)
            if case is None:
                raise PlanningError(where, f"case {case_id} is not ready for a flight")
            booked = on_board.get(case_id) or case.booked_on
            if booked:
                raise PlanningError(where, f"case {case_id} already holds seats on movement {booked}")
            why = refusal(case, charter)
            if why:
                raise PlanningError(where, f"case {case_id} cannot take this flight: {why}")
            if case.seats > seats_left:
                raise PlanningError(where, f"case {case_id}: a family of {case.seats} does not fit in the "
                                           f"{seats_left} seats left")
            seats_left -= case.seats
