"""What the movement pages show, gathered through the same services as /movements and /charters (so the same
rules decide who sees what), plus the few store reads a page needs on top: the office's movements, and its own
families' references and travellers' names. Another office's families on a shared flight stay opaque ids."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import func, select
from temporalio.service import RPCError

from api.audit.service import actor_prefix
from api.context import ApiContext
from api.documents import access
from api.movements import service
from api.movements.schemas import MovementView, OrganisationView
from api.principal import Principal, Role
from domain.departure import BookingStatus
from domain.documents import DocumentStatus, FlightLeg, ManifestChange, ManifestContent
from domain.movement import JoinMovement, MovementKind, Refusal, SpecialService, movement_workflow_id
from store.acknowledgements import acknowledgements
from store.documents import DocumentArchive
from store.models import AuditRow, BookingRow, CaseRow, PersonRow
from workflows.movement import MovementWorkflow

LISTED_MAX = 200  # movements on the office's list, the latest departures first
CHARTER_CREATED = "charter.created"
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ListedMovement:
    movement_id: str
    flight_number: str | None
    origin: str | None
    destination: str | None
    departs_at: datetime | None
    families: int  # of this office, holding seats
    charter: bool  # chartered by this office


@dataclass(frozen=True)
class OwnCase:
    case_id: str
    reference: str
    names: dict[str, str]  # person_id -> name, in the case's order


@dataclass(frozen=True)
class Family:
    """One case's seats. `own` is None for another office's family: the page shows it by seats and ids only."""

    party: JoinMovement
    own: OwnCase | None

    def name_of(self, person_id: str) -> str:
        return self.own.names.get(person_id, person_id) if self.own else person_id


@dataclass(frozen=True)
class ManifestVersion:
    version: int
    document_id: str
    issued_at: datetime
    status: DocumentStatus
    final: bool
    passengers: int
    changes: list[ManifestChange]
    acknowledged_at: datetime | None = None  # by the reception team, on its page


@dataclass(frozen=True)
class OrganisationPanel:
    view: OrganisationView
    versions: list[ManifestVersion]  # newest first; empty when none is filed or the caller may not read them


@dataclass
class MovementPage:
    view: MovementView
    families: list[Family] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)  # case_id -> why it left (coordinators only)
    refused: list[Refusal] = field(default_factory=list)
    panels: list[OrganisationPanel] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # person_id -> name, of the office's own travellers
    references: dict[str, str] = field(default_factory=dict)  # case_id -> reference, of the office's own cases
    own_charter: bool = False  # chartered by the caller's office, which alone plans its seats

    @property
    def charter(self) -> bool:
        return self.view.kind is MovementKind.CHARTER

    @property
    def seats_left(self) -> int | None:
        if self.view.capacity is None or self.view.seats_taken is None:
            return None
        return self.view.capacity - self.view.seats_taken


async def own_cases(context: ApiContext, office_id: str, case_ids: Collection[str]) -> dict[str, OwnCase]:
    """The office's cases among these, with their travellers' names; other offices' are left out."""
    if not case_ids:
        return {}
    wanted = sorted(case_ids)
    async with context.store.session() as session:
        rows = (await session.execute(select(CaseRow.case_id, CaseRow.reference).where(
            CaseRow.office_id == office_id, CaseRow.case_id.in_(wanted)))).all()
        references = {case_id: reference for case_id, reference in rows}
        people = (await session.execute(
            select(PersonRow.case_id, PersonRow.person_id, PersonRow.given_name, PersonRow.family_name)
            .where(PersonRow.case_id.in_(sorted(references))).order_by(PersonRow.case_id, PersonRow.position)
        )).all() if references else []
    names: dict[str, dict[str, str]] = {case_id: {} for case_id in references}
    for case_id, person_id, given, family in people:
        names[case_id][person_id] = f"{given} {family}"
    return {case_id: OwnCase(case_id, references[case_id], names[case_id]) for case_id in references}


async def family_sizes(context: ApiContext, office_id: str,
                       case_ids: Collection[str]) -> dict[str, tuple[str, int, int]]:
    """case_id -> (reference, travellers, priority) of the office's cases among these."""
    if not case_ids:
        return {}
    query = (select(CaseRow.case_id, CaseRow.reference, func.count(PersonRow.person_id), CaseRow.priority)
             .join(PersonRow, PersonRow.case_id == CaseRow.case_id)
             .where(CaseRow.office_id == office_id, CaseRow.case_id.in_(sorted(case_ids)))
             .group_by(CaseRow.case_id, CaseRow.reference, CaseRow.priority))
    async with context.store.session() as session:
        return {case_id: (reference, int(count), int(priority))
                for case_id, reference, count, priority in await session.execute(query)}


