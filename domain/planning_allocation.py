"""The proposal: which ready families go on which charter.

Families are taken most urgent first (priority, then the longest wait, then case id, so equal inputs give equal
proposals), and each goes whole on the earliest charter it can take that still has seats for all of it. Nothing
here walks every charter for every case: a destination's charters are sorted by date once, the date limits of a
case (deferral, notice, windows) become a range of them by binary search, and a max-tree over the seats left finds
the first charter in that range with room, so a plan costs O(n log m + m log m) for n cases and m charters."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from domain import planning_reasons as reasons
from domain.planning_calendar import NoticeRules
from domain.planning_models import Charter, CharterPlan, LeftOut, PlanningError, Proposal, ReadyCase
from domain.planning_validation import charter_problem


class SeatTree:
    """Seats left per charter (in date order) in a max-tree: the first charter from an index with at least so many
    seats, and the most seats left in a range, each in O(log m)."""

    def __init__(self, seats_left: Sequence[int]) -> None:
        size = 1
        while size < len(seats_left):
            size *= 2
        self._size = size
        self._most_left: dict[tuple[int, int], int] = {}
        self._tree = [-1] * (2 * size)
        self._tree[size:size + len(seats_left)] = seats_left
        for node in range(size - 1, 0, -1):
            self._tree[node] = max(self._tree[2 * node], self._tree[2 * node + 1])

    def take(self, index: int, seats: int) -> None:
        self._most_left.clear()
        tree, node = self._tree, index + self._size
        tree[node] -= seats
        node //= 2
        while node:
            tree[node] = max(tree[2 * node], tree[2 * node + 1])
            node //= 2

    def first_with(self, start: int, seats: int) -> int | None:
        """The first index from `start` on with at least `seats` left."""
        tree, node = self._tree, start + self._size
        # Climb: from a node without room, go to the next subtree on the right, wherever it begins.
        while tree[node] < seats:
            while node & 1:
                node //= 2
            if node == 0:
                return None
            node += 1
        while node < self._size:
            node *= 2
            if tree[node] < seats:
                node += 1
        return node - self._size

    def most_left(self, start: int, stop: int) -> int:
        """The most seats left on any charter in [start, stop) (-1 for none). Remembered until seats are taken:
        once the charters fill, most families are asked about the same few ranges, and nothing changes them."""
        known = self._most_left.get((start, stop))
        if known is not None:
            return known
        tree, best = self._tree, -1
        low, high = start + self._size, stop + self._size
        while low < high:
            if low & 1:
                best = max(best, tree[low])
                low += 1
            if high & 1:
                high -= 1
                best = max(best, tree[high])
            low //= 2
            high //= 2
        self._most_left[start, stop] = best
        return best


@dataclass
class _Destination:
    """One country's charters by date, and those whose arrival the reception team hears of in time."""

    charters: list[Charter]  # every charter there, by departure
    days: list[int]  # their departure days, as ordinals
    notice: list[int]  # working days of notice each charter's arrival gives
    latest_from: list[int]  # the charter arriving last from this index on (the earliest such): most notice
    lead_days: int
    in_time: list[Charter] = field(default_factory=list)
    in_time_days: list[int] = field(default_factory=list)
    plans: list[CharterPlan] = field(default_factory=list)
    seats: SeatTree | None = None


def _by_departure(charter: Charter) -> tuple[date, date, str]:
    return charter.departs_on, charter.arrives_on, charter.flight_number


def _destinations(charters: Sequence[Charter], plans: dict[str, CharterPlan], today: date,
                  rules: NoticeRules) -> dict[str, _Destination]:
    grouped: dict[str, list[Charter]] = {}
    for charter in sorted(charters, key=_by_departure):
        grouped.setdefault(charter.destination_country, []).append(charter)
    destinations = {}
    for country, flights in grouped.items():
        notice = [rules.notice(country, today, c.arrives_on) for c in flights]
        latest = list(range(len(flights)))
        for i in range(len(flights) - 2, -1, -1):
            if flights[i].arrives_on < flights[latest[i + 1]].arrives_on:
                latest[i] = latest[i + 1]
        place = _Destination(flights, [c.departs_on.toordinal() for c in flights], notice, latest,
                             rules.lead_days(country))
        for charter, days in zip(flights, notice, strict=True):
            if days >= place.lead_days:
                place.in_time.append(charter)
                place.in_time_days.append(charter.departs_on.toordinal())
                place.plans.append(plans[charter.movement_id])
        place.seats = SeatTree([c.seats_left for c in place.in_time])
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
    left_out: list[LeftOut] = []
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
        if missing is not None:
            left_out.append(missing)
    ordered = [plans[c.movement_id] for c in sorted(charters, key=_by_departure)]
    return Proposal(today=today, charters=ordered, left_out=left_out)


def _place(case: reasons.Waiting, place: _Destination) -> LeftOut | None:
    """Put the family on its destination's earliest charter it can take with room for all of it, or say why not."""
    first = bisect_left(place.days, case.earliest)
    if first == len(place.days):
        return reasons.deferred(case, place.charters[-1])
    days = place.in_time_days
    first_in_time = bisect_left(days, case.earliest)
    if first_in_time == len(days):
        latest = place.latest_from[first]
        return reasons.notice_too_short(case, place.lead_days, place.notice[latest], place.charters[latest])
    start = max(first_in_time, bisect_left(days, case.start))
    stop = bisect_right(days, case.end)
    if start >= stop:
        after = max(first_in_time, stop)
        flight = place.in_time[after] if after < len(days) else place.in_time[-1]
        window = case.blocking(flight.departs_on)
        assert window is not None  # the flight is outside the common window, so a window closes it
        return reasons.window_closed(case, window, flight)
    assert place.seats is not None
    most_left = place.seats.most_left(start, stop)
    if most_left < case.seats:
        return reasons.no_seats(case, max(most_left, 0))
    found = place.seats.first_with(start, case.seats)
    assert found is not None and found < stop  # a charter in the range has room, so the first from start does
    place.seats.take(found, case.seats)
    plan = place.plans[found]
    plan.case_ids.append(case.case_id)
    plan.seats_proposed += case.seats
    return None
