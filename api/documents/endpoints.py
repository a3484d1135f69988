"""Routes for generated documents: a case's papers, one paper's metadata and PDF, a movement's arrival manifests,
and the public verification of a reference printed on a paper."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from api.cases.responses import problems
from api.cases.schemas import OPAQUE_ID
from api.deps import Context
from api.documents import manifests, service
from api.documents.schemas import (
    DOCUMENT_ID,
    MOVEMENT_ID,
    SHA256,
    DocumentList,
    DocumentView,
    ManifestVersions,
    ManifestView,
    UnknownDocument,
    Verification,
)
from api.documents.service import Download
from api.limits import Bucket, address_rate_limited, rate_limited
from api.principal import Principal, Scope
from api.problems import PROBLEM_JSON, ProblemError, problem_responses

router = APIRouter(tags=["documents"])

CaseId = Annotated[str, Path(pattern=OPAQUE_ID, examples=["case_8c1d0f3b2a9e4d71"])]
DocumentId = Annotated[str, Path(pattern=DOCUMENT_ID, description="the reference printed on the paper",
                                 examples=["doc_4be1f0c29a7d3e815b60"])]
MovementId = Annotated[str, Path(pattern=MOVEMENT_ID, description="one flight on one day",
                                 examples=["mov_3e9b0c2d4f6a8b1c"])]
OrganisationId = Annotated[str, Path(pattern=OPAQUE_ID, description="the receiving organisation",
                                     examples=["org_reception_mb"])]
Version = Annotated[int | None, Query(ge=1, le=100_000, description="an older version; the latest if absent")]
NO_STORE = {"Cache-Control": "no-store"}


def require_any(*scopes: Scope) -> Callable[..., Awaitable[Principal]]:
    """Authenticates the caller and checks it holds one of the scopes: several audiences share these routes, and
    which of their documents each may read is decided per document (api.documents.access)."""
    from api.auth.dependencies import current_principal  # the auth package owns token checks

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.scopes & set(scopes):
            raise ProblemError(403, f"this route needs one of the scopes {', '.join(s.value for s in scopes)}")
        return principal

    return check


CaseReader = Annotated[Principal, Depends(require_any(Scope.CASES_READ, Scope.MEDICAL_READ))]
DocumentReader = Annotated[Principal, Depends(require_any(Scope.CASES_READ, Scope.MEDICAL_READ,
                                                          Scope.ARRIVALS_READ))]
ManifestReader = Annotated[Principal, Depends(require_any(Scope.CASES_READ, Scope.ARRIVALS_READ))]


def file_responses(media_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    return {200: {
        "description": f"{what}; the download is recorded in the audit trail",
        "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "ETag": {"description": "the SHA-256 of the file, quoted", "schema": {"type": "string"}},
            "Content-Disposition": {"description": "attachment; the name says kind, reference and version",
                                    "schema": {"type": "string"}},
        },
    }}


def sent(download: Download) -> Response:
    return Response(download.body, media_type=download.media_type, headers={
        "Content-Disposition": f'attachment; filename="{download.filename}"', "ETag": f'"{download.etag}"',
        **NO_STORE,  # personal data: no cache between here and the reader keeps a copy
    })


@router.get("/cases/{case_id}/documents", response_model=DocumentList, responses=problems(404),
            summary="A case's documents you may see, each paper's versions newest first")
async def case_documents(context: Context, principal: CaseReader, case_id: CaseId) -> DocumentList:
    return await service.case_documents(context, principal, case_id)


@router.get("/documents/{document_id}", response_model=DocumentView, responses=problems(404),
            summary="One document's metadata: kind, version, whether it is current, its checksum")
async def document(context: Context, principal: DocumentReader, document_id: DocumentId) -> DocumentView:
    return service.view(await service.readable(context, principal, document_id))


@router.get("/documents/{document_id}/pdf", response_class=Response,
            responses={**file_responses("application/pdf", "The PDF"), **problems(404)},
            summary="The PDF of one document version (every download is audited)")
async def document_pdf(context: Context, principal: DocumentReader, document_id: DocumentId) -> Response:
    return sent(await service.document_pdf(context, principal, document_id))


MANIFEST = "/movements/{movement_id}/manifests/{organisation_id}"


@router.get(MANIFEST, response_model=ManifestView, responses=problems(404, 429),
            dependencies=[rate_limited(Bucket.MANIFEST)],
            summary="The arrival manifest of a movement for one receiving organisation (each read is audited)")
async def manifest(context: Context, principal: ManifestReader, movement_id: MovementId,
                   organisation_id: OrganisationId, version: Version = None) -> ManifestView:
    return await manifests.manifest(context, principal, movement_id, organisation_id, version)


@router.get(f"{MANIFEST}/manifest.csv", response_class=Response,
            responses={**file_responses("text/csv", "The manifest as CSV"), **problems(404, 429)},
            dependencies=[rate_limited(Bucket.MANIFEST)], summary="The arrival manifest as CSV (audited)")
async def manifest_csv(context: Context, principal: ManifestReader, movement_id: MovementId,
                       organisation_id: OrganisationId, version: Version = None) -> Response:
    return sent(await manifests.manifest_csv(context, principal, movement_id, organisation_id, version))


@router.get(f"{MANIFEST}/manifest.pdf", response_class=Response,
            responses={**file_responses("application/pdf", "The manifest's PDF"), **problems(404, 429)},
            dependencies=[rate_limited(Bucket.MANIFEST)], summary="The arrival manifest's PDF (audited)")
async def manifest_pdf(context: Context, principal: ManifestReader, movement_id: MovementId,
                       organisation_id: OrganisationId, version: Version = None) -> Response:
    return sent(await manifests.manifest_pdf(context, principal, movement_id, organisation_id, version))


@router.get(f"{MANIFEST}/versions", response_model=ManifestVersions, responses=problems(404, 429),
            dependencies=[rate_limited(Bucket.MANIFEST)],
            summary="Every version of the manifest, newest first, with what each one changed")
async def manifest_versions(context: Context, principal: ManifestReader, movement_id: MovementId,
                            organisation_id: OrganisationId) -> ManifestVersions:
    return await manifests.manifest_versions(context, principal, movement_id, organisation_id)


# -- public verification ------------------------------------------------------------------------------------------

VERIFY_PROBLEMS = problem_responses(422, 429)
VERIFY_PROBLEMS[404] = {
    "model": UnknownDocument,
    "description": "No document has this reference (or its case has been deleted); `document_status` is unknown",
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/UnknownDocument"}}},
}
Reference = Annotated[str, Path(pattern=DOCUMENT_ID, description="the reference printed on the paper or in its QR code",
                                examples=["doc_4be1f0c29a7d3e815b60"])]
Sha256 = Annotated[str | None, Query(pattern=SHA256, description="the SHA-256 of the PDF you hold, to compare")]


def unknown(reference: str) -> Response:
    body = UnknownDocument(title="Not found", status=404, detail="no document has this reference",
                           instance=f"/verify/{reference}")
    return Response(body.model_dump_json(exclude_none=True), status_code=404, media_type=PROBLEM_JSON,
                    headers=NO_STORE)


@router.get("/verify/{reference}", response_model=Verification, responses=VERIFY_PROBLEMS, tags=["verification"],
            dependencies=[address_rate_limited(Bucket.VERIFY)],
            summary="Anyone: is the paper with this reference genuine and current? No one's data is shown")
async def verify(context: Context, reference: Reference, response: Response, sha256: Sha256 = None) -> Any:
    verification = await service.verify(context, reference, sha256)
    if verification is None:
        return unknown(reference)
    response.headers.update(NO_STORE)  # a paper superseded a minute from now must not be answered from a cache
    return verification


@router.head("/verify/{reference}", include_in_schema=False, dependencies=[address_rate_limited(Bucket.VERIFY)])
async def verify_head(context: Context, reference: Reference, sha256: Sha256 = None) -> Response:
    """The status alone: 200 for a known reference, 404 for an unknown one."""
    found = await service.verify(context, reference, sha256) is not None
    return Response(status_code=200 if found else 404, headers=NO_STORE)
