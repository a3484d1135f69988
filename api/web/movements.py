"""Movement pages: the office's flights, and one flight's seats, families, escorts, special service requests,
each reception team's manifest versions with what changed and how their delivery stands (refreshed live), the
coordinator's boarding record and the reception team's arrival confirmation. Every read and change goes through
api.movements.service and api.documents.manifests, as the JSON routes do."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.cases.schemas import OPAQUE_ID
from api.deps import Context
from api.documents import manifests
from api.documents.endpoints import sent
from api.documents.schemas import MOVEMENT_ID
from api.movements import service
from api.principal import Principal, Role
from api.problems import ProblemError
from api.web.csrf import CsrfChecked
from api.web.errors import field_messages
from api.web.movement_data import movement_page, office_movements, special_services
from api.web.movement_words import PASSENGER_FIELDS, WORDS
from api.web.render import N_, choose_language, fragment, page
from api.web.session import PREFIX, web_role

router = APIRouter()

MovementId = Annotated[str, Path(pattern=MOVEMENT_ID)]
OrganisationId = Annotated[str, Path(pattern=OPAQUE_ID)]
Coordinator = Annotated[Principal, Depends(web_role(Role.COORDINATOR))]
Watcher = Annotated[Principal, Depends(web_role(Role.COORDINATOR, Role.RECEPTION_TEAM))]
PERSON_ID = re.compile(OPAQUE_ID)

NOBODY_TICKED = N_("Tick every traveller who boarded; nobody is ticked.")
DONE = {
    "boarding": N_("Boarding recorded: each reception team gets its final manifest."),
    "arrival": N_("Arrival confirmed. Thank you."),
}


def said(request: Request, message: str) -> str:
    """A catalog message in the reader's language. Services' own messages are shown as they come, escaped."""
    return choose_language(request).gettext(message)


def movement_url(movement_id: str) -> str:
    return f"{PREFIX}/movements/{movement_id}"


@router.get("/movements")
async def movement_list(request: Request, context: Context, principal: Coordinator) -> Response:
    return page(request, "web/movement_list.html", principal, movements=await office_movements(context,
                                                                                                principal.org_id))


async def _movement(request: Request, context: Context, principal: Principal, movement_id: str, *,
                    status_code: int = 200, boarding_error: str | None = None, arrival_error: str | None = None,
                    boarded: set[str] | None = None) -> Response:
    shown = await movement_page(context, principal, movement_id)
    flight, done = shown.view.flight, request.query_params.get("done", "")
    return page(request, "web/movement_page.html", principal, status_code=status_code, movement=shown,
                view=shown.view, words=WORDS, fields=PASSENGER_FIELDS,
                flight_name=flight.flight_number if flight else movement_id,
                services=special_services(shown.families) if shown.families else shown.view.special_services,
                boarding_error=boarding_error, arrival_error=arrival_error,
                boarded=boarded, done=said(request, DONE[done]) if done in DONE else None,
                live_url=f"{movement_url(movement_id)}/live")


@router.get("/movements/{movement_id}")
async def movement(request: Request, context: Context, principal: Watcher, movement_id: MovementId) -> Response:
    return await _movement(request, context, principal, movement_id)


@router.get("/movements/{movement_id}/live")
async def movement_live(request: Request, context: Context, principal: Watcher, movement_id: MovementId) -> Response:
    """The phase, seats and deliveries, for live.js: unchanged HTML answers 304."""
    view = await service.read(context, principal, movement_id)
    return fragment(request, "web/movement_live.html", principal, view=view, words=WORDS)


@router.post("/movements/{movement_id}/boarding")
async def record_boarding(request: Request, context: Context, principal: Coordinator, _csrf: CsrfChecked,
                          movement_id: MovementId,
                          boarded: Annotated[list[str], Form(max_length=1000)] = []) -> Response:  # noqa: B006
    chosen = [pid for pid in dict.fromkeys(boarded) if PERSON_ID.fullmatch(pid)]
    if not chosen:
        return await _movement(request, context, principal, movement_id, status_code=422, boarded=set(),
                               boarding_error=said(request, NOBODY_TICKED))
    try:
        await service.record_boarding(context, principal, movement_id, chosen)
    except ProblemError as refused:
        if refused.status not in (409, 422):
            raise
        message = field_messages(refused.errors).get("boarded_person_ids") or refused.detail
        return await _movement(request, context, principal, movement_id, status_code=refused.status,
                               boarded=set(chosen), boarding_error=message)
    return RedirectResponse(f"{movement_url(movement_id)}?done=boarding", status_code=303)


@router.post("/movements/{movement_id}/arrival")
async def confirm_arrival(request: Request, context: Context, principal: Watcher, _csrf: CsrfChecked,
                          movement_id: MovementId) -> Response:
    if principal.role is not Role.RECEPTION_TEAM:
        raise ProblemError(404, "no such movement for your organisation")
    try:
        await service.confirm_arrival(context, principal, movement_id)
    except ProblemError as refused:
        if refused.status != 409:
            raise
        return await _movement(request, context, principal, movement_id, status_code=409,
                               arrival_error=refused.detail)
    return RedirectResponse(f"{movement_url(movement_id)}?done=arrival", status_code=303)


Version = Annotated[int | None, Query(ge=1, le=100_000)]


@router.get("/movements/{movement_id}/manifests/{organisation_id}/manifest.pdf")
async def manifest_pdf(context: Context, principal: Watcher, movement_id: MovementId,
                       organisation_id: OrganisationId, version: Version = None) -> Response:
    """The same audited download as the JSON API's, under /ui where the session cookie reaches."""
    return sent(await manifests.manifest_pdf(context, principal, movement_id, organisation_id, version))


@router.get("/movements/{movement_id}/manifests/{organisation_id}/manifest.csv")
async def manifest_csv(context: Context, principal: Watcher, movement_id: MovementId,
                       organisation_id: OrganisationId, version: Version = None) -> Response:
    return sent(await manifests.manifest_csv(context, principal, movement_id, organisation_id, version))
