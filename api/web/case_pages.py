"""A case's page for its coordinator: the family, the whole timeline of its departure (refreshed live), and the
actions on the departure (start, defer, change the date, cancel) as forms that call api/departures/service.py,
the same service as the JSON routes. A refused change re-renders the page with the reason next to the field and the
values as typed; nothing is sent to the departure until the form is valid."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from api.cases import service as cases
from api.cases.schemas import OPAQUE_ID, printable
from api.departures import service as departures
from api.deps import Context
from api.limits import Bucket, rate_limits
from api.principal import Principal, Role
from api.problems import ProblemError
from api.web.case_history import case_history
from api.web.csrf import CsrfChecked
from api.web.errors import field_messages
from api.web.live import etag_of
from api.web.render import N_, fragment, page, render
from api.web.session import PREFIX, web_role
from domain.departure import TERMINAL_PHASES
from domain.validation import LATEST_DEFERRAL

router = APIRouter()

Coordinator = Annotated[Principal, Depends(web_role(Role.COORDINATOR))]
CaseId = Annotated[str, Path(pattern=OPAQUE_ID)]
REASON_MAX = 500

REQUIRED = N_("This field is required.")
NOT_A_DATE = N_("Enter a date as year-month-day.")
IN_THE_PAST = N_("The date must be today or later.")
TOO_FAR = N_("At most five years ahead; cancel the departure instead.")
REASON_TOO_LONG = N_("At most 500 characters.")
UNPRINTABLE = N_("This text holds a character that cannot be stored.")
DONE = {
    "started": N_("The departure has started."),
    "deferred": N_("The departure is deferred."),
    "date_changed": N_("The departure date is changed; the departure is replanned for it."),
    "cancelled": N_("The departure is cancelled; its bookings, seats and appointments are given back."),
}


@dataclass
class ActionForm:
    """What was typed into one action's form, and what is wrong with it."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # about the departure rather than a field (it has ended, did not answer...)


async def departures_rate_limited(request: Request, principal: Coordinator) -> None:
    """The JSON routes' departure budget, counted for the same person however they call."""
    await rate_limits(request.app).check(Bucket.DEPARTURES, f"{principal.org_id}/{principal.subject}")


async def timeline_values(context: Any, principal: Principal, case_id: str) -> dict[str, Any]:
    """What the live part of the page shows."""
    stored = await cases.own_case(context, principal, case_id)  # 404 for another office's case
    timeline = await cases.read_timeline(context, principal, case_id)
    names = {person.person_id: f"{person.given_name} {person.family_name}" for person in stored.case.people}
    history = await case_history(context, principal, case_id)
    # Started but not reported yet: the workflow writes its first phase a moment after the start is accepted.
    started = timeline.phase is not None or any(d.action == "departure.started" for d in history)
    return {"case": stored.case, "phase": timeline.phase, "timeline": timeline, "names": names,
            "history": history, "started": started}


async def case_view(request: Request, context: Any, principal: Principal, case_id: str) -> dict[str, Any]:
    values = await timeline_values(context, principal, case_id)
    timeline = values["timeline"]
    body = render(request, "web/case_timeline.html", principal, **values)
    return {**values, "timeline_html": Markup(body), "timeline_etag": etag_of(body),  # noqa: S704 - our own render
            "ended": timeline.phase in TERMINAL_PHASES}


async def case_page(request: Request, context: Any, principal: Principal, case_id: str, *, status_code: int = 200,
                    forms: dict[str, ActionForm] | None = None) -> Response:
    view = await case_view(request, context, principal, case_id)
    done = DONE.get(request.query_params.get("done", ""))
    return page(request, "web/case.html", principal, status_code=status_code, forms=forms or {}, done=done, **view)


@router.get("/cases/{case_id}")
async def show_case(request: Request, context: Context, principal: Coordinator, case_id: CaseId) -> Response:
    return await case_page(request, context, principal, case_id)


@router.get("/cases/{case_id}/timeline")
async def case_timeline(request: Request, context: Context, principal: Coordinator, case_id: CaseId) -> Response:
    """The live part of the case page."""
    return fragment(request, "web/case_timeline.html", principal,
                    **await timeline_values(context, principal, case_id))


