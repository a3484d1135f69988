"""Anonymising the personal data of cases whose family arrived long enough ago (domain.retention says what goes).

A case is due when its departure reported `departed` and the arrival of its last booked flight lies before the
cutoff of its destination. Arrival is the booking's arrival time, not the reception team's confirmation: a team
that never confirms must not keep a family's data here forever.

Each case is anonymised in one transaction together with its `retention.anonymised` audit row, and that row is
what marks it done: a rerun, or a retried batch after a crash, finds nothing left to do for it.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, and_, delete, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from domain.audit import AuditEvent
from domain.departure import BookingStatus, Phase
from domain.documents import DocumentKind
from domain.retention import (
    ACTOR,
    ANONYMISED_ACTION,
    ANONYMISED_NAME,
    Anonymised,
    RetentionBatch,
    anonymisation_key,
    birth_year_only,
)
from domain.steps import MEDICAL_STEPS
from store import convert
from store.documents import ANONYMISED_CONTENT, is_anonymised
from store.models import (
    AuditRow,
    BookingRow,
    CaseRow,
    DocumentContentRow,
    DocumentRow,
    MedicalResultRow,
    PersonRow,
    StepResultRow,
)
from store.repository import AUDIT, Store
from store.upsert import insert_new

CASES = cast(Table, CaseRow.__table__)
MEDICAL_STEP_NAMES = sorted(step.value for step in MEDICAL_STEPS)


def _arrivals() -> Subquery:
    """Per case, when its last booked flight lands."""
    return (select(BookingRow.case_id.label("case_id"), func.max(BookingRow.arrives_at).label("arrived_at"))
            .where(BookingRow.status == BookingStatus.BOOKED.value)
            .group_by(BookingRow.case_id)
            .subquery())


async def due_cases(store: Store, batch: RetentionBatch) -> list[str]:
    """Up to `batch.limit` departed cases past their destination's cutoff and not anonymised yet, oldest id first."""
    arrivals = _arrivals()
    arrived_at = arrivals.c.arrived_at
    past: list[ColumnElement[bool]] = [
        and_(CaseRow.destination_country == country, arrived_at < cutoff) for country, cutoff in batch.cutoffs.items()
    ]
    others = CaseRow.destination_country.not_in(list(batch.cutoffs)) if batch.cutoffs else true()
    past.append(and_(others, arrived_at < batch.default_cutoff))
    done = (select(AuditRow.id)
            .where(AuditRow.object_id == CaseRow.case_id, AuditRow.action == ANONYMISED_ACTION)
            .exists())
    query = (select(CaseRow.case_id)
             .join(arrivals, arrivals.c.case_id == CaseRow.case_id)
             .where(CaseRow.departure_phase == Phase.DEPARTED.value, or_(*past), ~done)
             .order_by(CaseRow.case_id)
             .limit(batch.limit))
    async with store.session() as session:
        return list(await session.scalars(query))


async def anonymise_case(store: Store, case_id: str, batch: RetentionBatch) -> Anonymised | None:
    """Anonymise one case and record it; None if it was already done (by an earlier run, or a concurrent one)."""
    async with store.session() as session, session.begin():
        # A write first: on SQLite a transaction that reads before it writes can fail instead of waiting.
        await session.execute(update(CASES).where(CASES.c.case_id == case_id)
                              .values(reference=case_id, departure_reason=None))
        people = await _anonymise_people(session, case_id)
        await session.execute(update(StepResultRow).where(StepResultRow.case_id == case_id)
                              .values(document_number=None))
        await session.execute(update(StepResultRow)
                              .where(StepResultRow.case_id == case_id, StepResultRow.step.in_(MEDICAL_STEP_NAMES))
                              .values(reason=None))
        medical = await session.execute(delete(MedicalResultRow).where(MedicalResultRow.case_id == case_id))
        documents = await _anonymise_documents(session, case_id)
        done = Anonymised(case_id=case_id, people=people, medical_files=medical.rowcount,  # type: ignore[attr-defined]
                          documents=documents)
        event = AuditEvent(event_key=anonymisation_key(case_id), at=batch.at, actor=ACTOR, action=ANONYMISED_ACTION,
                           object_type="case", object_id=case_id,
                           detail={"people": str(done.people), "medical_files": str(done.medical_files),
                                   "documents": str(done.documents)})
        recorded = await session.execute(
            insert_new(store.dialect, AUDIT, [convert.audit_row(event)], keys=["event_key"]))
    # Another run got there first: what it wrote equals what this one wrote, and its audit row stands.
    return done if recorded.rowcount else None  # type: ignore[attr-defined]


async def _anonymise_people(session: AsyncSession, case_id: str) -> int:
    people = list(await session.scalars(select(PersonRow).where(PersonRow.case_id == case_id)))
    for person in people:
        person.given_name = person.family_name = ANONYMISED_NAME
        person.date_of_birth = birth_year_only(person.date_of_birth)
        person.passport_number = person.passport_issuing_country = None
        person.passport_expires_on = None
        person.functional_needs = []
    await session.flush()
    return len(people)


async def _anonymise_documents(session: AsyncSession, case_id: str) -> int:
    """The case's papers, and the manifests of the flights it was booked on (they name everyone on board, and
    everyone on board arrived when this family did): content and PDF go, reference, version and checksum stay."""
    movements = select(BookingRow.movement_id).where(BookingRow.case_id == case_id, BookingRow.movement_id.is_not(None))
    papers = list(await session.scalars(select(DocumentRow).where(or_(
        DocumentRow.case_id == case_id,
        and_(DocumentRow.kind == DocumentKind.ARRIVAL_MANIFEST.value, DocumentRow.movement_id.in_(movements)),
    ))))
    fresh = [paper for paper in papers if not is_anonymised(paper.content)]
    for paper in fresh:
        paper.content = dict(ANONYMISED_CONTENT)
    await session.flush()
    checksums = {paper.sha256 for paper in fresh}
    if checksums:
        # Identical renderings share their bytes: keep those another paper, still whole, renders to.
        sharing = await session.execute(select(DocumentRow.sha256, DocumentRow.content)
                                        .where(DocumentRow.sha256.in_(checksums)))
        still_needed = {sha for sha, content in sharing if not is_anonymised(content)}
        if gone := checksums - still_needed:
            await session.execute(delete(DocumentContentRow).where(DocumentContentRow.sha256.in_(gone)))
    return len(fresh)
