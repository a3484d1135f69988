"""Audit rows a coordinator may read: about its office's cases and their people, or done by its organisation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from api.audit.service import actor_prefix
from api.context import ApiContext
from domain.audit import AuditEvent
from store import convert
from store.models import AuditRow, CaseRow, PersonRow


async def office_audit(context: ApiContext, org_id: str, *, object_id: str | None, action: str | None,
                       since: datetime | None, before_id: int | None, limit: int) -> list[tuple[int, AuditEvent]]:
    """Newest first (by the order rows were written). Returns each row's id for the next page's cursor."""
    office_cases = select(CaseRow.case_id).where(CaseRow.office_id == org_id)
    office_people = (
        select(PersonRow.person_id).join(CaseRow, CaseRow.case_id == PersonRow.case_id)
        .where(CaseRow.office_id == org_id)
    )
    query = select(AuditRow).where(or_(
        AuditRow.object_id.in_(office_cases),
        AuditRow.object_id.in_(office_people),
        AuditRow.actor.startswith(actor_prefix(org_id), autoescape=True),
    ))
    if object_id is not None:
        query = query.where(AuditRow.object_id == object_id)
    if action is not None:
        query = query.where(AuditRow.action == action)
    if since is not None:
        query = query.where(AuditRow.at >= since)
    if before_id is not None:
        query = query.where(AuditRow.id < before_id)
    query = query.order_by(AuditRow.id.desc()).limit(limit)
    async with context.store.session() as session:
        rows = list(await session.scalars(query))
    return [(row.id, convert.audit_from_row(row)) for row in rows]
