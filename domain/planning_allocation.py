"""The proposal: which ready families go on which charter.

Families are taken most urgent first (priority, then the longest wait, then case id, so equal inputs give equal
proposals), and each goes whole on the earliest charter it can take that still has seats for all of it. Nothing
here walks every charter for every case: a destination's charters are sorted by date once, the date limits of a
case (deferral, notice, windows) become a range of them by binary search, and pointers to the next charter with
room for a family's size find the first one in that range that can take it, near O(1) amortised; so a plan costs
O(n log m + m log m) for n cases and m charters, the log m only in binary searches."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from domain import planning_reasons as reasons
from domain.planning_calendar import NoticeRules
from domain.planning_models import Charter, CharterPlan, LeftOut, PlanningError, Proposal, ReadyCase
from domain.planning_validation import charter_problem


class SeatsLeft:
    """Seats left per charter, in date order, as families are put on them.

    Which charter from an index on first has room for a family of a given size: a pointer per family size to the
    next charter with room, and a charter with fewer seats left than that size is skipped for good (seats only ever
    go down), with the pointers followed shortened as they are read. Each lookup costs near O(1) amortised; a
    family size first asked about costs one pass over the charters."""

    def __init__(self, seats_left: Sequence[int]) -> None:
        self.left = list(seats_left)
        self._next_with_room: dict[int, list[int]] = {}

    def _pointers(self, seats: int) -> list[int]:
        pointers = self._next_with_room.get(seats)
        if pointers is None:
            left = self.left
            pointers = [i if left[i] >= seats else i + 1 for i in range(len(left))]
            pointers.append(len(left))  # past the last charter: none
            self._next_with_room[seats] = pointers
        return pointers

    def first_with(self, start: int, seats: int) -> int:
        """The first index from `start` on with at least `seats` left; len(left) if none."""
        pointers = self._pointers(seats)
        index = start
        while pointers[index] != index:
            pointers[index] = pointers[pointers[index]]
            index = pointers[index]
        return index

    def take(self, index: int, seats: int) -> None:
        before = self.left[index]
        after = self.left[index] = before - seats
        for size, pointers in self._next_with_room.items():
            if after < size <= before:
                pointers[index] = index + 1


class MostLeft:
    """The most seats left on any charter of a range, once the plan is made: a sparse table, O(1) a range."""

    def __init__(self, seats_left: Sequence[int]) -> None:
        self._levels = [list(seats_left)]
        width = 1
        while 2 * width <= len(seats_left):
            below = self._levels[-1]
            self._levels.append([max(below[i], below[i + width]) for i in range(len(below) - width)])
            width *= 2

    def __call__(self, start: int, stop: int) -> int:
        level = (stop - start).bit_length() - 1
        row = self._levels[level]
        return max(row[start], row[stop - (1 << level)])


@dataclass
class _Destination:
    """One country's charters by date, and those whose arrival the reception team hears of in time."""

    flights: list[reasons.Flight]  # every charter there, by departure
    days: list[int]  # their departure days, as ordinals
    notice: list[int]  # working days of notice each charter's arrival gives
    latest_from: list[int]  # the charter arriving last from this index on (the earliest such): most notice
    lead_days: int
    in_time: list[reasons.Flight] = field(default_factory=list)
    in_time_days: list[int] = field(default_factory=list)
    plans: list[CharterPlan] = field(default_factory=list)
    seats: SeatsLeft = field(default_factory=lambda: SeatsLeft([]))


def _by_departure(charter: Charter) -> tuple[date, date, str]:
    return charter.departs_on, charter.arrives_on, charter.flight_number


def _destinations(charters: Sequence[Charter], plans: dict[str, CharterPlan], today: date,
                  rules: NoticeRules) -> dict[str, _Destination]:
    grouped: dict[str, list[Charter]] = {}
    for charter in sorted(charters, key=_by_departure):
        grouped.setdefault(charter.destination_country, []).append(charter)
    destinations = {}
    for country, there in grouped.items():
        notice = [rules.notice(country, today, c.arrives_on) for c in there]
        latest = list(range(len(there)))
        for i in range(len(there) - 2, -1, -1):
            if there[i].arrives_on < there[latest[i + 1]].arrives_on:
                latest[i] = latest[i + 1]
        flights = [reasons.flight_of(c) for c in there]
        place = _Destination(flights, [c.departs_on.toordinal() for c in there], notice, latest,
                             rules.lead_days(country))
        seats_left = []
        for charter, flight, days in zip(there, flights, notice, strict=True):
            if days >= place.lead_days:
                place.in_time.append(flight)
                place.in_time_days.append(charter.departs_on.toordinal())
                place.plans.append(plans[flight.movement_id])
                seats_left.append(charter.seats_left)
        place.seats = SeatsLeft(seats_left)
        destinations[country] = place
    return destinations