def _done(case_id: str, what: str) -> Response:
    return RedirectResponse(f"{PREFIX}/cases/{case_id}?done={what}", status_code=303)


def check_reason(form: ActionForm, reason: str) -> str:
    text = reason.strip()
    if not text:
        form.errors["reason"] = REQUIRED
    elif len(text) > REASON_MAX:
        form.errors["reason"] = REASON_TOO_LONG
    else:
        try:
            printable(text)
        except ValueError:
            form.errors["reason"] = UNPRINTABLE
    return text


def check_day(form: ActionForm, name: str, typed: str) -> date | None:
    """A day from today (by the calendar the service checks with) up to the latest deferral allowed."""
    if not typed.strip():
        form.errors[name] = REQUIRED
        return None
    try:
        day = date.fromisoformat(typed.strip())
    except ValueError:
        form.errors[name] = NOT_A_DATE
        return None
    today = datetime.now(UTC).date()
    if day < today:
        form.errors[name] = IN_THE_PAST
    elif day > today + LATEST_DEFERRAL:
        form.errors[name] = TOO_FAR
    return day


async def _refused(request: Request, context: Any, principal: Principal, case_id: str, action: str,
                   form: ActionForm, problem: ProblemError | None = None,
                   fields: dict[str, str] | None = None) -> Response:
    if problem is not None:
        if problem.status == 404:
            raise problem
        form.errors.update(field_messages(problem.errors, fields))
        if not problem.errors:
            form.message = problem.detail
    status = 422 if form.errors else (problem.status if problem else 422)
    return await case_page(request, context, principal, case_id, status_code=status, forms={action: form})


@router.post("/cases/{case_id}/departure", dependencies=[Depends(departures_rate_limited)])
async def start_departure(request: Request, context: Context, principal: Coordinator, case_id: CaseId,
                          _csrf: CsrfChecked) -> Response:
    try:
        await departures.start(context, principal, case_id)
    except ProblemError as problem:
        return await _refused(request, context, principal, case_id, "start", ActionForm(), problem)
    return _done(case_id, "started")


@router.post("/cases/{case_id}/defer", dependencies=[Depends(departures_rate_limited)])
async def defer_departure(request: Request, context: Context, principal: Coordinator, case_id: CaseId,
                          _csrf: CsrfChecked, not_before: Annotated[str, Form(max_length=40)] = "",
                          reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    form = ActionForm(values={"not_before": not_before, "reason": reason})
    day, text = check_day(form, "not_before", not_before), check_reason(form, reason)
    if form.errors or day is None:
        return await _refused(request, context, principal, case_id, "defer", form)
    try:
        await departures.defer(context, principal, case_id, day, text)
    except ProblemError as problem:
        return await _refused(request, context, principal, case_id, "defer", form, problem)
    return _done(case_id, "deferred")


@router.post("/cases/{case_id}/date", dependencies=[Depends(departures_rate_limited)])
async def change_date(request: Request, context: Context, principal: Coordinator, case_id: CaseId,
                      _csrf: CsrfChecked, date_: Annotated[str, Form(alias="date", max_length=40)] = "",
                      reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    form = ActionForm(values={"date": date_, "reason": reason})
    day, text = check_day(form, "date", date_), check_reason(form, reason)
    if form.errors or day is None:
        return await _refused(request, context, principal, case_id, "date", form)
    try:
        await departures.defer(context, principal, case_id, day, text, action="departure.date_changed",
                               body_fields={"not_before": "date"})
    except ProblemError as problem:
        return await _refused(request, context, principal, case_id, "date", form, problem)
    return _done(case_id, "date_changed")


@router.post("/cases/{case_id}/cancel", dependencies=[Depends(departures_rate_limited)])
async def cancel_departure(request: Request, context: Context, principal: Coordinator, case_id: CaseId,
                           _csrf: CsrfChecked, reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    form = ActionForm(values={"reason": reason})
    text = check_reason(form, reason)
    if form.errors:
        return await _refused(request, context, principal, case_id, "cancel", form)
    try:
        await departures.cancel(context, principal, case_id, text)
    except ProblemError as problem:
        return await _refused(request, context, principal, case_id, "cancel", form, problem)
    return _done(case_id, "cancelled")
