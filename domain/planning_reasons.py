"""Why a case cannot take a flight, in the words a coordinator reads and the fields a program reads.

The checks go in one order, and a case left out gets the first one no flight passes: the destination, the
coordinator's deferral, the reception team's notice, the validity windows, and last the seats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.planning_models import Charter, LeftOut, LeftOutReason, MemberWindow, ReadyCase


@dataclass(slots=True)
class Waiting:
    """A ready family as the planner reads it, in one small record: what it needs, and the days every window of
    its members covers at once (as day ordinals), with the windows that set each end: the one starting last and
    the one ending first (the first listed among equals).

    Each family's windows are read once, into this, in the order the families came (and lie in memory). Placing
    the families, in another order, then touches this record, not the windows spread through memory: at 20,000
    families memory, more than instructions, is what a plan waits on."""

    case_id: str
    seats: int
    destination_country: str
    booked_on: str | None
    not_before: date | None
    earliest: int  # the ordinal of not_before, 0 without a deferral
    start: int
    end: int
    starts_last: MemberWindow | None
    ends_first: MemberWindow | None

    def blocking(self, day: date) -> MemberWindow | None:
        """The window that keeps a flight on `day` from the family, or None if every window is open that day."""
        ordinal = day.toordinal()
        if ordinal > self.end:
            return self.ends_first
        if ordinal < self.start:
            return self.starts_last
        return None


def waiting(case: ReadyCase) -> Waiting:
    start, end = date.min, date.max
    starts_last = ends_first = None
    for window in case.windows:
        valid_from, valid_until = window.valid_from, window.valid_until
        if valid_from is not None and valid_from > start:
            start, starts_last = valid_from, window
        if valid_until is not None and valid_until < end:
            end, ends_first = valid_until, window
    earliest = case.not_before.toordinal() if case.not_before is not None else 0
    return Waiting(case.case_id, case.seats, case.destination_country, case.booked_on, case.not_before, earliest,
                   start.toordinal(), end.toordinal(), starts_last, ends_first)


@dataclass(slots=True)
class Flight:
    """A charter as a reason names it, its movement id (a digest) worked out once."""

    movement_id: str
    flight_number: str
    departs_on: date


def flight_of(charter: Charter) -> Flight:
    return Flight(charter.movement_id, charter.flight_number, charter.departs_on)


def _step_of(window: MemberWindow) -> str:
    step = window.step.value.replace("_", " ")
    return f"the {step} of {window.person_id}" if window.person_id else f"the case's {step}"


def already_booked(case: Waiting, movement: str) -> LeftOut:
    return LeftOut(case_id=case.case_id, reason=LeftOutReason.ALREADY_BOOKED, movement_id=movement,
                   message=f"already holds seats on movement {movement}")


def other_destination(case: Waiting) -> LeftOut:
    country = case.destination_country
    return LeftOut(case_id=case.case_id, reason=LeftOutReason.OTHER_DESTINATION, destination_country=country,
                   message=f"no charter of this plan flies to {country}")


def deferred(case: Waiting, last: Flight) -> LeftOut:
    return LeftOut(
        case_id=case.case_id, reason=LeftOutReason.DEFERRED, not_before=case.not_before,
        movement_id=last.movement_id, flight_date=last.departs_on,
        message=f"deferred until {case.not_before}; flight {last.flight_number}, the last it could take, "
                f"leaves on {last.departs_on}")


def notice_too_short(case: Waiting, needs: int, has: int, latest: Flight) -> LeftOut:
    return LeftOut(
        case_id=case.case_id, reason=LeftOutReason.NOTICE_TOO_SHORT, needs_working_days=needs, has_working_days=has,
        movement_id=latest.movement_id, flight_date=latest.departs_on,
        message=f"the reception team needs {needs} working days' notice of an arrival; flight "
                f"{latest.flight_number}, the latest it could take, arrives {has} working days from today")


def window_closed(case: Waiting, window: MemberWindow, flight: Flight) -> LeftOut:
    if window.valid_until is not None and flight.departs_on > window.valid_until:
        why = f"ends on {window.valid_until}, before flight {flight.flight_number} on {flight.departs_on}"
    else:
        why = f"starts on {window.valid_from}, after flight {flight.flight_number} on {flight.departs_on}"
    return LeftOut(
        case_id=case.case_id, reason=LeftOutReason.WINDOW_CLOSED, movement_id=flight.movement_id,
        flight_date=flight.departs_on, step=window.step, person_id=window.person_id, valid_from=window.valid_from,
        valid_until=window.valid_until, message=f"{_step_of(window)} {why}")


def no_seats(case: Waiting, most_left: int) -> LeftOut:
    """`most_left`: the most seats any charter the family could take has left once the plan is made, as the
    coordinator sees them in the proposal (never more than when the family's turn came)."""
    return LeftOut(
        case_id=case.case_id, reason=LeftOutReason.NO_SEATS, family_size=case.seats, most_seats_left=most_left,
        message=f"a family of {case.seats} travels together; no charter it could take has more than {most_left} "
                f"seats left in this plan")
