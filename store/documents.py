"""The document archive: every version of every generated document, its PDF, and what it was rendered from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from pydantic import BaseModel
from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError

from domain.audit import AuditEvent
from domain.documents import DocumentKind, DocumentToRender
from store import convert
from store.models import DocumentContentRow, DocumentRow
from store.repository import AUDIT, Store
from store.upsert import insert_new

CONTENTS = cast(Table, DocumentContentRow.__table__)
# What a paper's content becomes once its family's personal data has been removed (store.retention); its PDF goes.
ANONYMISED_CONTENT = {"anonymised": True}


def is_anonymised(content: object) -> bool:
    return isinstance(content, dict) and content.get("anonymised") is True


class StoredDocument(BaseModel):
    document_id: str
    subject: str
    kind: DocumentKind
    version: int
    case_id: str | None
    person_id: str | None
    movement_id: str | None
    organisation_id: str | None
    languages: list[str]
    sha256: str
    size: int
    fingerprint: str
    issued_at: datetime
    generated_by: str
    created_at: datetime
    superseded_by: str | None

    @property
    def is_current(self) -> bool:
        return self.superseded_by is None


class VersionTaken(Exception):
    """Another writer stored a different document under the same subject and version; read the latest and retry."""


def _stored(row: DocumentRow) -> StoredDocument:
    return StoredDocument.model_validate(row, from_attributes=True)


class DocumentArchive:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def add_version(self, document: DocumentToRender, pdf_sha256: str, pdf: bytes, *, subject: str,
                          fingerprint: str, generated_by: str, person_id: str | None = None,
                          movement_id: str | None = None, organisation_id: str | None = None,
                          audit: AuditEvent | None = None) -> StoredDocument:
        """Store `document` as the newest version of `subject` and mark the one before it superseded, at once,
        with `audit` (its issue) in the same transaction: a worker killed in between, and a call that is then
        cancelled rather than retried, would otherwise leave a paper no audit row tells of.

        Idempotent: storing the same version with the same PDF again returns what is stored."""
        header = document.header
        content = document.content
        row = DocumentRow(
            document_id=header.reference, subject=subject, kind=header.kind.value, version=header.version,
            case_id=getattr(content, "case_id", None), person_id=person_id, movement_id=movement_id,
            organisation_id=organisation_id, languages=list(header.languages), sha256=pdf_sha256, size=len(pdf),
            fingerprint=fingerprint, content=document.model_dump(mode="json"), issued_at=header.issued_at,
            generated_by=generated_by, created_at=datetime.now(UTC), superseded_by=None,
        )
        try:
            async with self._store.session() as session, session.begin():
                await session.execute(insert_new(self._store.dialect, CONTENTS, [{"sha256": pdf_sha256, "pdf": pdf}],
                                                 keys=["sha256"]))
                session.add(row)
                await session.flush()
                if audit is not None:
                    await session.execute(insert_new(self._store.dialect, AUDIT, [convert.audit_row(audit)],
                                                     keys=["event_key"]))
                await session.execute(
                    update(DocumentRow)
                    .where(DocumentRow.subject == subject, DocumentRow.version < header.version,
                           DocumentRow.superseded_by.is_(None))
                    .values(superseded_by=header.reference)
                )
        except IntegrityError:
            existing = await self.version(subject, header.version)
            if existing is not None and existing.sha256 == pdf_sha256:
                return existing
            raise VersionTaken(f"{subject} version {header.version} is taken") from None
        return _stored(row)

    async def latest(self, subject: str) -> StoredDocument | None:
        async with self._store.session() as session:
            row = await session.scalar(
                select(DocumentRow).where(DocumentRow.subject == subject).order_by(DocumentRow.version.desc()).limit(1)
            )
            return _stored(row) if row else None

    async def version(self, subject: str, version: int) -> StoredDocument | None:
        async with self._store.session() as session:
            row = await session.scalar(
                select(DocumentRow).where(DocumentRow.subject == subject, DocumentRow.version == version)
            )
            return _stored(row) if row else None

    async def versions(self, subject: str) -> list[StoredDocument]:
        async with self._store.session() as session:
            rows = await session.scalars(
                select(DocumentRow).where(DocumentRow.subject == subject).order_by(DocumentRow.version)
            )
            return [_stored(row) for row in rows]

    async def get(self, document_id: str) -> StoredDocument | None:
        async with self._store.session() as session:
            row = await session.get(DocumentRow, document_id)
            return _stored(row) if row else None

    async def content(self, document_id: str) -> DocumentToRender | None:
        async with self._store.session() as session:
            payload = await session.scalar(select(DocumentRow.content).where(DocumentRow.document_id == document_id))
        if payload is None or is_anonymised(payload):
            return None
        return DocumentToRender.model_validate(payload)

    async def pdf(self, document_id: str) -> bytes | None:
        async with self._store.session() as session:
            return await session.scalar(
                select(DocumentContentRow.pdf)
                .join(DocumentRow, DocumentRow.sha256 == DocumentContentRow.sha256)
                .where(DocumentRow.document_id == document_id)
            )

    async def for_case(self, case_id: str) -> list[StoredDocument]:
        async with self._store.session() as session:
            rows = await session.scalars(
                select(DocumentRow).where(DocumentRow.case_id == case_id)
                .order_by(DocumentRow.kind, DocumentRow.subject, DocumentRow.version)
            )
            return [_stored(row) for row in rows]

    async def manifests(self, movement_id: str, organisation_id: str | None = None) -> list[StoredDocument]:
        query = select(DocumentRow).where(DocumentRow.movement_id == movement_id,
                                          DocumentRow.kind == DocumentKind.ARRIVAL_MANIFEST.value)
        if organisation_id is not None:
            query = query.where(DocumentRow.organisation_id == organisation_id)
        async with self._store.session() as session:
            rows = await session.scalars(query.order_by(DocumentRow.organisation_id, DocumentRow.version))
            return [_stored(row) for row in rows]
