"""Who is on a movement for one receiving organisation, with what each traveller needs on arrival.

Only the functional needs are taken from a medical file (the assessment and the fitness check can add wheelchair or
oxygen); findings and TB class stay in the store and go no further."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.case import FunctionalNeed, Relationship, Sex
from domain.departure import BookingStatus, Phase
from domain.documents import FlightLeg, ManifestPassenger
from domain.medical import MedicalFile
from store.identity_models import OrganisationRow
from store.models import BookingRow, CaseRow, MedicalResultRow, PersonRow
from store.repository import Store

GONE = (Phase.CANCELLED.value, Phase.REFUSED.value)


class Roster(BaseModel):
    movement_id: str
    organisation_id: str
    flight: FlightLeg
    destination_country: str
    destination_city: str
    passengers: list[ManifestPassenger]


async def functional_needs(session: AsyncSession, people: Sequence[PersonRow]) -> dict[str, list[FunctionalNeed]]:
    """person_id -> every functional need known for that traveller: from the case and from the medical partner."""
    case_ids = sorted({p.case_id for p in people})
    medical = await session.execute(
        select(MedicalResultRow.person_id, MedicalResultRow.payload).where(MedicalResultRow.case_id.in_(case_ids))
    )
    assessed = {pid: MedicalFile.model_validate(payload).functional_needs() for pid, payload in medical}
    return {p.person_id: sorted({*map(FunctionalNeed, p.functional_needs), *assessed.get(p.person_id, [])})
            for p in people}


def latest_booking(case_id_column):  # type: ignore[no-untyped-def]
    """The case's newest booking attempt: an older one was given back when it was replaced."""
    other = aliased(BookingRow)
    return select(func.max(other.attempt)).where(other.case_id == case_id_column).correlate(CaseRow).scalar_subquery()


async def manifest_roster(store: Store, movement_id: str, organisation_id: str) -> Roster | None:
    """None when no family bound for the organisation holds a seat on the movement."""
    query = (
        select(CaseRow, BookingRow)
        .join(BookingRow, and_(BookingRow.case_id == CaseRow.case_id,
                               BookingRow.attempt == latest_booking(CaseRow.case_id)))
        .where(
            BookingRow.movement_id == movement_id,
            BookingRow.status == BookingStatus.BOOKED.value,
            CaseRow.receiving_organisation == organisation_id,
            or_(CaseRow.departure_phase.is_(None), CaseRow.departure_phase.not_in(GONE)),
        )
        .order_by(CaseRow.reference, CaseRow.case_id)
    )
    async with store.session() as session:
        found = [(case, booking) for case, booking in await session.execute(query)]
        if not found:
            return None
        people = list(await session.scalars(
            select(PersonRow).where(PersonRow.case_id.in_([c.case_id for c, _ in found]))
            .order_by(PersonRow.case_id, PersonRow.position)
        ))
        needs = await functional_needs(session, people)
    by_case: dict[str, list[PersonRow]] = {}
    for person in people:
        by_case.setdefault(person.case_id, []).append(person)
    passengers = [
        ManifestPassenger(case_id=case.case_id, case_reference=case.reference, person_id=p.person_id,
                          given_name=p.given_name, family_name=p.family_name, date_of_birth=p.date_of_birth,
                          sex=Sex(p.sex), nationality=p.nationality, relationship=Relationship(p.relationship),
                          functional_needs=needs[p.person_id])
        for case, _ in found for p in by_case.get(case.case_id, [])
    ]
    case, booking = found[0]
    flight = FlightLeg(flight_number=booking.flight_number, origin=booking.origin, destination=booking.destination,
                       departs_at=booking.departs_at, arrives_at=booking.arrives_at)
    return Roster(movement_id=movement_id, organisation_id=organisation_id, flight=flight,
                  destination_country=case.destination_country, destination_city=case.destination_city,
                  passengers=passengers)


async def organisation_name(store: Store, organisation_id: str) -> str:
    """The name printed as issuer or recipient; the id itself when the organisation has no account here."""
    async with store.session() as session:
        name = await session.scalar(select(OrganisationRow.name).where(OrganisationRow.org_id == organisation_id))
    return name or organisation_id
