"""Finding what a partner's callback is about, by the reference the partner itself gave."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from api.context import ApiContext
from domain.steps import Step
from store.models import AuditRow, BookingRow, StepResultRow


@dataclass(frozen=True)
class Awaited:
    case_id: str
    step_key: str
    state: str


async def step_by_reference(context: ApiContext, step: Step, reference: str) -> Awaited | None:
    """The one step of this kind whose request the partner filed under `reference`. A reference shared by several
    steps (a sentinel such as "national passport", never a partner's file number) names none of them."""
    async with context.store.session() as session:
        rows = (await session.execute(
            select(StepResultRow.case_id, StepResultRow.step_key, StepResultRow.state)
            .where(StepResultRow.reference == reference, StepResultRow.step == step.value)
            .limit(2)
        )).all()
    if len(rows) != 1:
        return None
    return Awaited(rows[0].case_id, rows[0].step_key, rows[0].state)


async def booking_by_reference(context: ApiContext, booking_ref: str) -> BookingRow | None:
    async with context.store.session() as session:
        return await session.scalar(
            select(BookingRow).where(BookingRow.booking_ref == booking_ref)
            .order_by(BookingRow.attempt.desc(), BookingRow.id.desc()).limit(1)
        )


async def already_recorded(context: ApiContext, event_key: str) -> bool:
    async with context.store.session() as session:
        return await session.scalar(select(AuditRow.id).where(AuditRow.event_key == event_key)) is not None
