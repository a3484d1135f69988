"""Charter planning pages: a coordinator charters a flight (inline errors next to the field at fault, what was
typed kept), sees the proposal (the families proposed in order, and every ready family left out with its reason),
edits it with checkboxes and accepts it; the allocation's result is shown per family. Every rule is the one
api.movements.charters applies to the JSON routes: the page calls it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.cases.schemas import OPAQUE_ID
from api.deps import Context
from api.documents.schemas import MOVEMENT_ID
from api.movements import charters, service
from api.movements.charter_schemas import AllocationView, CharterBody, ProposalView
from api.principal import Principal, Role
from api.problems import ProblemError
from api.web.csrf import CsrfChecked
from api.web.errors import field_messages
from api.web.movement_data import family_sizes
from api.web.movement_words import WORDS
from api.web.render import N_, choose_language, page
from api.web.session import PREFIX, web_role
from domain.documents import movement_id

router = APIRouter()

MovementId = Annotated[str, Path(pattern=MOVEMENT_ID)]
Coordinator = Annotated[Principal, Depends(web_role(Role.COORDINATOR))]
CASE_ID = re.compile(OPAQUE_ID)
FORM_FIELDS = ("flight_number", "origin", "destination_country", "destination_city", "departs_at", "arrives_at",
               "seats")

REQUIRED = N_("This field is required.")
NOT_A_MOMENT = N_("Enter a date and a time.")
NOT_A_NUMBER = N_("Enter a whole number.")
NO_SEATS = N_("A charter has at least one seat.")
IN_THE_PAST = N_("This date is in the past.")
ARRIVES_FIRST = N_("The arrival must come after the departure.")
TAKEN = N_("That flight already has a movement on that day.")
NOTHING_CHOSEN = N_("Choose at least one family.")
FEWER_THAN_TAKEN = N_("%(taken)s seats are taken on this flight already; it cannot have fewer.")


def _moment(value: str) -> datetime:
    """A datetime-local field's value, read as UTC (the form says so), or one with its own offset."""
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _today() -> date:
    return datetime.now(UTC).date()


