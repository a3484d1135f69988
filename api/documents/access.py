"""Who may read which document. A case's papers: its office, except the medical ones; its clinic, the medical ones
and the fitness certificates. A manifest: the receiving organisation it is for, and offices with a family on it.
Everyone else is told the document does not exist, as for an unknown id."""

from __future__ import annotations

from api.context import ApiContext
from api.documents import repository
from api.documents.repository import CaseParties
from api.principal import Principal, Role
from api.problems import ProblemError
from domain.documents import MEDICAL_KINDS, DocumentKind, document_subject
from store.documents import StoredDocument

# What a clinic issues or needs back: never the family's travel papers, which carry no medical purpose for it.
CLINIC_KINDS = frozenset({DocumentKind.MEDICAL_SUMMARY, DocumentKind.FIT_TO_TRAVEL})


def not_found(what: str = "document") -> ProblemError:
    return ProblemError(404, f"no such {what} for your organisation")


def manifest_subject(movement_id: str, organisation_id: str) -> str:
    return document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=movement_id, organisation_id=organisation_id)


def is_party(principal: Principal, parties: CaseParties) -> bool:
    if principal.role is Role.COORDINATOR:
        return parties.office_id == principal.org_id
    if principal.sees_medical_details:
        return parties.medical_partner_id == principal.org_id
    return False


def sees_kind(principal: Principal, parties: CaseParties, kind: DocumentKind) -> bool:
    if not is_party(principal, parties):
        return False
    if kind in MEDICAL_KINDS and not principal.sees_medical_details:
        return False  # not even the office that runs the case
    return kind in CLINIC_KINDS if principal.sees_medical_details else kind is not DocumentKind.ARRIVAL_MANIFEST


async def may_read_manifest(context: ApiContext, principal: Principal, movement_id: str,
                            organisation_id: str) -> bool:
    if principal.role is Role.RECEPTION_TEAM:
        return principal.org_id == organisation_id
    if principal.role is Role.COORDINATOR:
        return await repository.office_on_manifest(context, principal.org_id,
                                                   manifest_subject(movement_id, organisation_id), movement_id,
                                                   organisation_id)
    return False


async def may_read(context: ApiContext, principal: Principal, stored: StoredDocument) -> bool:
    if stored.kind is DocumentKind.ARRIVAL_MANIFEST:
        if stored.movement_id is None or stored.organisation_id is None:
            return False
        return await may_read_manifest(context, principal, stored.movement_id, stored.organisation_id)
    if stored.case_id is None:
        return False
    parties = await repository.case_parties(context, stored.case_id)
    return parties is not None and sees_kind(principal, parties, stored.kind)
