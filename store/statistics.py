"""Where an office's departures wait, and how many leave each week: read from the audit trail, which keeps every
step change a departure made with the departure's own time of it.

A wait at a partner starts when a step is asked of it (requested, scheduled, blocked) and ends with its answer
(done or refused). A step given back unanswered (cancelled, reset when the flight changes, found not required) ends
no wait: the partner never answered it. The wait for the flight itself runs from the booking to the departure.
Opaque ids only: a clinic's id names the medical partner, the other partners by their role."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select

from domain.departure import TERMINAL_PHASES
from domain.steps import MEDICAL_STEPS, Step, StepState
from store.models import AuditRow, CaseRow, PersonRow
from store.repository import Store

DEPARTURE_ACTOR = "system:departure-workflow"  # workflows.base writes every step change as this actor
DEPARTED = "departure.departed"
TERMINAL = frozenset(phase.value for phase in TERMINAL_PHASES)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

ASKED = frozenset({StepState.REQUESTED.value, StepState.SCHEDULED.value, StepState.BLOCKED.value})
ANSWERED = frozenset({StepState.DONE.value, StepState.REFUSED.value})
GIVEN_BACK = frozenset({StepState.CANCELLED.value, StepState.NOT_STARTED.value, StepState.NOT_REQUIRED.value,
                        StepState.EXPIRED.value})


class PartnerRole(StrEnum):
    """Who owes the departure the next move in a step."""

    EXIT_PERMIT_AUTHORITY = "exit_permit_authority"
    TRAVEL_DOCUMENT_ISSUER = "travel_document_issuer"
    MEDICAL_PARTNER = "medical_partner"
    ORIENTATION_PARTNER = "orientation_partner"
    TRAVEL_PARTNER = "travel_partner"


STEP_PARTNER = {
    Step.EXIT_PERMIT: PartnerRole.EXIT_PERMIT_AUTHORITY,
    Step.TRAVEL_DOCUMENT: PartnerRole.TRAVEL_DOCUMENT_ISSUER,
    Step.HEALTH_ASSESSMENT: PartnerRole.MEDICAL_PARTNER,
    Step.PRE_DEPARTURE_SCREENING: PartnerRole.MEDICAL_PARTNER,
    Step.FITNESS_TO_TRAVEL: PartnerRole.MEDICAL_PARTNER,
    Step.ORIENTATION: PartnerRole.ORIENTATION_PARTNER,
    Step.FLIGHT_BOOKING: PartnerRole.TRAVEL_PARTNER,
    Step.DEPARTURE: PartnerRole.TRAVEL_PARTNER,  # booked, waiting for the flight to leave
}


@dataclass(frozen=True)
class StepWait:
    """How long one step waited on one partner: the waits that ended in the period, and those still open at its
    end. Days as fractions, so an hour-long fitness check is not rounded away."""

    step: Step
    partner: PartnerRole
    partner_id: str | None  # the clinic, for a medical step; None where the store does not know the organisation
    answered: int
    median_days: float | None
    mean_days: float | None
    longest_days: float | None
    waiting_now: int
    longest_open_days: float | None


@dataclass(frozen=True)
class WeekCount:
    week_of: date  # the Monday
    families: int
    travellers: int


@dataclass
class _Waits:
    answered: list[float] = field(default_factory=list)
    open: list[float] = field(default_factory=list)


def _days(start: datetime, end: datetime) -> float:
    return (end - start) / DAY


def _step_of(key: str) -> Step | None:
    try:
        return Step(key.split(":", 1)[0])
    except ValueError:
        return None


def _ends_departure(action: str, detail: dict[str, str]) -> bool:
    return action == DEPARTED or detail.get("phase") in TERMINAL


def _case_waits(events: Iterable[tuple[datetime, str, dict[str, str]]], since: datetime,
                until: datetime) -> list[tuple[Step, float, bool]]:
    """(step, days, still open) of each wait of one case, from its changes in time order. Nothing stays open
    once the departure has ended: what it still held was given back."""
    found: list[tuple[Step, float, bool]] = []
    asked: dict[str, tuple[Step, datetime]] = {}
    booked_at: datetime | None = None
    ended = False
    for at, action, detail in events:
        ended = ended or _ends_departure(action, detail)
        key, state = detail.get("step"), detail.get("state")
        step = _step_of(key) if key else None
        if step is None or state is None:
            continue
        if step is Step.FLIGHT_BOOKING:
            # A booking is made in one call: its wait is the flight's, from here to the departure.
            booked_at = at if state == StepState.DONE.value else None
            continue
        if step is Step.DEPARTURE:
            if state == StepState.DONE.value and booked_at is not None and since <= at:
                found.append((step, _days(booked_at, at), False))
            booked_at = None
            continue
        if state in ASKED:
            asked.setdefault(key, (step, at))  # a re-scheduled appointment goes on with the same wait
        elif state in ANSWERED:
            if (opened := asked.pop(key, None)) is not None and since <= at:
                found.append((step, _days(opened[1], at), False))
        elif state in GIVEN_BACK:
            asked.pop(key, None)
    if not ended:
        found += [(step, _days(opened, until), True) for step, opened in asked.values()]
        if booked_at is not None:
            found.append((Step.DEPARTURE, _days(booked_at, until), True))
    return found


def _summary(step: Step, partner_id: str | None, waits: _Waits) -> StepWait:
    answered = waits.answered
    return StepWait(
        step=step, partner=STEP_PARTNER[step], partner_id=partner_id, answered=len(answered),
        median_days=statistics.median(answered) if answered else None,
        mean_days=statistics.fmean(answered) if answered else None,
        longest_days=max(answered) if answered else None, waiting_now=len(waits.open),
        longest_open_days=max(waits.open) if waits.open else None)


async def step_waits(store: Store, office_id: str, since: datetime, until: datetime) -> list[StepWait]:
    """Per step and partner, the office's waits answered in [since, until) and those open at `until`, longest
    median first (then most waiting now): where departures wait comes at the top."""
    query = (select(AuditRow.object_id, AuditRow.at, AuditRow.action, AuditRow.detail, CaseRow.medical_partner_id)
             .join(CaseRow, CaseRow.case_id == AuditRow.object_id)
             .where(CaseRow.office_id == office_id, AuditRow.object_type == "case",
                    AuditRow.actor == DEPARTURE_ACTOR, AuditRow.at < until)
             .order_by(AuditRow.object_id, AuditRow.at, AuditRow.id))
    by_case: dict[str, list[tuple[datetime, str, dict[str, str]]]] = defaultdict(list)
    clinics: dict[str, str] = {}
    async with store.session() as session:
        for case_id, at, action, detail, clinic in await session.execute(query):
            by_case[case_id].append((at, action, detail or {}))
            clinics[case_id] = clinic
    grouped: dict[tuple[Step, str | None], _Waits] = defaultdict(_Waits)
    for case_id, events in by_case.items():
        for step, days, still_open in _case_waits(events, since, until):
            waits = grouped[(step, clinics[case_id] if step in MEDICAL_STEPS else None)]
            (waits.open if still_open else waits.answered).append(days)
    found = [_summary(step, partner_id, waits) for (step, partner_id), waits in grouped.items()]
    return sorted(found, key=lambda w: (-(w.median_days or 0.0), -w.waiting_now, list(Step).index(w.step),
                                        w.partner_id or ""))


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def departures_per_week(store: Store, office_id: str, since: datetime, until: datetime) -> list[WeekCount]:
    """The office's families that departed, and their travellers, per week (Monday first) from the week of
    `since` to the week before `until` ends, weeks without a departure included so a chart shows the gaps."""
    departed = (select(AuditRow.at, AuditRow.object_id)
                .join(CaseRow, CaseRow.case_id == AuditRow.object_id)
                .where(CaseRow.office_id == office_id, AuditRow.object_type == "case",
                       AuditRow.action == DEPARTED, AuditRow.at >= since, AuditRow.at < until))
    async with store.session() as session:
        rows = (await session.execute(departed)).all()
        case_ids = sorted({case_id for _, case_id in rows})
        sizes: dict[str, int] = {}
        if case_ids:
            counted = (select(PersonRow.case_id, func.count()).where(PersonRow.case_id.in_(case_ids))
                       .group_by(PersonRow.case_id))
            sizes = {case_id: int(count) for case_id, count in await session.execute(counted)}
    families: dict[date, set[str]] = defaultdict(set)
    for at, case_id in rows:
        families[week_of(at.date())].add(case_id)  # a departure replayed into the log counts once
    weeks, first, last = [], week_of(since.date()), week_of((until - timedelta(microseconds=1)).date())
    monday = first
    while monday <= last:
        cases = families.get(monday, set())
        weeks.append(WeekCount(week_of=monday, families=len(cases), travellers=sum(sizes.get(c, 0) for c in cases)))
        monday += WEEK
    return weeks
