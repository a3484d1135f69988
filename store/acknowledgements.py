"""Reception teams' acknowledgements of arrival manifest versions: written once per organisation and version (with
its audit row in the same transaction), read back for the team's own page and for the coordinators of the movement."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select

from domain.audit import AuditEvent
from store import convert
from store.acknowledgement_models import ManifestAcknowledgementRow
from store.repository import AUDIT, Store
from store.upsert import insert_new

ACKNOWLEDGEMENTS = cast(Table, ManifestAcknowledgementRow.__table__)
ACTION = "manifest.acknowledged"


@dataclass(frozen=True)
class ManifestAcknowledgement:
    movement_id: str
    organisation_id: str
    version: int
    document_reference: str
    acknowledged_by: str  # <org>/<subject>
    acknowledged_at: datetime


def _from_row(row: ManifestAcknowledgementRow) -> ManifestAcknowledgement:
    return ManifestAcknowledgement(row.movement_id, row.organisation_id, row.version, row.document_reference,
                                   row.acknowledged_by, row.acknowledged_at)


def audit_key(movement_id: str, organisation_id: str, version: int) -> str:
    return f"{ACTION}:{movement_id}:{organisation_id}:{version}"


async def acknowledge(store: Store, acknowledgement: ManifestAcknowledgement,
                      role: str) -> tuple[ManifestAcknowledgement, bool]:
    """Records the acknowledgement unless this version already has one. Returns the one that stands, and whether
    this call wrote it. The audit row is keyed like the acknowledgement, so a repeat writes no second one."""
    ack = acknowledgement
    row = {"movement_id": ack.movement_id, "organisation_id": ack.organisation_id, "version": ack.version,
           "document_reference": ack.document_reference, "acknowledged_by": ack.acknowledged_by,
           "acknowledged_at": ack.acknowledged_at}
    event = AuditEvent(
        event_key=audit_key(ack.movement_id, ack.organisation_id, ack.version), at=ack.acknowledged_at,
        actor=ack.acknowledged_by, action=ACTION, object_type="document", object_id=ack.document_reference,
        detail={"org_id": ack.organisation_id, "role": role, "movement_id": ack.movement_id,
                "organisation_id": ack.organisation_id, "version": str(ack.version)},
    )
    async with store.session() as session, session.begin():
        written = await session.execute(insert_new(store.dialect, ACKNOWLEDGEMENTS, [row],
                                                   keys=["movement_id", "organisation_id", "version"]))
        created = bool(written.rowcount)
        if created:
            await session.execute(insert_new(store.dialect, AUDIT, [convert.audit_row(event)], keys=["event_key"]))
        stored = await session.get(ManifestAcknowledgementRow, (ack.movement_id, ack.organisation_id, ack.version))
        assert stored is not None
        return _from_row(stored), created


async def acknowledgements(store: Store, movement_id: str,
                           organisation_ids: Collection[str] | None = None) -> list[ManifestAcknowledgement]:
    """A movement's acknowledgements, by organisation then version; only these organisations' if given (a reception
    team sees its own, a coordinator every team's)."""
    query = select(ManifestAcknowledgementRow).where(ManifestAcknowledgementRow.movement_id == movement_id)
    if organisation_ids is not None:
        query = query.where(ManifestAcknowledgementRow.organisation_id.in_(list(organisation_ids)))
    query = query.order_by(ManifestAcknowledgementRow.organisation_id, ManifestAcknowledgementRow.version)
    async with store.session() as session:
        return [_from_row(row) for row in await session.scalars(query)]