def _checked(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form read into a charter's fields, and the message ids of the fields a person should fix first: the
    same rules the service applies, said in the reader's language."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    for name in FORM_FIELDS:
        if not values.get(name, "").strip():
            errors[name] = REQUIRED
    for name in ("departs_at", "arrives_at"):
        if name not in errors:
            try:
                body[name] = _moment(values[name])
            except ValueError:
                errors[name] = NOT_A_MOMENT
    if "seats" not in errors:
        try:
            body["seats"] = int(values["seats"])
        except ValueError:
            errors["seats"] = NOT_A_NUMBER
        else:
            if body["seats"] < 1:
                errors["seats"] = NO_SEATS
    if "departs_at" in body and body["departs_at"].astimezone(UTC).date() < _today():
        errors["departs_at"] = IN_THE_PAST
    if "departs_at" in body and "arrives_at" in body and body["arrives_at"] <= body["departs_at"]:
        errors.setdefault("arrives_at", ARRIVES_FIRST)
    for name in ("flight_number", "origin", "destination_country", "destination_city"):
        body[name] = values.get(name, "").strip()
    return body, errors


async def _seats_taken(context: Context, principal: Principal, body: CharterBody) -> int | None:
    """The seats already taken on the flight the form names, when the office may see that movement."""
    departs = body.departs_at.astimezone(UTC)
    try:
        view = await service.read(context, principal, movement_id(body.flight_number.upper(), departs.date()))
    except ProblemError:
        return None  # another office's flight: nothing about it is told
    return view.seats_taken


def _new_form(request: Request, principal: Principal, values: dict[str, str], errors: dict[str, str],
              status_code: int = 200, form_error: str | None = None) -> Response:
    language = choose_language(request)
    return page(request, "web/charter_new.html", principal, status_code=status_code, values=values,
                errors={name: language.gettext(message) for name, message in errors.items()},
                form_error=form_error)


@router.get("/charters/new")
async def new_charter(request: Request, principal: Coordinator) -> Response:
    return _new_form(request, principal, {}, {})


@router.post("/charters/new")
async def create_charter(request: Request, context: Context, principal: Coordinator, _csrf: CsrfChecked,
                         flight_number: Annotated[str, Form(max_length=64)] = "",
                         origin: Annotated[str, Form(max_length=200)] = "",
                         destination_country: Annotated[str, Form(max_length=64)] = "",
                         destination_city: Annotated[str, Form(max_length=200)] = "",
                         departs_at: Annotated[str, Form(max_length=64)] = "",
                         arrives_at: Annotated[str, Form(max_length=64)] = "",
                         seats: Annotated[str, Form(max_length=16)] = "") -> Response:
    values = {"flight_number": flight_number, "origin": origin, "destination_country": destination_country,
              "destination_city": destination_city, "departs_at": departs_at, "arrives_at": arrives_at,
              "seats": seats}
    fields, errors = _checked(values)
    if errors:
        return _new_form(request, principal, values, errors, 422)
    try:
        body = CharterBody(**fields)
    except ValidationError as invalid:
        # The rest of the contract (a flight number's letters, a country's two letters...), in its own words.
        found = {str(e["loc"][0]) if e["loc"] else "flight_number": str(e["msg"]).removeprefix("Value error, ")
                 for e in invalid.errors()}
        return page(request, "web/charter_new.html", principal, status_code=422, values=values, errors=found,
                    form_error=None)
    try:
        created = await charters.create(context, principal, body)
    except ProblemError as refused:
        if refused.status == 409:
            errors = {"flight_number": TAKEN}
            taken = await _seats_taken(context, principal, body)
            if taken is not None and body.seats < taken:
                errors["seats"] = choose_language(request).gettext(FEWER_THAN_TAKEN, taken=taken)
            return _new_form(request, principal, values, errors, 409)
        if refused.status != 422:
            raise
        return page(request, "web/charter_new.html", principal, status_code=422, values=values,
                    errors=field_messages(refused.errors), form_error=refused.detail)
    return RedirectResponse(f"{PREFIX}/charters/{created.movement_id}", status_code=303)


async def _charter_page(request: Request, context: Context, principal: Principal, movement_id: str, *,
                        status_code: int = 200, chosen: list[str] | None = None,
                        case_errors: dict[str, str] | None = None, form_error: str | None = None,
                        result: AllocationView | None = None) -> Response:
    view = await service.read(context, principal, movement_id)
    proposal: ProposalView | None = None
    planning_error = None
    try:
        proposal = await charters.proposal(context, principal, movement_id)
    except ProblemError as refused:
        if refused.status != 409:
            raise
        planning_error = refused.detail  # e.g. the flight has left: nothing more to plan
    listed = [*proposal.case_ids, *(o.case_id for o in proposal.left_out)] if proposal else []
    if result is not None:
        listed += [*result.accepted, *(n.case_id for n in result.refused)]
    families = await family_sizes(context, principal.org_id, listed)
    return page(request, "web/charter_page.html", principal, status_code=status_code, view=view,
                proposal=proposal, planning_error=planning_error, families=families, words=WORDS,
                chosen=set(chosen) if chosen is not None else None, case_errors=case_errors or {},
                form_error=form_error, result=result)


@router.get("/charters/{movement_id}")
async def charter(request: Request, context: Context, principal: Coordinator, movement_id: MovementId) -> Response:
    return await _charter_page(request, context, principal, movement_id)


@router.post("/charters/{movement_id}/allocation")
async def allocate(request: Request, context: Context, principal: Coordinator, _csrf: CsrfChecked,
                   movement_id: MovementId,
                   case_ids: Annotated[list[str], Form(max_length=1000)] = []) -> Response:  # noqa: B006
    chosen = [case_id for case_id in dict.fromkeys(case_ids) if CASE_ID.fullmatch(case_id)]
    if not chosen:
        return await _charter_page(request, context, principal, movement_id, status_code=422, chosen=[],
                                   form_error=choose_language(request).gettext(NOTHING_CHOSEN))
    try:
        result = await charters.allocate(context, principal, movement_id, chosen)
    except ProblemError as refused:
        if refused.status not in (409, 422):
            raise
        return await _charter_page(request, context, principal, movement_id, status_code=refused.status,
                                   chosen=chosen, case_errors=_by_case(refused, chosen), form_error=refused.detail)
    return await _charter_page(request, context, principal, movement_id, result=result)


def _by_case(refused: ProblemError, chosen: list[str]) -> dict[str, str]:
    """`body.case_ids.<j>` errors put next to the family they name."""
    found: dict[str, str] = {}
    for name, message in field_messages(refused.errors).items():
        index = name.removeprefix("case_ids.")
        if index.isdigit() and int(index) < len(chosen):
            found[chosen[int(index)]] = message
    return found
