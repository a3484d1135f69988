"""Read queries for coordinators. Every query names the office, so another office's case cannot come back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, bindparam, exists, func, not_, or_, select

from api.context import ApiContext
from domain.case import Case
from domain.departure import BookingStatus, Phase
from domain.steps import Step, StepRecord, StepState
from store import convert
from store.models import BookingRow, CaseRow, PersonRow, StepResultRow

# A step still needing work: what `?step=` alone means.
OPEN_STATES = (StepState.NOT_STARTED, StepState.REQUESTED, StepState.SCHEDULED, StepState.BLOCKED,
               StepState.EXPIRED)
BLOCKING_STATES = (StepState.BLOCKED, StepState.REFUSED)


@dataclass(frozen=True)
class StoredCase:
    case: Case
    phase: Phase | None
    reason: str | None


@dataclass(frozen=True)
class CaseFilter:
    step: Step | None = None
    state: StepState | None = None
    blocked: bool | None = None
    expiring_by: tuple[date, date] | None = None  # (today, last day): a done step's validity ends in between
    destination: str | None = None
    movement: str | None = None  # a booking still held on this movement (flight and date)
    reference: str | None = None  # part of the office's file reference, any case


@dataclass(frozen=True)
class ListedCase:
    row: CaseRow
    travellers: int
    steps: list[StepRecord]


async def office_case(context: ApiContext, office_id: str, case_id: str) -> StoredCase | None:
    """The case if it belongs to this office; None for unknown and foreign cases alike."""
    async with context.store.session() as session:
        row = await session.get(CaseRow, case_id)
        if row is None or row.office_id != office_id:
            return None
        people = await session.scalars(select(PersonRow).where(PersonRow.case_id == case_id))
        case = convert.case_from_rows(row, list(people))
    return StoredCase(case, Phase(row.departure_phase) if row.departure_phase else None, row.departure_reason)


async def office_phase(context: ApiContext, office_id: str, case_id: str) -> tuple[bool, Phase | None]:
    """(the case is this office's, its departure phase): the cheap check before touching a departure."""
    async with context.store.session() as session:
        row = (await session.execute(
            select(CaseRow.office_id, CaseRow.departure_phase).where(CaseRow.case_id == case_id)
        )).one_or_none()
    if row is None or row.office_id != office_id:
        return False, None
    return True, Phase(row.departure_phase) if row.departure_phase else None


@dataclass(frozen=True)
class TimelineRows:
    phase: Phase | None
    reason: str | None
    steps: list[StepRecord]
    bookings: list[BookingRow]  # oldest first
    positions: dict[str, int]  # each person's place in the family


# Built once: a timeline is the most frequent read, and building a select costs more than SQLite running it.
TIMELINE_STEPS = (
    select(CaseRow.departure_phase, CaseRow.departure_reason, StepResultRow, PersonRow.position)
    .select_from(CaseRow)
    .outerjoin(StepResultRow, StepResultRow.case_id == CaseRow.case_id)
    .outerjoin(PersonRow, and_(PersonRow.person_id == StepResultRow.person_id, PersonRow.case_id == CaseRow.case_id))
    .where(CaseRow.case_id == bindparam("case_id"), CaseRow.office_id == bindparam("office_id"))
)
TIMELINE_BOOKINGS = (
    select(BookingRow).where(BookingRow.case_id == bindparam("case_id")).order_by(BookingRow.attempt, BookingRow.id)
)


async def office_timeline(context: ApiContext, office_id: str, case_id: str) -> TimelineRows | None:
    """What a timeline shows, in one session; None for unknown and foreign cases alike.

    Two statements: the case with its steps and each step's traveller's place in the family, then its bookings.
    On SQLite every statement is four trips to the connection's thread, which under load cost more than the rest
    of the request: the four separate reads this replaces made a timeline cost a third more."""
    async with context.store.session() as session:
        rows = (await session.execute(TIMELINE_STEPS, {"case_id": case_id, "office_id": office_id})).all()
        if not rows:
            return None
        bookings = await session.scalars(TIMELINE_BOOKINGS, {"case_id": case_id})
        case = rows[0]
        steps = [(row.StepResultRow, row.position) for row in rows if row.StepResultRow is not None]
        return TimelineRows(
            phase=Phase(case.departure_phase) if case.departure_phase else None,
            reason=case.departure_reason,
            steps=[convert.step_from_row(step) for step, _ in steps],
            bookings=list(bookings),
            positions={step.person_id: position for step, position in steps
                       if step.person_id is not None and position is not None},
        )


def _step_exists(*conditions: object) -> object:
    """The case has a step meeting `conditions`: the matching steps' cases, found once per query. A subquery
    correlated with each case let SQLite look steps up by state (its one equality index there) for every case of
    the office, so a filtered page took cases x steps: with 10,000 open departures, minutes."""
    return CaseRow.case_id.in_(select(StepResultRow.case_id).where(*conditions))


async def office_cases(context: ApiContext, office_id: str, where: CaseFilter,
                       after: tuple[datetime, str] | None, limit: int) -> list[ListedCase]:
    """The office's cases matching every filter, oldest first, from just after the `after` key."""
    query = select(CaseRow).where(CaseRow.office_id == office_id)
    if where.destination:
        query = query.where(CaseRow.destination_country == where.destination)
    if where.step or where.state:
        conditions = [StepResultRow.step == where.step.value] if where.step else []
        states = [where.state] if where.state else OPEN_STATES
        conditions.append(StepResultRow.state.in_([s.value for s in states]))
        query = query.where(_step_exists(*conditions))
    if where.movement:
        query = query.where(exists().where(BookingRow.case_id == CaseRow.case_id,
                                           BookingRow.movement_id == where.movement,
                                           BookingRow.status == BookingStatus.BOOKED.value))
    if where.reference:
        query = query.where(func.lower(CaseRow.reference).contains(where.reference.lower(), autoescape=True))
    if where.blocked is not None:
        blocked = _step_exists(StepResultRow.state.in_([s.value for s in BLOCKING_STATES]))
        query = query.where(blocked if where.blocked else not_(blocked))
    if where.expiring_by:
        today, last = where.expiring_by
        query = query.where(_step_exists(StepResultRow.state == StepState.DONE.value,
                                         StepResultRow.valid_until.between(today, last)))
    if after:
        created, case_id = after
        query = query.where(or_(CaseRow.created_at > created,
                                and_(CaseRow.created_at == created, CaseRow.case_id > case_id)))
    query = query.order_by(CaseRow.created_at, CaseRow.case_id).limit(limit)
    async with context.store.session() as session:
        rows = list(await session.scalars(query))
        ids = [row.case_id for row in rows]
        counts: dict[str, int] = {case_id: count for case_id, count in await session.execute(
            select(PersonRow.case_id, func.count()).where(PersonRow.case_id.in_(ids)).group_by(PersonRow.case_id)
        )} if ids else {}
        step_rows = await session.scalars(
            select(StepResultRow).where(StepResultRow.case_id.in_(ids)).order_by(StepResultRow.id)
        ) if ids else []
        steps: dict[str, list[StepRecord]] = {}
        for step_row in step_rows:
            steps.setdefault(step_row.case_id, []).append(convert.step_from_row(step_row))
    return [ListedCase(row, counts.get(row.case_id, 0), steps.get(row.case_id, [])) for row in rows]


@dataclass(frozen=True)
class HeldFlight:
    movement_id: str
    flight_number: str
    departs_at: datetime


async def held_flights(context: ApiContext, office_id: str, case_ids: list[str] | None = None
                       ) -> dict[str, HeldFlight]:
    """Case id -> the flight its booking still holds, for the office's cases (or just these)."""
    query = (select(BookingRow.case_id, BookingRow.movement_id, BookingRow.flight_number, BookingRow.departs_at)
             .join(CaseRow, CaseRow.case_id == BookingRow.case_id)
             .where(CaseRow.office_id == office_id, BookingRow.status == BookingStatus.BOOKED.value,
                    BookingRow.movement_id.is_not(None))
             .order_by(BookingRow.attempt, BookingRow.id))
    if case_ids is not None:
        if not case_ids:
            return {}
        query = query.where(BookingRow.case_id.in_(case_ids))
    async with context.store.session() as session:
        rows = (await session.execute(query)).all()
    return {row.case_id: HeldFlight(row.movement_id, row.flight_number, row.departs_at) for row in rows}
