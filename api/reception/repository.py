"""Arrivals bound for one receiving organisation: cases with a live booking, including flights that left in the
last few days. Scoped to the organisation in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select

from api.context import ApiContext
from domain.case import FunctionalNeed
from domain.departure import BookingStatus
from store.models import BookingRow, CaseRow, PersonRow
from store.rosters import GONE, functional_needs, latest_booking


@dataclass(frozen=True)
class ArrivalRows:
    case: CaseRow
    booking: BookingRow
    people: list[PersonRow]
    needs: dict[str, list[FunctionalNeed]]  # person_id -> every functional need known for that traveller


def _arrivals(org_id: str, arriving_after: datetime) -> Select[tuple[CaseRow, BookingRow]]:
    latest = latest_booking(CaseRow.case_id)
    return (
        select(CaseRow, BookingRow)
        .join(BookingRow, and_(BookingRow.case_id == CaseRow.case_id, BookingRow.attempt == latest))
        .where(
            CaseRow.receiving_organisation == org_id,
            BookingRow.status == BookingStatus.BOOKED.value,
            BookingRow.arrives_at >= arriving_after,
            or_(CaseRow.departure_phase.is_(None), CaseRow.departure_phase.not_in(GONE)),
        )
    )


async def arrivals(context: ApiContext, org_id: str, arriving_after: datetime, limit: int,
                   case_id: str | None = None) -> list[ArrivalRows]:
    query = _arrivals(org_id, arriving_after)
    if case_id is not None:
        query = query.where(CaseRow.case_id == case_id)
    query = query.order_by(BookingRow.arrives_at, CaseRow.case_id).limit(limit)
    async with context.store.session() as session:
        found = [(case, booking) for case, booking in await session.execute(query)]
        ids = [case.case_id for case, _ in found]
        if not ids:
            return []
        people = await session.scalars(
            select(PersonRow).where(PersonRow.case_id.in_(ids)).order_by(PersonRow.case_id, PersonRow.position)
        )
        by_case: dict[str, list[PersonRow]] = {}
        for person in people:
            by_case.setdefault(person.case_id, []).append(person)
        everyone = [p for travellers in by_case.values() for p in travellers]
        needs = await functional_needs(session, everyone)
    out = []
    for case, booking in found:
        travellers = by_case.get(case.case_id, [])
        out.append(ArrivalRows(case, booking, travellers, {p.person_id: needs[p.person_id] for p in travellers}))
    return out
