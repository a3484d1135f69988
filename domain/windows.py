"""Validity windows: which are open on a date, when a family can fly, and what must be redone."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta

from pydantic import BaseModel

from domain.calendar import add_months, add_working_days
from domain.medical import AssessmentResult, ScreeningResult
from domain.policy import DestinationPolicy
from domain.steps import Step, StepRecord, StepState

# Steps whose validity the flight date must fall inside. Screening and fitness checks are timed off the
# booked flight itself, so they are checked after booking, not used to choose the date.
WINDOW_STEPS = frozenset({Step.EXIT_PERMIT, Step.TRAVEL_DOCUMENT, Step.HEALTH_ASSESSMENT, Step.ORIENTATION})


class DateWindow(BaseModel):
    start: date
    end: date | None = None  # open-ended

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def intersect(self, other: DateWindow) -> DateWindow | None:
        start = max(self.start, other.start)
        ends = [e for e in (self.end, other.end) if e is not None]
        end = min(ends) if ends else None
        if end is not None and end < start:
            return None
        return DateWindow(start=start, end=end)


def assessment_validity(result: AssessmentResult, policy: DestinationPolicy) -> DateWindow:
    return DateWindow(start=result.exam_date, end=add_months(result.exam_date, policy.medical_validity_months))


def screening_validity(result: ScreeningResult, policy: DestinationPolicy) -> DateWindow:
    return DateWindow(start=result.screened_on,
                      end=result.screened_on + timedelta(days=policy.b1_screening_within_days))


def orientation_validity(completed_on: date, policy: DestinationPolicy) -> DateWindow:
    return DateWindow(start=completed_on, end=completed_on + timedelta(days=policy.orientation_within_days))


def passport_validity(expires_on: date, policy: DestinationPolicy) -> DateWindow | None:
    """A passport can carry a traveller on any day that leaves it valid for the required time after."""
    last_usable = expires_on - timedelta(days=policy.passport_min_remaining_days)
    return DateWindow(start=date.min, end=last_usable) if last_usable > date.min else None


def earliest_departure(today: date, policy: DestinationPolicy, holidays: Collection[date] = ()) -> date:
    """The reception team must hear of an arrival this many working days before it."""
    return add_working_days(today, policy.arrival_notice_working_days, holidays)


def record_window(record: StepRecord) -> DateWindow | None:
    if record.state is not StepState.DONE:
        return None
    return DateWindow(start=record.valid_from or date.min, end=record.valid_until)


def open_windows(records: Iterable[StepRecord], day: date) -> dict[str, bool]:
    """For each step that bounds the departure date: is its validity window open on `day`."""
    return {r.key: r.covers(day) for r in records if r.step in WINDOW_STEPS and r.state is not StepState.NOT_REQUIRED}


def feasible_window(records: Iterable[StepRecord], earliest: date) -> DateWindow | None:
    """The dates on which every window-bounding step is done and valid at once, from `earliest` on.

    None when a step is not done yet or the windows do not overlap.
    """
    window = DateWindow(start=earliest)
    for record in records:
        if record.step not in WINDOW_STEPS or record.state is StepState.NOT_REQUIRED:
            continue
        own = record_window(record)
        if own is None:
            return None
        narrowed = window.intersect(own)
        if narrowed is None:
            return None
        window = narrowed
    return window


def must_redo(records: Iterable[StepRecord], departure_day: date) -> list[StepRecord]:
    """Done steps whose validity lapses before (or starts after) the departure day."""
    return [
        r for r in records if r.step in WINDOW_STEPS and r.state is StepState.DONE and not r.covers(departure_day)
    ]


def plan_redo(records: Iterable[StepRecord], earliest: date) -> list[StepRecord]:
    """When the windows no longer overlap from `earliest`: the done steps that end before the latest one starts.

    Redoing them (a new exam, a new orientation) is what makes a common window possible again.
    """
    done = [r for r in records if r.step in WINDOW_STEPS and r.state is StepState.DONE]
    start = max([earliest, *(r.valid_from for r in done if r.valid_from)])
    return [r for r in done if r.valid_until is not None and r.valid_until < start]
