"""The reads behind document access: who a case belongs to, whether an office has a family on a manifest, and the
one query public verification makes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from api.context import ApiContext
from store.models import BookingRow, CaseRow, DocumentRow


@dataclass(frozen=True)
class CaseParties:
    office_id: str
    medical_partner_id: str


async def case_parties(context: ApiContext, case_id: str) -> CaseParties | None:
    async with context.store.session() as session:
        row = (await session.execute(
            select(CaseRow.office_id, CaseRow.medical_partner_id).where(CaseRow.case_id == case_id)
        )).one_or_none()
    return CaseParties(row.office_id, row.medical_partner_id) if row else None


async def office_on_manifest(context: ApiContext, office_id: str, subject: str, movement_id: str,
                             organisation_id: str) -> bool:
    """Whether the office has a family on the manifest: booked on the movement for the organisation (any attempt,
    so a family taken off the flight still sees the amendment that took it off), or listed in a stored version."""
    booked = select(BookingRow.case_id).where(BookingRow.movement_id == movement_id)
    office_cases = select(CaseRow.case_id).where(CaseRow.office_id == office_id).limit(1)
    async with context.store.session() as session:
        found = await session.scalar(office_cases.where(CaseRow.receiving_organisation == organisation_id,
                                                        CaseRow.case_id.in_(booked)))
        if found is not None:
            return True
        # Bookings written before movements were recorded have none: what the manifest itself lists decides.
        contents = await session.scalars(select(DocumentRow.content).where(DocumentRow.subject == subject))
        listed = {passenger["case_id"] for content in contents
                  for passenger in content["content"].get("passengers", [])}
        if not listed:
            return False
        return await session.scalar(office_cases.where(CaseRow.case_id.in_(sorted(listed)))) is not None


@dataclass(frozen=True)
class VerifiedRow:
    reference: str
    kind: str
    version: int
    issued_at: datetime
    sha256: str
    superseded_by: str | None
    latest_version: int
    issuer: str


async def verifiable(context: ApiContext, reference: str) -> VerifiedRow | None:
    """The document and its subject's newest version; None when unknown or when its case has been deleted."""
    newer = aliased(DocumentRow)
    latest = select(func.max(newer.version)).where(newer.subject == DocumentRow.subject).scalar_subquery()
    query = (
        select(DocumentRow.document_id, DocumentRow.kind, DocumentRow.version, DocumentRow.issued_at,
               DocumentRow.sha256, DocumentRow.superseded_by, DocumentRow.content, latest.label("latest"))
        .outerjoin(CaseRow, CaseRow.case_id == DocumentRow.case_id)
        .where(DocumentRow.document_id == reference,
               or_(DocumentRow.case_id.is_(None), CaseRow.case_id.is_not(None)))
    )
    async with context.store.session() as session:
        row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    return VerifiedRow(reference=row.document_id, kind=row.kind, version=row.version, issued_at=row.issued_at,
                       sha256=row.sha256, superseded_by=row.superseded_by, latest_version=row.latest,
                       issuer=_issuer_name(row.content))


def _issuer_name(content: dict[str, Any]) -> str:
    # The name printed on the paper, which is what the holder compares; the rest of the content stays here.
    return str(content["header"]["issuer"]["name"])
