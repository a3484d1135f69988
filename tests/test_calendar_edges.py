"""Working days at their edges: weekends, holidays on the due day or on a weekend, the year's end, zero days, the
leap day; and the planner's constant-time count agrees with the day-by-day walk."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import add_working_days, is_working_day
from domain.planning_calendar import NoticeRules, WorkingDayCalendar
from domain.policy import PolicyBook

SATURDAY = date(2026, 11, 28)
SUNDAY = date(2026, 11, 29)
MONDAY = date(2026, 11, 30)
# Canada over the turn of 2026: Christmas (Fri), Boxing Day observed (Mon 28), New Year (Fri).
CANADA_WINTER = {date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)}


def test_counting_from_a_weekend_starts_on_monday() -> None:
    assert add_working_days(SATURDAY, 1) == MONDAY
    assert add_working_days(SUNDAY, 1) == MONDAY
    assert add_working_days(SATURDAY, 5) == date(2026, 12, 4)  # the Friday after
    assert WorkingDayCalendar().working_days_between(SATURDAY, MONDAY) == 1


def test_a_holiday_on_the_due_day_moves_it_to_the_next_working_day() -> None:
    # Three working days from Monday 21 December is Thursday 24th; with the 24th and 25th off, Monday 28th.
    assert add_working_days(date(2026, 12, 21), 3) == date(2026, 12, 24)
    assert add_working_days(date(2026, 12, 21), 3, {date(2026, 12, 24), date(2026, 12, 25)}) == date(2026, 12, 28)


def test_a_holiday_on_a_weekend_changes_nothing_unless_its_day_off_is_listed() -> None:
    canada_day = date(2028, 7, 1)  # a Saturday
    friday = date(2028, 6, 30)
    assert add_working_days(friday, 1, {canada_day}) == date(2028, 7, 3)
    assert add_working_days(friday, 1, {canada_day, date(2028, 7, 3)}) == date(2028, 7, 4)  # Monday observed
    calendar = WorkingDayCalendar([canada_day])
    assert calendar.working_days_between(friday, date(2028, 7, 7)) == 5


def test_ten_working_days_across_the_year_end_skip_christmas_boxing_day_and_new_year() -> None:
    assert add_working_days(date(2026, 12, 31), 1, CANADA_WINTER) == date(2027, 1, 4)
    due = add_working_days(date(2026, 12, 18), 10, CANADA_WINTER)
    assert due == date(2027, 1, 6)
    calendar = WorkingDayCalendar(CANADA_WINTER)
    assert calendar.working_days_between(date(2026, 12, 18), due) == 10
    assert calendar.working_days_between(date(2026, 12, 18), due - timedelta(days=1)) == 9


def test_zero_working_days_is_the_day_itself_even_on_a_weekend_or_holiday() -> None:
    assert add_working_days(SATURDAY, 0) == SATURDAY
    assert add_working_days(date(2026, 12, 25), 0, CANADA_WINTER) == date(2026, 12, 25)
    assert WorkingDayCalendar(CANADA_WINTER).working_days_between(date(2026, 12, 25), date(2026, 12, 25)) == 0


def test_the_leap_day_is_a_working_day_like_any_tuesday() -> None:
    assert add_working_days(date(2028, 2, 28), 1) == date(2028, 2, 29)
    assert add_working_days(date(2028, 2, 25), 2) == date(2028, 2, 29)
    assert add_working_days(date(2028, 2, 28), 1, {date(2028, 2, 29)}) == date(2028, 3, 1)
    assert add_working_days(date(2027, 2, 26), 1) == date(2027, 3, 1)  # no leap day in 2027
    assert WorkingDayCalendar().working_days_between(date(2028, 2, 28), date(2028, 3, 1)) == 2


def test_a_negative_count_goes_back_in_time() -> None:
    # Fixed here: a negative count used to return the day itself, as if no working day lay between them.
    assert add_working_days(date(2026, 12, 7), -10) == date(2026, 11, 23)
    assert add_working_days(date(2027, 1, 6), -10, CANADA_WINTER) == date(2026, 12, 18)
    assert add_working_days(MONDAY, -1) == date(2026, 11, 27)  # the Friday before


def test_a_count_backwards_is_negative() -> None:
    calendar = WorkingDayCalendar()
    assert calendar.working_days_between(date(2026, 12, 7), date(2026, 11, 23)) == -10


def test_each_destination_counts_on_its_own_holidays_and_notice() -> None:
    rules = NoticeRules(policies=PolicyBook(overrides={"US": {"arrival_notice_working_days": 5}}),
                        holidays={"CA": CANADA_WINTER})
    assert rules.lead_days("CA") == 10 and rules.lead_days("us") == 5
    assert rules.notice("ca", date(2026, 12, 18), date(2027, 1, 6)) == 10
    assert rules.notice("US", date(2026, 12, 18), date(2027, 1, 6)) == 13  # no Canadian holidays in the US


holiday_sets = st.sets(st.dates(date(2026, 1, 1), date(2028, 12, 31)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(start=st.dates(date(2026, 1, 1), date(2027, 12, 31)), count=st.integers(0, 60), holidays=holiday_sets)
def test_the_planners_count_agrees_with_the_day_by_day_walk(start: date, count: int, holidays: set[date]) -> None:
    calendar = WorkingDayCalendar(holidays)
    due = add_working_days(start, count, holidays)
    assert calendar.working_days_between(start, due) == count
    if count > 0:
        assert calendar.working_days_between(start, due - timedelta(days=1)) == count - 1
        assert calendar.is_working_day(due) and is_working_day(due, holidays)
    back = add_working_days(due, -count, holidays)
    assert calendar.working_days_between(back, due) == count
