"""Charters, ready families and a plain planner to hold the real one against, for the planning tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from hypothesis import strategies as st

from domain.calendar import add_working_days, is_working_day
from domain.planning import Charter, MemberWindow, NoticeRules, ReadyCase
from domain.policy import PolicyBook
from domain.steps import Step

TODAY = date(2026, 11, 23)  # a Monday; ten working days on is Monday 7 December


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def charter(flight: str, departs_in: int, seats: int = 300, country: str = "CA", arrives_in: int | None = None,
            taken: int = 0, on_board: Sequence[str] = ()) -> Charter:
    return Charter(flight_number=flight, departs_on=day(departs_in),
                   arrives_on=day(departs_in if arrives_in is None else arrives_in), destination_country=country,
                   seats=seats, seats_taken=taken, on_board=list(on_board))


def ready(case_id: str, seats: int = 3, priority: int = 3, waiting: int = 30, country: str = "CA",
          windows: Sequence[MemberWindow] = (), not_before: int | None = None,
          booked_on: str | None = None) -> ReadyCase:
    return ReadyCase(case_id=case_id, seats=seats, priority=priority, ready_since=day(-waiting),
                     destination_country=country, receiving_organisation="org_reception",
                     windows=list(windows), not_before=None if not_before is None else day(not_before),
                     booked_on=booked_on)


def window(step: Step, person: str | None, starts: int | None = None, ends: int | None = None) -> MemberWindow:
    return MemberWindow(step=step, person_id=person, valid_from=None if starts is None else day(starts),
                        valid_until=None if ends is None else day(ends))


# -- a plain planner: every charter for every case, the rules written out one by one ------------------------------


def notice_given(today: date, arrives_on: date, holidays: Sequence[date] | set[date]) -> int:
    return sum(is_working_day(today + timedelta(days=n), holidays) for n in range(1, (arrives_on - today).days + 1))


def plain_plan(charters: Sequence[Charter], cases: Sequence[ReadyCase], today: date,
               rules: NoticeRules) -> tuple[dict[str, list[str]], dict[str, tuple[str, str | None, int | None]]]:
    """(movement -> case ids, case id -> (reason, movement named, a number: most seats left or notice given))."""
    flights = sorted(charters, key=lambda c: (c.departs_on, c.arrives_on, c.flight_number))
    left = {c.movement_id: c.seats_left for c in flights}
    placed: dict[str, list[str]] = {c.movement_id: [] for c in flights}
    held = {case_id: c.movement_id for c in flights for case_id in c.on_board}
    why: dict[str, tuple[str, str | None, int | None]] = {}
    full: dict[str, list[Charter]] = {}
    for case in sorted(cases, key=lambda c: (c.priority, c.ready_since, c.case_id)):
        country = case.destination_country
        holidays = set(rules.holidays.get(country, ()))
        there = [f for f in flights if f.destination_country == country]
        allowed = [f for f in there if case.not_before is None or f.departs_on >= case.not_before]
        due = add_working_days(today, rules.lead_days(country), holidays)
        in_time = [f for f in allowed if f.arrives_on >= due]
        open_ = [f for f in in_time if all(w.covers(f.departs_on) for w in case.windows)]
        roomy = [f for f in open_ if left[f.movement_id] >= case.seats]
        if case.case_id in held or case.booked_on:
            why[case.case_id] = ("already_booked", held.get(case.case_id) or case.booked_on, None)
        elif not there:
            why[case.case_id] = ("other_destination", None, None)
        elif not allowed:
            why[case.case_id] = ("deferred", there[-1].movement_id, None)
        elif not in_time:
            latest = max(allowed, key=lambda f: f.arrives_on)
            why[case.case_id] = ("notice_too_short", latest.movement_id, notice_given(today, latest.arrives_on,
                                                                                      holidays))
        elif not open_:
            why[case.case_id] = ("window_closed", None, None)  # which flight it names is checked on its own
        elif not roomy:
            why[case.case_id] = ("no_seats", None, None)  # the seats left are told once the plan is made
            full[case.case_id] = open_
        else:
            left[roomy[0].movement_id] -= case.seats
            placed[roomy[0].movement_id].append(case.case_id)
    for case_id, open_ in full.items():
        why[case_id] = ("no_seats", None, max(left[f.movement_id] for f in open_))
    return placed, why


@st.composite
def plans(draw: st.DrawFn) -> tuple[list[Charter], list[ReadyCase], NoticeRules]:
    """A small random plan: a few charters to two countries, families bound for three, windows, deferrals,
    families already on board, Canadian holidays and per-country notice."""
    case_ids = [f"case_{n:02d}" for n in range(draw(st.integers(0, 14)))]
    cases = []
    for case_id in case_ids:
        windows = []
        for _ in range(draw(st.integers(0, 3))):
            starts = draw(st.none() | st.integers(-10, 40))
            ends = draw(st.none() | st.integers(starts if starts is not None else -10, 60))
            person = draw(st.sampled_from([None, "per_a", "per_b"]))
            windows.append(window(draw(st.sampled_from(sorted(Step))), person, starts, ends))
        cases.append(ready(case_id, seats=draw(st.integers(1, 6)), priority=draw(st.integers(1, 5)),
                           waiting=draw(st.integers(0, 5)),
                           country=draw(st.sampled_from(["CA", "CA", "CA", "US", "DE"])),
                           windows=windows, not_before=draw(st.none() | st.integers(0, 45)),
                           booked_on="mov_elsewhere" if draw(st.integers(0, 19)) == 0 else None))
    charters = []
    for n in range(draw(st.integers(0, 6))):
        departs = draw(st.integers(0, 30))
        held = draw(st.none() | st.none() | st.none() | st.sampled_from(case_ids)) if case_ids else None
        on_board = [held] if held and all(held not in other.on_board for other in charters) else []
        seats = draw(st.integers(max(1, len(on_board)), 14))
        taken = draw(st.integers(len(on_board), seats))
        charters.append(charter(f"XY{n}", departs, seats=seats, country=draw(st.sampled_from(["CA", "CA", "US"])),
                                arrives_in=departs + draw(st.integers(0, 2)), taken=taken, on_board=on_board))
    holidays = draw(st.sets(st.dates(TODAY, day(45)), max_size=6))
    notice_days = {"US": draw(st.integers(0, 12)), "CA": draw(st.integers(0, 20))}
    rules = NoticeRules(policies=PolicyBook(overrides={country: {"arrival_notice_working_days": days}
                                                       for country, days in notice_days.items()}),
                        holidays={"CA": holidays})
    return charters, cases, rules
