"""How much notice a reception team gets: working days counted on its country's calendar, in constant time.

`domain.calendar.add_working_days` walks day by day, which is right for one date; planning asks the question for
every charter of a plan, so here the count is arithmetic on day ordinals plus a binary search over the holidays."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from domain.policy import PolicyBook

# date(1, 1, 1) has ordinal 1 and is a Monday, so ordinal n falls on weekday (n - 1) % 7.
_WEEK = 7
_WORKING_DAYS_A_WEEK = 5


class WorkingDayCalendar:
    """Weekdays that are not public holidays. A holiday on a weekend changes nothing: a day off given in its
    place (a Monday after a Sunday holiday) is a holiday of its own and belongs in the list."""

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self._holiday_set = {day.toordinal() for day in holidays if day.weekday() < _WORKING_DAYS_A_WEEK}
        self._holidays = sorted(self._holiday_set)

    def _through(self, day: date) -> int:
        """Working days from 1 January of year 1 up to and including `day`."""
        ordinal = day.toordinal()
        weeks, rest = divmod(ordinal, _WEEK)
        return weeks * _WORKING_DAYS_A_WEEK + min(rest, _WORKING_DAYS_A_WEEK) - bisect_right(self._holidays, ordinal)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < _WORKING_DAYS_A_WEEK and day.toordinal() not in self._holiday_set

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`: the notice a message sent on `start` gives for
        an arrival on `end`. Negative when `end` is before `start`."""
        return self._through(end) - self._through(start)


@dataclass
class NoticeRules:
    """Per destination country: how many working days' notice its reception teams need, and its public holidays."""

    policies: PolicyBook = field(default_factory=PolicyBook)
    holidays: Mapping[str, Collection[date]] = field(default_factory=dict)
    _calendars: dict[str, WorkingDayCalendar] = field(default_factory=dict, init=False, repr=False)

    def lead_days(self, country: str) -> int:
        return self.policies.for_country(country).arrival_notice_working_days

    def calendar(self, country: str) -> WorkingDayCalendar:
        country = country.upper()
        if country not in self._calendars:
            self._calendars[country] = WorkingDayCalendar(self.holidays.get(country, ()))
        return self._calendars[country]

    def notice(self, country: str, today: date, arrives_on: date) -> int:
        """The working days of notice the reception team gets if told today of an arrival on `arrives_on`."""
        return self.calendar(country).working_days_between(today, arrives_on)