async def manifest_versions(context: ApiContext, principal: Principal, movement_id: str,
                            organisation_id: str) -> list[ManifestVersion]:
    """Newest first, with what each changed (opaque ids and field names only, so reading them discloses nobody;
    the manifest itself, names and all, is read through the audited downloads)."""
    if not await access.may_read_manifest(context, principal, movement_id, organisation_id):
        return []
    archive = DocumentArchive(context.store)
    acknowledged = {ack.version: ack.acknowledged_at
                    for ack in await acknowledgements(context.store, movement_id, [organisation_id])}
    found = []
    for stored in reversed(await archive.versions(access.manifest_subject(movement_id, organisation_id))):
        document = await archive.content(stored.document_id)
        if document is None or not isinstance(document.content, ManifestContent):
            continue
        content = document.content
        found.append(ManifestVersion(
            version=stored.version, document_id=stored.document_id, issued_at=stored.issued_at,
            status=DocumentStatus.VALID if stored.is_current else DocumentStatus.SUPERSEDED, final=content.final,
            passengers=len(content.passengers), changes=list(content.changes),
            acknowledged_at=acknowledged.get(stored.version)))
    return found


async def movement_page(context: ApiContext, principal: Principal, movement_id: str) -> MovementPage:
    """404 (ProblemError) for a movement the caller may not see, as the JSON route answers."""
    handle, state = await service.visible_state(context, principal, movement_id)
    view = await service.view(context, principal, movement_id, handle, state)
    page = MovementPage(view=view)
    panels = [OrganisationPanel(org, await manifest_versions(context, principal, movement_id, org.organisation_id))
              for org in view.organisations]
    page.panels = panels
    if principal.role is not Role.COORDINATOR:
        return page
    own = await own_cases(context, principal.org_id, [*state.parties, *state.left])
    page.families = sorted((Family(party, own.get(case_id)) for case_id, party in state.parties.items()),
                           key=lambda f: (f.own is None, f.own.reference if f.own else f.party.case_id))
    page.left = dict(state.left)
    page.refused = list(state.refused)
    page.names = {pid: name for case in own.values() for pid, name in case.names.items()}
    page.references = {case_id: case.reference for case_id, case in own.items()}
    page.own_charter = page.charter and await service.charter_office(handle) == principal.org_id
    return page


def special_services(families: list[Family]) -> dict[SpecialService, int]:
    counts: dict[SpecialService, int] = {}
    for family in families:
        for ssr in family.party.special_service_requests:
            counts[ssr] = counts.get(ssr, 0) + 1
    return counts


async def office_movements(context: ApiContext, office_id: str) -> list[ListedMovement]:
    """The flights the office's families hold seats on, and the charters it chartered (found by its people's
    audited charter.created), latest departure first. A charter's flight comes from its workflow."""
    booked = (select(BookingRow.movement_id, BookingRow.flight_number, BookingRow.origin, BookingRow.destination,
                     BookingRow.departs_at, func.count(func.distinct(BookingRow.case_id)))
              .join(CaseRow, CaseRow.case_id == BookingRow.case_id)
              .where(CaseRow.office_id == office_id, BookingRow.movement_id.is_not(None),
                     BookingRow.status == BookingStatus.BOOKED.value)
              .group_by(BookingRow.movement_id, BookingRow.flight_number, BookingRow.origin, BookingRow.destination,
                        BookingRow.departs_at))
    chartered = (select(AuditRow.object_id).where(AuditRow.action == CHARTER_CREATED,
                                                  AuditRow.actor.startswith(actor_prefix(office_id), autoescape=True))
                 .order_by(AuditRow.at.desc()).limit(LISTED_MAX))
    async with context.store.session() as session:
        rows = (await session.execute(booked)).all()
        charters = list(dict.fromkeys(await session.scalars(chartered)))
    found: dict[str, ListedMovement] = {}
    for movement, flight, origin, destination, departs_at, families in rows:
        known = found.get(movement)
        found[movement] = ListedMovement(movement, flight, origin, destination, departs_at,
                                         families + (known.families if known else 0), False)
    for movement in charters:
        known = found.get(movement)
        if known is not None:
            found[movement] = replace(known, charter=True)
            continue
        flight = await _charter_flight(context, movement)
        found[movement] = ListedMovement(
            movement, flight.flight_number if flight else None, flight.origin if flight else None,
            flight.destination if flight else None, flight.departs_at if flight else None, 0, True)
    listed = sorted(found.values(), key=lambda m: (m.departs_at is not None, m.departs_at or NEVER), reverse=True)
    return listed[:LISTED_MAX]


async def _charter_flight(context: ApiContext, movement_id: str) -> FlightLeg | None:
    handle = context.temporal.get_workflow_handle_for(MovementWorkflow.run,  # type: ignore[arg-type]
                                                      movement_workflow_id(movement_id))
    try:
        started = await service.movement_input(context, handle)
    except RPCError:
        return None  # the workflow's history is gone (retention): the list still names the movement
    return started.flight if started else None
