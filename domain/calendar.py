"""Date arithmetic the rules need: calendar months and working days."""

from __future__ import annotations

import calendar
from collections.abc import Collection
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """Same day of month, clamped to the month's end (31 Aug + 6 months = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(day: date, count: int, holidays: Collection[date] = ()) -> date:
    """The date `count` working days after `day` (which itself does not count); before it when `count` is
    negative (the last day to send a notice due so many working days before an arrival)."""
    step = timedelta(days=1 if count >= 0 else -1)
    current = day
    remaining = abs(count)
    while remaining > 0:
        current += step
        if is_working_day(current, holidays):
            remaining -= 1
    return current
