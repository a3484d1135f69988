"""The store: cases, the progress each departure reports, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, case, delete, func, literal, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.audit import AuditEvent
from domain.case import Case
from domain.departure import BookingRecord, Phase, ProgressUpdate
from domain.medical import MedicalFile
from domain.steps import StepRecord
from store import convert
from store.engine import make_engine
from store.migrate import upgrade
from store.models import AuditRow, BookingRow, CaseRow, MedicalResultRow, PersonRow, StepResultRow
from store.types import UtcDateTime
from store.upsert import insert_new, upsert

CASES = cast(Table, CaseRow.__table__)
PEOPLE = cast(Table, PersonRow.__table__)
STEPS = cast(Table, StepResultRow.__table__)
MEDICAL = cast(Table, MedicalResultRow.__table__)
BOOKINGS = cast(Table, BookingRow.__table__)
AUDIT = cast(Table, AuditRow.__table__)

T = TypeVar("T")


class CaseNotFound(LookupError):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"case {case_id} not found")
        self.case_id = case_id


def _last_per_key(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """One row per key, the latest winning: PostgreSQL refuses to upsert the same row twice in one statement."""
    return list({key(item): item for item in items}.values())


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(make_engine(url))

    async def migrate(self) -> None:
        async with self._engine.begin() as connection:
            await connection.run_sync(upgrade)

    async def close(self) -> None:
        await self._engine.dispose()

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    def session(self) -> AsyncSession:
        """A session for the read repositories of other areas (api/<area>/repository.py): `async with`."""
        return self._sessions()

    # Cases

    async def save_case(self, case: Case) -> None:
        dialect = self._engine.dialect
        person_ids = [person.person_id for person in case.people]
        async with self._sessions.begin() as session:
            await session.execute(
                upsert(
                    dialect,
                    CASES,
                    [convert.case_row(case, datetime.now(UTC))],
                    keys=["case_id"],
                    update=convert.CASE_FIELDS,
                    touch="updated_at",
                )
            )
            await session.execute(
                delete(PEOPLE).where(PEOPLE.c.case_id == case.case_id, PEOPLE.c.person_id.not_in(person_ids))
            )
            await session.execute(
                upsert(dialect, PEOPLE, convert.person_rows(case), keys=["person_id"], update=convert.PERSON_FIELDS)
            )

    async def load_case(self, case_id: str) -> Case | None:
        async with self._sessions() as session:
            row = await session.get(CaseRow, case_id)
            if row is None:
                return None
            people = await session.scalars(select(PersonRow).where(PersonRow.case_id == case_id))
            return convert.case_from_rows(row, list(people))

    async def list_case_ids(self) -> list[str]:
        async with self._sessions() as session:
            ids = await session.scalars(select(CaseRow.case_id).order_by(CaseRow.created_at, CaseRow.case_id))
            return list(ids)

    # Departure progress

    async def apply_progress(self, progress: ProgressUpdate) -> None:
        """All of a departure's change at once, so a reader never sees a phase without the steps behind it."""
        dialect = self._engine.dialect
        case_id = progress.case_id
        now = datetime.now(UTC)
        phase_changed = or_(
            CASES.c.departure_phase.is_distinct_from(progress.phase.value),
            CASES.c.departure_reason.is_distinct_from(progress.reason),
        )
        # Saves can land out of order (one retried after its worker was killed): the phase comes only from a save
        # at least as far along as the last one applied, so a late "preparing" cannot undo "refused".
        values: dict[str, Any] = {
            "departure_phase": progress.phase.value,
            "departure_reason": progress.reason,
            "updated_at": case((phase_changed, literal(now, UtcDateTime())), else_=CASES.c.updated_at),
        }
        if progress.sequence is not None:
            current = or_(CASES.c.progress_sequence.is_(None), CASES.c.progress_sequence <= progress.sequence)
            values = {name: case((current, value), else_=CASES.c[name]) for name, value in values.items()}
            values["progress_sequence"] = case((current, progress.sequence), else_=CASES.c.progress_sequence)
        async with self._sessions.begin() as session:
            # A write first: on SQLite a transaction that reads before writing can fail instead of waiting.
            result = await session.execute(update(CASES).where(CASES.c.case_id == case_id).values(**values))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise CaseNotFound(case_id)
            if steps := _last_per_key(progress.steps, lambda r: r.key):
                rows = [convert.step_row(case_id, record) for record in steps]
                await session.execute(
                    # Saves of one departure can land out of order (one retried after its worker was killed):
                    # a step's record is replaced only by one the workflow made later.
                    upsert(dialect, STEPS, rows, keys=["case_id", "step_key"], update=convert.STEP_FIELDS_WITH_TIME,
                           not_older="updated_at")
                )
            if medical := _last_per_key(progress.medical, lambda m: m.person_id):
                rows = [convert.medical_row(case_id, file, now, progress.sequence) for file in medical]
                await session.execute(
                    # Likewise a traveller's file: a late save holding an earlier result leaves the newer one.
                    upsert(dialect, MEDICAL, rows, keys=["case_id", "person_id"], update=["payload"],
                           touch="updated_at", not_older="progress_sequence")
                )
            if bookings := _last_per_key(progress.bookings, lambda b: b.idempotency_key):
                rows = [convert.booking_row(case_id, record, now) for record in bookings]
                await session.execute(
                    upsert(
                        dialect,
                        BOOKINGS,
                        rows,
                        keys=["idempotency_key"],
                        update=convert.BOOKING_FIELDS,
                        touch="updated_at",
                    )
                )
            await self._insert_audit(session, progress.audit)

    async def step_records(self, case_id: str) -> list[StepRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(StepResultRow).where(StepResultRow.case_id == case_id).order_by(StepResultRow.id)
            )
            return [convert.step_from_row(row) for row in rows]

    async def medical_files(self, case_id: str) -> list[MedicalFile]:
        """Diagnoses and test results: only for callers acting for a medical role."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(MedicalResultRow).where(MedicalResultRow.case_id == case_id).order_by(MedicalResultRow.id)
            )
            return [convert.medical_from_row(row) for row in rows]

    async def bookings(self, case_id: str) -> list[BookingRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(BookingRow).where(BookingRow.case_id == case_id).order_by(BookingRow.attempt, BookingRow.id)
            )
            return [convert.booking_from_row(row) for row in rows]

    async def departure_phase(self, case_id: str) -> tuple[Phase, str | None] | None:
        """None while the case is unknown or its departure has not reported yet."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(CaseRow.departure_phase, CaseRow.departure_reason).where(CaseRow.case_id == case_id)
                )
            ).one_or_none()
        if row is None or row.departure_phase is None:
            return None
        return Phase(row.departure_phase), row.departure_reason

    async def phase_counts(self) -> dict[str, int]:
        """Cases per departure phase; cases whose departure has not reported yet are not counted."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(CaseRow.departure_phase, func.count())
                .where(CaseRow.departure_phase.is_not(None))
                .group_by(CaseRow.departure_phase)
            )
            return {str(phase): int(count) for phase, count in rows}

    # Audit trail

    async def append_audit(self, events: list[AuditEvent]) -> None:
        async with self._sessions.begin() as session:
            await self._insert_audit(session, events)

    async def audit_events(self, object_id: str | None = None) -> list[AuditEvent]:
        query = select(AuditRow).order_by(AuditRow.at, AuditRow.id)
        if object_id is not None:
            query = query.where(AuditRow.object_id == object_id)
        async with self._sessions() as session:
            return [convert.audit_from_row(row) for row in await session.scalars(query)]

    async def _insert_audit(self, session: AsyncSession, events: list[AuditEvent]) -> None:
        if unique := _last_per_key(events, lambda e: e.event_key):
            rows = [convert.audit_row(event) for event in unique]
            await session.execute(insert_new(self._engine.dialect, AUDIT, rows, keys=["event_key"]))