def _check_charters(charters: Sequence[Charter], today: date) -> None:
    movements: set[str] = set()
    for i, charter in enumerate(charters):
        problem = charter_problem(charter.seats, charter.departs_on, charter.arrives_on, today, charter.seats_taken)
        if problem:
            raise PlanningError(f"charters.{i}.{problem[0]}", problem[1])
        if charter.movement_id in movements:
            raise PlanningError(f"charters.{i}", f"flight {charter.flight_number} on {charter.departs_on} is "
                                                 f"listed twice")
        movements.add(charter.movement_id)


def planning_order(case: ReadyCase) -> tuple[int, date, str]:
    """Most urgent first: priority, then the longest wait, then case id so equal inputs give equal proposals."""
    return case.priority, case.ready_since, case.case_id


def _read(cases: Sequence[ReadyCase]) -> tuple[list[reasons.Waiting], list[int]]:
    """Each family as the planner needs it, and the indices of the families in `planning_order`, in one pass.

    One pass, in the order the cases came: at 20,000 cases they no longer fit the processor's caches, and each
    further pass over them cost as much as reading them. The order groups families by priority and waiting day
    (a few thousand groups whatever their number) and compares by id only within a group: near-linear, where one
    sort of every case grows as n log n."""
    families: list[reasons.Waiting] = []
    ids: list[str] = []
    groups: dict[tuple[int, date], list[int]] = {}
    seen: set[str] = set()
    for index, case in enumerate(cases):
        family = reasons.waiting(case)
        if family.case_id in seen:
            raise PlanningError(f"cases.{index}", f"case {family.case_id} is listed twice")
        seen.add(family.case_id)
        families.append(family)
        ids.append(family.case_id)
        groups.setdefault((case.priority, case.ready_since), []).append(index)
    order: list[int] = []
    for key in sorted(groups):
        group = groups[key]
        if len(group) > 1:
            group.sort(key=ids.__getitem__)
        order.extend(group)
    return families, order


def propose(charters: Sequence[Charter], cases: Sequence[ReadyCase], today: date,
            rules: NoticeRules | None = None) -> Proposal:
    """Put ready families on charters; say for each family left out why. Raises PlanningError on bad input."""
    rules = rules or NoticeRules()
    _check_charters(charters, today)
    families, order = _read(cases)
    plans = {c.movement_id: CharterPlan(movement_id=c.movement_id, flight_number=c.flight_number,
                                        departs_on=c.departs_on, arrives_on=c.arrives_on,
                                        destination_country=c.destination_country, seats=c.seats,
                                        seats_taken=c.seats_taken) for c in charters}
    on_board = {case_id: c.movement_id for c in charters for case_id in c.on_board}
    destinations = _destinations(charters, plans, today, rules)
    left_out: list[LeftOut | None] = []
    no_room: list[tuple[int, reasons.Waiting, _Destination, int, int]] = []  # told once the seats are final
    for index in order:
        family = families[index]
        booked = on_board.get(family.case_id) or family.booked_on
        if booked:
            left_out.append(reasons.already_booked(family, booked))
            continue
        place = destinations.get(family.destination_country)
        if place is None:
            left_out.append(reasons.other_destination(family))
            continue
        missing = _place(family, place)
        if isinstance(missing, LeftOut):
            left_out.append(missing)
        elif missing is not None:
            no_room.append((len(left_out), family, place, *missing))
            left_out.append(None)
    most_left: dict[str, MostLeft] = {}
    for slot, family, place, start, stop in no_room:
        table = most_left.get(family.destination_country)
        if table is None:
            table = most_left[family.destination_country] = MostLeft(place.seats.left)
        left_out[slot] = reasons.no_seats(family, table(start, stop))
    ordered = [plans[c.movement_id] for c in sorted(charters, key=_by_departure)]
    return Proposal(today=today, charters=ordered, left_out=[item for item in left_out if item is not None])


def _place(case: reasons.Waiting, place: _Destination) -> LeftOut | tuple[int, int] | None:
    """Put the family on its destination's earliest charter it can take with room for all of it. If it cannot
    go, why: or, if every charter it could take is full for it, the range of them (the seats left are told once
    the plan is made)."""
    first = bisect_left(place.days, case.earliest)
    if first == len(place.days):
        return reasons.deferred(case, place.flights[-1])
    days = place.in_time_days
    first_in_time = bisect_left(days, case.earliest)
    if first_in_time == len(days):
        latest = place.latest_from[first]
        return reasons.notice_too_short(case, place.lead_days, place.notice[latest], place.flights[latest])
    start = max(first_in_time, bisect_left(days, case.start))
    stop = bisect_right(days, case.end)
    if start >= stop:
        after = max(first_in_time, stop)
        flight = place.in_time[after] if after < len(days) else place.in_time[-1]
        window = case.blocking(flight.departs_on)
        assert window is not None  # the flight is outside the common window, so a window closes it
        return reasons.window_closed(case, window, flight)
    found = place.seats.first_with(start, case.seats)
    if found >= stop:
        return start, stop
    place.seats.take(found, case.seats)
    plan = place.plans[found]
    plan.case_ids.append(case.case_id)
    plan.seats_proposed += case.seats
    return None
