"""A case's documents, one document's metadata and PDF (every download audited), and public verification."""

from __future__ import annotations

from dataclasses import dataclass

from api.audit import service as audit
from api.context import ApiContext
from api.documents import access, repository
from api.documents.schemas import DocumentList, DocumentView, Verification
from api.principal import Principal
from domain.documents import DocumentKind, DocumentStatus
from store.documents import DocumentArchive, StoredDocument

KIND_ORDER = {kind: index for index, kind in enumerate(DocumentKind)}


@dataclass(frozen=True)
class Download:
    """A file to send: what it is, its bytes, and the name it is saved under (kind, reference, version: no one's
    name, which would travel with the file into download folders and mail attachments)."""

    document: StoredDocument
    body: bytes
    media_type: str
    filename: str
    etag: str


def status_of(stored: StoredDocument) -> DocumentStatus:
    return DocumentStatus.VALID if stored.is_current else DocumentStatus.SUPERSEDED


def filename(stored: StoredDocument, extension: str) -> str:
    return f"{stored.kind.value}_{stored.document_id}_v{stored.version}.{extension}"


def view(stored: StoredDocument) -> DocumentView:
    return DocumentView(
        reference=stored.document_id, kind=stored.kind, version=stored.version, status=status_of(stored),
        superseded_by=stored.superseded_by, issued_at=stored.issued_at, languages=stored.languages,
        sha256=stored.sha256, size=stored.size, case_id=stored.case_id, person_id=stored.person_id,
        movement_id=stored.movement_id, organisation_id=stored.organisation_id,
        download_url=f"/documents/{stored.document_id}/pdf",
    )


async def case_documents(context: ApiContext, principal: Principal, case_id: str) -> DocumentList:
    """The same 404 for an unknown case and another organisation's: ids are not confirmed."""
    parties = await repository.case_parties(context, case_id)
    if parties is None or not access.is_party(principal, parties):
        raise access.not_found("case")
    stored = await DocumentArchive(context.store).for_case(case_id)
    shown = sorted((d for d in stored if access.sees_kind(principal, parties, d.kind)),
                   key=lambda d: (KIND_ORDER[d.kind], d.subject, -d.version))
    await audit.record(context, principal, "documents.listed", "case", case_id, documents=str(len(shown)))
    return DocumentList(case_id=case_id, items=[view(d) for d in shown])


async def readable(context: ApiContext, principal: Principal, document_id: str) -> StoredDocument:
    stored = await DocumentArchive(context.store).get(document_id)
    if stored is None or not await access.may_read(context, principal, stored):
        raise access.not_found()
    return stored


def about(stored: StoredDocument) -> dict[str, str]:
    """What the audit trail says a document is about: opaque ids only."""
    if stored.case_id is not None:
        ids = {"case_id": stored.case_id, "person_id": stored.person_id}
    else:
        ids = {"movement_id": stored.movement_id, "organisation_id": stored.organisation_id}
    return {"kind": stored.kind.value, "version": str(stored.version), **{k: v for k, v in ids.items() if v}}


async def download(context: ApiContext, principal: Principal, stored: StoredDocument, action: str,
                   **detail: str) -> Download:
    """The stored PDF, recorded before it leaves: a download the trail cannot name does not happen."""
    pdf = await DocumentArchive(context.store).pdf(stored.document_id)
    if pdf is None:
        raise access.not_found()
    await audit.record(context, principal, action, "document", stored.document_id, **about(stored), **detail)
    return Download(stored, pdf, "application/pdf", filename(stored, "pdf"), stored.sha256)


async def document_pdf(context: ApiContext, principal: Principal, document_id: str) -> Download:
    return await download(context, principal, await readable(context, principal, document_id),
                          "document.downloaded")


async def verify(context: ApiContext, reference: str, sha256: str | None) -> Verification | None:
    """None for an unknown reference: the route answers that with a problem document of its own."""
    found = await repository.verifiable(context, reference)
    if found is None:
        return None
    return Verification(
        reference=found.reference, kind=DocumentKind(found.kind), version=found.version,
        status=DocumentStatus.VALID if found.superseded_by is None else DocumentStatus.SUPERSEDED,
        issued_at=found.issued_at, issuer=found.issuer, sha256=found.sha256, superseded_by=found.superseded_by,
        latest_version=found.latest_version, matches=None if sha256 is None else sha256.lower() == found.sha256,
    )
