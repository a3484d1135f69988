"""The store reads behind movements: whether an office runs any of a movement's families, a reception team's
endpoint as stored (without opening its secret, which a read has no need of), and the office's cases ready for a
charter as planning sees them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from api.context import ApiContext
from domain.departure import DepartureState, Phase
from domain.movement import JoinMovement, party_of
from domain.planning import ReadyCase, ready_case
from domain.steps import step_key
from domain.windows import WINDOW_STEPS
from store.models import AuditRow, CaseRow
from store.webhook_models import ReceptionEndpointRow


async def office_runs_any(context: ApiContext, office_id: str, case_ids: Collection[str]) -> bool:
    if not case_ids:
        return False
    query = select(CaseRow.case_id).where(CaseRow.office_id == office_id,
                                          CaseRow.case_id.in_(sorted(case_ids))).limit(1)
    async with context.store.session() as session:
        return await session.scalar(query) is not None


@dataclass(frozen=True)
class StoredEndpoint:
    url: str
    secret_set: bool
    active: bool
    updated_at: datetime


async def endpoint(context: ApiContext, organisation_id: str) -> StoredEndpoint | None:
    async with context.store.session() as session:
        row = await session.get(ReceptionEndpointRow, organisation_id)
    if row is None:
        return None
    return StoredEndpoint(url=row.url, secret_set=bool(row.sealed_secret), active=row.active,
                          updated_at=row.updated_at)


# Phases in which a departure waits for a flight it does not hold yet.
AWAITING_SEATS = (Phase.PREPARING.value, Phase.BOOKING.value, Phase.DEFERRED.value)
# The departure's events that set its "not before" date; the latest one holds (workflows/departure.py).
DEFERRING = ("departure.deferred", "departure.replanned")


@dataclass(frozen=True)
class Waiting:
    """A ready case of the office, with what the movement needs to seat the family."""

    ready: ReadyCase
    party: JoinMovement


async def ready_cases(context: ApiContext, office_id: str) -> list[Waiting]:
    """The office's cases whose departure waits for a flight with every step that bounds the flight date done
    for every member: what planning may put on a charter. A deferred case is among them with its "not before"
    date, which the store knows from the departure's audited deferral."""
    query = select(CaseRow.case_id, CaseRow.departure_phase).where(
        CaseRow.office_id == office_id, CaseRow.departure_phase.in_(AWAITING_SEATS)).order_by(CaseRow.case_id)
    async with context.store.session() as session:
        rows = (await session.execute(query)).all()
    found = []
    for case_id, phase in rows:
        case = await context.store.load_case(case_id)
        if case is None:
            continue
        records = await context.store.step_records(case_id)
        state = DepartureState(case_id=case_id, phase=Phase(phase), not_before=await _not_before(context, case_id),
                               steps={step_key(r.step, r.person_id): r for r in records})
        waited_from = [r.updated_at for r in records if r.step in WINDOW_STEPS and r.updated_at is not None]
        ready = ready_case(case, state, max(waited_from).date() if waited_from else case.approved_on)
        if ready is None:
            continue
        medical = {m.person_id: m.functional_needs() for m in await context.store.medical_files(case_id)}
        needs = {p.person_id: sorted({*p.functional_needs, *medical.get(p.person_id, [])}) for p in case.people}
        found.append(Waiting(ready, party_of(case_id, case.destination.receiving_organisation, len(case.people),
                                             needs)))
    return found


async def _not_before(context: ApiContext, case_id: str) -> date | None:
    """The date of the departure's latest deferral (a coordinator's, or the replanning after an unfit check)."""
    query = (select(AuditRow.detail).where(AuditRow.object_id == case_id, AuditRow.action.in_(DEFERRING))
             .order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(1))
    async with context.store.session() as session:
        detail = await session.scalar(query)
    day = (detail or {}).get("not_before")
    return date.fromisoformat(day) if isinstance(day, str) else None
