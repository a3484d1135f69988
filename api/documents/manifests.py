"""Arrival manifests per movement and receiving organisation: any version as data, CSV or PDF (each read audited),
and the list of versions with what each one changed."""

from __future__ import annotations

import hashlib
from collections import Counter

from api.audit import service as audit
from api.context import ApiContext
from api.documents import access
from api.documents.schemas import (
    ChangeCounts,
    ManifestVersions,
    ManifestVersionSummary,
    ManifestView,
)
from api.documents.service import Download, about, download, filename, status_of
from api.principal import Principal
from domain.documents import DocumentToRender, ManifestContent
from store.documents import DocumentArchive, StoredDocument


async def _versions(context: ApiContext, principal: Principal, movement_id: str,
                    organisation_id: str) -> list[StoredDocument]:
    """Oldest first. Access is decided before existence, so neither is confirmed to an outsider."""
    if not await access.may_read_manifest(context, principal, movement_id, organisation_id):
        raise access.not_found("manifest")
    found = await DocumentArchive(context.store).versions(access.manifest_subject(movement_id, organisation_id))
    if not found:
        raise access.not_found("manifest")
    return found


async def _version(context: ApiContext, principal: Principal, movement_id: str, organisation_id: str,
                   version: int | None) -> tuple[StoredDocument, int]:
    """The version asked for, the latest by default; and the latest version's number."""
    found = await _versions(context, principal, movement_id, organisation_id)
    chosen = found[-1] if version is None else next((s for s in found if s.version == version), None)
    if chosen is None:
        raise access.not_found("manifest version")
    return chosen, found[-1].version


async def _content(context: ApiContext, stored: StoredDocument) -> tuple[DocumentToRender, ManifestContent]:
    document = await DocumentArchive(context.store).content(stored.document_id)
    if document is None or not isinstance(document.content, ManifestContent):
        raise access.not_found("manifest")
    return document, document.content


def _links(stored: StoredDocument, extension: str) -> str:
    return f"/movements/{stored.movement_id}/manifests/{stored.organisation_id}/manifest.{extension}" \
           f"?version={stored.version}"


async def manifest(context: ApiContext, principal: Principal, movement_id: str, organisation_id: str,
                   version: int | None) -> ManifestView:
    stored, latest = await _version(context, principal, movement_id, organisation_id, version)
    document, content = await _content(context, stored)
    await audit.record(context, principal, "manifest.downloaded", "document", stored.document_id,
                       **about(stored), format="json")
    return ManifestView(
        reference=stored.document_id, version=stored.version, status=status_of(stored),
        superseded_by=stored.superseded_by, latest_version=latest, final=content.final,
        issued_at=stored.issued_at, issuer=document.header.issuer, movement_id=movement_id,
        organisation_id=organisation_id, destination_city=content.destination_city, flight=content.flight,
        passengers=content.passengers, changes=content.changes, sha256=stored.sha256,
        pdf_url=_links(stored, "pdf"), csv_url=_links(stored, "csv"),
    )


async def manifest_pdf(context: ApiContext, principal: Principal, movement_id: str, organisation_id: str,
                       version: int | None) -> Download:
    stored, _ = await _version(context, principal, movement_id, organisation_id, version)
    return await download(context, principal, stored, "manifest.downloaded", format="pdf")


async def manifest_csv(context: ApiContext, principal: Principal, movement_id: str, organisation_id: str,
                       version: int | None) -> Download:
    """Rendered from the stored content, so every version's CSV says what its PDF says."""
    stored, _ = await _version(context, principal, movement_id, organisation_id, version)
    # Imported here: the renderer package is heavy, and only this route needs it.
    from documents.manifest_csv import manifest_csv as render_csv

    document, _ = await _content(context, stored)
    body = render_csv(document)
    await audit.record(context, principal, "manifest.downloaded", "document", stored.document_id,
                       **about(stored), format="csv")
    return Download(stored, body, "text/csv; charset=utf-8", filename(stored, "csv"),
                    hashlib.sha256(body).hexdigest())


async def manifest_versions(context: ApiContext, principal: Principal, movement_id: str,
                            organisation_id: str) -> ManifestVersions:
    found = await _versions(context, principal, movement_id, organisation_id)
    items = []
    for stored in reversed(found):
        _, content = await _content(context, stored)
        counts = Counter(change.change.value for change in content.changes)
        items.append(ManifestVersionSummary(
            reference=stored.document_id, version=stored.version, status=status_of(stored), final=content.final,
            issued_at=stored.issued_at, passengers=len(content.passengers), changes=ChangeCounts(**counts),
            sha256=stored.sha256,
        ))
    return ManifestVersions(movement_id=movement_id, organisation_id=organisation_id, items=items)
