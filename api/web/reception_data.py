"""What the reception pages gather: the team's arrivals by flight with the state of each flight's manifest for it,
and a manifest version with what changed and who acknowledged it. Every read goes through the services the JSON
routes use (api/reception, api/documents), so the same organisation checks and audit rows apply."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from api.context import ApiContext
from api.documents import manifests
from api.documents.schemas import ManifestVersions, ManifestView
from api.principal import Principal
from api.problems import ProblemError
from api.reception import service as reception
from api.reception.schemas import Arrival, Flight
from domain.case import FunctionalNeed
from domain.documents import ChangeKind, DocumentKind, ManifestPassenger, movement_id
from store.acknowledgements import ManifestAcknowledgement, acknowledge, acknowledgements
from store.models import DocumentRow

ARRIVALS_LIMIT = 500


@dataclass
class FlightArrivals:
    """One flight bringing families to the team, with its manifest for the team as it stands."""

    movement_id: str
    flight: Flight
    arrivals: list[Arrival] = field(default_factory=list)
    latest_version: int | None = None
    acknowledged: bool = False  # the latest version

    @property
    def families(self) -> int:
        return len(self.arrivals)

    @property
    def travellers(self) -> int:
        return sum(a.travellers for a in self.arrivals)

    @property
    def needs(self) -> dict[FunctionalNeed, int]:
        counts: Counter[FunctionalNeed] = Counter()
        for arrival in self.arrivals:
            counts.update(arrival.functional_needs)
        return {need: counts[need] for need in FunctionalNeed if counts[need]}


async def _latest_versions(context: ApiContext, organisation_id: str, movement_ids: list[str]) -> dict[str, int]:
    """The current manifest version per movement for this organisation (scoped to it in SQL)."""
    if not movement_ids:
        return {}
    query = (select(DocumentRow.movement_id, DocumentRow.version)
             .where(DocumentRow.kind == DocumentKind.ARRIVAL_MANIFEST.value,
                    DocumentRow.organisation_id == organisation_id, DocumentRow.movement_id.in_(movement_ids),
                    DocumentRow.superseded_by.is_(None)))
    async with context.store.session() as session:
        return {movement: version for movement, version in (await session.execute(query)).all() if movement}


async def arrivals_by_flight(context: ApiContext, principal: Principal) -> list[FlightArrivals]:
    """Soonest arrival first, as the reception service lists them."""
    found = (await reception.arrivals(context, principal, ARRIVALS_LIMIT)).items
    flights: dict[str, FlightArrivals] = {}
    for arrival in found:
        movement = movement_id(arrival.flight.flight_number, arrival.flight.departs_at.astimezone(UTC).date())
        flights.setdefault(movement, FlightArrivals(movement, arrival.flight)).arrivals.append(arrival)
    latest = await _latest_versions(context, principal.org_id, list(flights))
    for movement, flight in flights.items():
        flight.latest_version = latest.get(movement)
        if flight.latest_version is not None:
            acks = await acknowledgements(context.store, movement, [principal.org_id])
            flight.acknowledged = any(a.version == flight.latest_version for a in acks)
    return list(flights.values())


@dataclass(frozen=True)
class ChangeLine:
    change: ChangeKind
    passenger: ManifestPassenger | None  # None when even the previous version did not list them
    fields: list[str]


@dataclass(frozen=True)
class ManifestPage:
    manifest: ManifestView
    versions: ManifestVersions
    changes: list[ChangeLine]
    acknowledgements: dict[int, ManifestAcknowledgement]  # by version, the team's own

    @property
    def acknowledged(self) -> ManifestAcknowledgement | None:
        return self.acknowledgements.get(self.manifest.version)


async def manifest_page(context: ApiContext, principal: Principal, movement: str, version: int | None) -> ManifestPage:
    """The version asked for (the latest by default). A removed traveller is named from the version before, which
    the team also received; that read is audited like this one."""
    shown = await manifests.manifest(context, principal, movement, principal.org_id, version)
    versions = await manifests.manifest_versions(context, principal, movement, principal.org_id)
    present = {p.person_id: p for p in shown.passengers}
    before: dict[str, ManifestPassenger] = {}
    if shown.version > 1 and any(c.change is ChangeKind.REMOVED for c in shown.changes):
        previous = await manifests.manifest(context, principal, movement, principal.org_id, shown.version - 1)
        before = {p.person_id: p for p in previous.passengers}
    changes = [ChangeLine(c.change, present.get(c.person_id or "") or before.get(c.person_id or ""), c.fields)
               for c in shown.changes]
    acks = {a.version: a for a in await acknowledgements(context.store, movement, [principal.org_id])}
    return ManifestPage(shown, versions, changes, acks)


async def acknowledge_version(context: ApiContext, principal: Principal, movement: str,
                              version: int) -> tuple[ManifestAcknowledgement, bool]:
    """Only a version the team may read (else the same 404 as for an unknown one); the first acknowledgement
    stands, and a repeat records nothing new."""
    listed = await manifests.manifest_versions(context, principal, movement, principal.org_id)
    chosen = next((v for v in listed.items if v.version == version), None)
    if chosen is None:
        raise ProblemError(404, "no such manifest version for your organisation")
    return await acknowledge(context.store, ManifestAcknowledgement(
        movement_id=movement, organisation_id=principal.org_id, version=version,
        document_reference=chosen.reference, acknowledged_by=f"{principal.org_id}/{principal.subject}"[:128],
        acknowledged_at=datetime.now(UTC)), principal.role.value)
