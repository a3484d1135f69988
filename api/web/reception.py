"""The reception team's pages: the flights bringing families to it, each flight's manifest with its versions and
what changed, the PDF and CSV of any version, and the team's acknowledgement of a version.

Functional needs only: these pages read the same manifests as /movements/{id}/manifests/{org}, which never carry a
diagnosis. Every manifest read and download is audited by the service it goes through, and an acknowledgement is
recorded once per version with its own audit row."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.context import ApiContext
from api.documents import manifests
from api.documents.endpoints import sent
from api.documents.schemas import MOVEMENT_ID
from api.principal import Principal, Role
from api.web.csrf import CsrfChecked
from api.web.reception_data import acknowledge_version, arrivals_by_flight, manifest_page
from api.web.render import N_, fragment, page
from api.web.session import PREFIX, web_role
from documents.labels import field_message

router = APIRouter()

ReceptionTeam = Annotated[Principal, Depends(web_role(Role.RECEPTION_TEAM))]
MovementId = Annotated[str, Path(pattern=MOVEMENT_ID)]
Version = Annotated[int | None, Query(ge=1, le=100_000)]

ACKNOWLEDGED = N_("Acknowledged. The office that sent the families sees it.")
ALREADY = N_("This version was already acknowledged; nothing changed.")


def context_of(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


def manifest_url(movement: str, version: int | None = None) -> str:
    return f"{PREFIX}/manifests/{movement}" + (f"?version={version}" if version else "")


@router.get("/arrivals")
async def arrivals(request: Request, principal: ReceptionTeam) -> Response:
    flights = await arrivals_by_flight(context_of(request), principal)
    return page(request, "web/reception_arrivals.html", principal, flights=flights, manifest_url=manifest_url)


@router.get("/arrivals/live")
async def arrivals_live(request: Request, principal: ReceptionTeam) -> Response:
    """The flights table alone, for live.js: a new manifest version or a new family shows without a reload."""
    flights = await arrivals_by_flight(context_of(request), principal)
    return fragment(request, "web/reception_arrivals_table.html", principal, flights=flights,
                    manifest_url=manifest_url)


@router.get("/manifests/{movement_id}")
async def manifest(request: Request, principal: ReceptionTeam, movement_id: MovementId, version: Version = None,
                   acknowledged: str = "") -> Response:
    shown = await manifest_page(context_of(request), principal, movement_id, version)
    notice = {"new": ACKNOWLEDGED, "again": ALREADY}.get(acknowledged)
    return page(request, "web/reception_manifest.html", principal, shown=shown, notice=notice,
                movement_id=movement_id, manifest_url=manifest_url, field_message=field_message,
                download=lambda kind: f"{PREFIX}/manifests/{movement_id}/manifest.{kind}"
                                      f"?version={shown.manifest.version}")


@router.get("/manifests/{movement_id}/manifest.pdf")
async def manifest_pdf(request: Request, principal: ReceptionTeam, movement_id: MovementId,
                       version: Version = None) -> Response:
    """The same bytes as /movements/{id}/manifests/{org}/manifest.pdf, for a browser that has a session cookie
    instead of a bearer token; audited the same way."""
    return sent(await manifests.manifest_pdf(context_of(request), principal, movement_id, principal.org_id, version))


@router.get("/manifests/{movement_id}/manifest.csv")
async def manifest_csv(request: Request, principal: ReceptionTeam, movement_id: MovementId,
                       version: Version = None) -> Response:
    return sent(await manifests.manifest_csv(context_of(request), principal, movement_id, principal.org_id, version))


@router.post("/manifests/{movement_id}/acknowledgement")
async def acknowledge(request: Request, principal: ReceptionTeam, _csrf: CsrfChecked, movement_id: MovementId,
                      version: Annotated[int, Form(ge=1, le=100_000)]) -> Response:
    _, created = await acknowledge_version(context_of(request), principal, movement_id, version)
    # Post/redirect/get: a reload shows the page, it does not post again.
    return RedirectResponse(f"{manifest_url(movement_id, version)}&acknowledged={'new' if created else 'again'}",
                            status_code=303)
