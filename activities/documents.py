"""Issue a departure's papers: render each one, store it as the next version of its subject, audit it.

Safe to run twice, or twice at once. A paper whose latest version says the same (same content fingerprint) is
returned as it is, not rendered again. A new version is numbered latest+1; if another writer took that number
first, the activity fails retryably and its retry, seeing the other's version as the latest, starts over from it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import document_drafts as drafts
from activities.document_messages import CaseDocumentsCall, IssuedDocument, ManifestCall
from domain.audit import AuditEvent
from domain.case import Case
from domain.documents import (
    DocumentHeader,
    DocumentKind,
    DocumentToRender,
    Issuer,
    ManifestContent,
    catalog_language,
    content_fingerprint,
    document_languages,
    document_reference,
    document_subject,
    family_language,
    manifest_changes,
)
from store.documents import DocumentArchive, StoredDocument, VersionTaken
from store.rosters import manifest_roster, organisation_name

if TYPE_CHECKING:
    from predeparture.settings import DocumentSettings
    from store.repository import Store

VERSION_TAKEN = "DocumentVersionTaken"


class Renderer(Protocol):
    """documents.render.DocumentRenderer, or anything that renders the same way."""

    async def render_batch(self, documents: list[DocumentToRender]) -> list[bytes]: ...


class DocumentActivities:
    def __init__(self, store: Store, renderer: Renderer, settings: DocumentSettings) -> None:
        self._store = store
        self._archive = DocumentArchive(store)
        self._renderer = renderer
        self._settings = settings

    @activity.defn
    async def issue_booking_documents(self, call: CaseDocumentsCall) -> list[IssuedDocument]:
        """The family's travel pack and flight itinerary for its current booking; none without one."""
        file = await self._case_file(call.case_id)
        issuer = await self._issuer(file.case.office_id)
        family = self._family_language(file.case, call)
        planned = [
            drafts.Draft(subject=drafts.case_subject(content.kind, file.case.case_id), content=content, issuer=issuer,
                         languages=document_languages(content.kind, family, _official(call)),
                         audit_object=("case", file.case.case_id))
            for content in drafts.booking_contents(file)
        ]
        return await self._publish(planned, call.issued_at, call.generated_by)

    @activity.defn
    async def issue_fitness_documents(self, call: CaseDocumentsCall) -> list[IssuedDocument]:
        """A fit-to-travel certificate per traveller checked, and the family's medical summary."""
        file = await self._case_file(call.case_id)
        issuer = await self._issuer(file.case.medical_partner_id)
        family = self._family_language(file.case, call)
        case_id = file.case.case_id
        planned = [
            drafts.Draft(subject=drafts.case_subject(DocumentKind.FIT_TO_TRAVEL, case_id, person_id),
                         content=content, issuer=issuer, person_id=person_id, audit_object=("case", case_id),
                         languages=document_languages(DocumentKind.FIT_TO_TRAVEL, family, _official(call)))
            for person_id, content in drafts.fitness_contents(file)
        ]
        if (summary := drafts.medical_summary(file)) is not None:
            planned.append(drafts.Draft(
                subject=drafts.case_subject(DocumentKind.MEDICAL_SUMMARY, case_id), content=summary, issuer=issuer,
                languages=document_languages(DocumentKind.MEDICAL_SUMMARY, family, _official(call)),
                audit_object=("case", case_id)))
        return await self._publish(planned, call.issued_at, call.generated_by)

    @activity.defn
    async def publish_manifest(self, call: ManifestCall) -> IssuedDocument | None:
        """The movement's manifest for one receiving organisation, amended when its roster changed. None while
        no family bound for the organisation was ever on the movement."""
        subject = document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=call.movement_id,
                                   organisation_id=call.organisation_id)
        # The latest version is read before the roster: a writer that amends it in between took our version
        # number, so we retry instead of storing a roster older than its amendment.
        latest = await self._archive.latest(subject)
        previous = await self._previous_manifest(latest)
        roster = await manifest_roster(self._store, call.movement_id, call.organisation_id)
        if roster is None and previous is None:
            return None
        before = previous.passengers if previous else []
        passengers = roster.passengers if roster else []
        if call.boarded_person_ids is not None:
            boarded = set(call.boarded_person_ids)
            passengers = [p for p in passengers if p.person_id in boarded]
        # With nobody left, the amendment removing everyone still names the flight they were to take.
        flight = roster.flight if roster else previous.flight  # type: ignore[union-attr]
        city = roster.destination_city if roster else previous.destination_city  # type: ignore[union-attr]
        content = ManifestContent(movement_id=call.movement_id, organisation_id=call.organisation_id, flight=flight,
                                  destination_city=city, passengers=passengers, final=call.final,
                                  changes=manifest_changes(before, passengers) if previous else [])
        settings = self._settings
        issuer = Issuer(organisation_id=settings.manifest_issuer_id, name=settings.manifest_issuer_name)
        draft = drafts.Draft(subject=subject, content=content, issuer=issuer, movement_id=call.movement_id,
                             organisation_id=call.organisation_id, audit_object=("movement", call.movement_id),
                             languages=document_languages(DocumentKind.ARRIVAL_MANIFEST, _official(call),
                                                          _official(call)))
        [issued] = await self._publish([draft], call.issued_at, call.generated_by, latest={subject: latest})
        return issued

    # -- shared ------------------------------------------------------------------------------------------------
    async def _case_file(self, case_id: str) -> drafts.CaseFile:
        case = await self._store.load_case(case_id)
        if case is None:
            raise ApplicationError(f"case {case_id} not found", type="CaseNotFound", non_retryable=True)
        return drafts.CaseFile(case=case, steps=await self._store.step_records(case_id),
                               medical=await self._store.medical_files(case_id),
                               booking=drafts.current_booking(await self._store.bookings(case_id)))

    async def _issuer(self, organisation_id: str) -> Issuer:
        return Issuer(organisation_id=organisation_id, name=await organisation_name(self._store, organisation_id))

    @staticmethod
    def _family_language(case: Case, call: CaseDocumentsCall) -> str:
        return family_language([p.languages for p in case.people], fallback=_official(call))

    async def _previous_manifest(self, latest: StoredDocument | None) -> ManifestContent | None:
        if latest is None:
            return None
        stored = await self._archive.content(latest.document_id)
        content = stored.content if stored else None
        return content if isinstance(content, ManifestContent) else None

    async def _publish(self, planned: Sequence[drafts.Draft], issued_at: datetime, generated_by: str,
                       latest: dict[str, StoredDocument | None] | None = None) -> list[IssuedDocument]:
        """Store what changed as new versions, rendered in one batch; keep what did not."""
        latest = dict(latest or {})
        kept: dict[int, StoredDocument] = {}
        fresh: list[tuple[int, drafts.Draft, DocumentToRender, str]] = []
        for n, draft in enumerate(planned):
            if draft.subject not in latest:
                latest[draft.subject] = await self._archive.latest(draft.subject)
            current = latest[draft.subject]
            fingerprint = content_fingerprint(draft.content)
            if current is not None and current.fingerprint == fingerprint:
                kept[n] = current
                continue
            version = current.version + 1 if current else 1
            fresh.append((n, draft, self._document(draft, version, issued_at), fingerprint))
        pdfs = await self._renderer.render_batch([document for _, _, document, _ in fresh]) if fresh else []
        for (n, draft, document, fingerprint), pdf in zip(fresh, pdfs, strict=True):
            try:
                header = document.header
                kept[n] = await self._archive.add_version(
                    document, hashlib.sha256(pdf).hexdigest(), pdf, subject=draft.subject, fingerprint=fingerprint,
                    generated_by=generated_by, person_id=draft.person_id, movement_id=draft.movement_id,
                    organisation_id=draft.organisation_id,
                    audit=_issued_event(header.reference, header.kind, header.version, header.issued_at,
                                        generated_by, draft))
            except VersionTaken as taken:
                raise ApplicationError(str(taken), type=VERSION_TAKEN) from taken
        issued = [kept[n] for n in range(len(planned))]
        # A version found already stored is audited again (a no-op if it was): its first writer may have stored it
        # before the audit row was written with it. A version stored just now was audited in the same transaction.
        stored_now = {n for n, *_ in fresh}
        await self._store.append_audit([_issued_event(stored.document_id, stored.kind, stored.version,
                                                      stored.issued_at, stored.generated_by, planned[n])
                                        for n, stored in enumerate(issued) if n not in stored_now])
        return [IssuedDocument(reference=s.document_id, kind=s.kind, version=s.version, sha256=s.sha256)
                for s in issued]

    def _document(self, draft: drafts.Draft, version: int, issued_at: datetime) -> DocumentToRender:
        reference = document_reference(draft.subject, version)
        content: BaseModel = draft.content
        header = DocumentHeader(reference=reference, kind=DocumentKind(content.kind), version=version,  # type: ignore[attr-defined]
                                issued_at=issued_at, issuer=draft.issuer, languages=draft.languages,
                                verify_url=f"{self._settings.public_base_url.rstrip('/')}/verify/{reference}")
        return DocumentToRender(header=header, content=content)  # type: ignore[arg-type]


def _official(call: CaseDocumentsCall | ManifestCall) -> str:
    return catalog_language(call.official_language) or call.official_language


def _issued_event(document_id: str, kind: DocumentKind, version: int, issued_at: datetime, generated_by: str,
                  draft: drafts.Draft) -> AuditEvent:
    object_type, object_id = draft.audit_object
    return AuditEvent(event_key=f"document.issued:{document_id}", at=issued_at, actor=generated_by,
                      action="document.issued", object_type=object_type, object_id=object_id,
                      detail={"kind": kind.value, "version": str(version), "reference": document_id})
