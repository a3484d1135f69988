"""Reception teams: the arrivals bound for their organisation, and each arrival's manifest (every read audited)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from api.audit import service as audit
from api.context import ApiContext
from api.principal import Principal
from api.problems import ProblemError
from api.reception import repository
from api.reception.repository import ArrivalRows
from api.reception.schemas import Arrival, Arrivals, Flight, Manifest, Traveller
from domain.case import FunctionalNeed
from domain.departure import Phase

# A flight that landed this long ago still shows: the team is receiving the family.
RECENTLY_ARRIVED = timedelta(days=7)


def _flight(rows: ArrivalRows) -> Flight:
    booking = rows.booking
    return Flight(flight_number=booking.flight_number, origin=booking.origin, destination=booking.destination,
                  departs_at=booking.departs_at, arrives_at=booking.arrives_at,
                  special_service_requests=list(booking.special_service_requests))


def _arrival(rows: ArrivalRows) -> Arrival:
    counts = Counter(need for needs in rows.needs.values() for need in needs)
    return Arrival(
        case_id=rows.case.case_id, destination_city=rows.case.destination_city,
        phase=Phase(rows.case.departure_phase) if rows.case.departure_phase else None, flight=_flight(rows),
        travellers=len(rows.people), functional_needs={need: counts[need] for need in FunctionalNeed if counts[need]},
    )


async def arrivals(context: ApiContext, principal: Principal, limit: int) -> Arrivals:
    since = datetime.now(UTC) - RECENTLY_ARRIVED
    found = await repository.arrivals(context, principal.org_id, since, limit)
    return Arrivals(items=[_arrival(rows) for rows in found])


async def manifest(context: ApiContext, principal: Principal, case_id: str) -> Manifest:
    """The same 404 for a case bound elsewhere, an unknown case and one with no flight: nothing is confirmed."""
    found = await repository.arrivals(context, principal.org_id, datetime.now(UTC) - RECENTLY_ARRIVED, 1, case_id)
    if not found:
        raise ProblemError(404, "no arrival is planned for this case")
    rows = found[0]
    read = await audit.record(context, principal, "manifest.read", "case", case_id,
                              flight_number=rows.booking.flight_number, travellers=str(len(rows.people)))
    travellers = [
        Traveller(person_id=p.person_id, given_name=p.given_name, family_name=p.family_name,
                  date_of_birth=p.date_of_birth, sex=p.sex, nationality=p.nationality, languages=list(p.languages),
                  relationship=p.relationship, functional_needs=rows.needs[p.person_id])
        for p in rows.people
    ]
    return Manifest(case_id=case_id, destination_country=rows.case.destination_country,
                    destination_city=rows.case.destination_city, flight=_flight(rows), travellers=travellers,
                    read_at=read.at)
