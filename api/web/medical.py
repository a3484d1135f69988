"""The clinic's pages: its worklist (examinations due, soonest deadline first) and a form per result.

Only a medical partner opens these pages, and only for its own cases: the worklist and the forms go through the
same service as /medical/*, so another clinic's case answers "not found" here as there. These are the only pages
that show medical details (what is on file for the person), and reading them is audited like the JSON route."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from api.cases.schemas import OPAQUE_ID
from api.context import ApiContext
from api.medical import service
from api.medical.schemas import MedicalStep, WorklistItem, as_result
from api.principal import Principal, Role
from api.problems import ProblemError
from api.web.csrf import CsrfChecked
from api.web.medical_data import due_item
from api.web.medical_forms import FORMS, NEEDS, SLUGS, TB_CLASSES, ResultForm, blank, posted, read, refused
from api.web.render import N_, fragment, page
from api.web.session import PREFIX, web_role

router = APIRouter()

Clinic = Annotated[Principal, Depends(web_role(Role.MEDICAL_PARTNER))]
CaseId = Annotated[str, Path(pattern=OPAQUE_ID)]
PersonId = Annotated[str, Path(pattern=OPAQUE_ID)]
Slug = Annotated[str, Path(pattern="^(assessment|screening|fitness)$")]

WORKLIST_LIMIT = 500
RECORDED = N_("The result was recorded.")
NOT_A_STEP = N_("Choose one of the listed examinations.")
STEP_VALUES = frozenset(step.value for step in MedicalStep)
UNAVAILABLE = N_("The departure did not answer in time. Send the same result again: it is recorded only once.")


def context_of(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


def form_url(item: WorklistItem) -> str:
    return f"{PREFIX}/medical/cases/{item.case_id}/people/{item.person_id}/{SLUGS[item.step]}"


def chosen_step(step: str) -> tuple[MedicalStep | None, str | None]:
    """The examination filter as typed: none (every one), one of the clinic's steps, or an error for the field."""
    if not step:
        return None, None
    if step in STEP_VALUES:
        return MedicalStep(step), None
    return None, NOT_A_STEP


async def _worklist(request: Request, principal: Principal, step: MedicalStep | None) -> list[WorklistItem]:
    return await service.worklist(context_of(request), principal, step, WORKLIST_LIMIT)


@router.get("/worklist")
async def worklist(request: Request, principal: Clinic, recorded: bool = False, step: str = "") -> Response:
    chosen, error = chosen_step(step)
    items = await _worklist(request, principal, chosen)
    live = f"{PREFIX}/worklist/live" + (f"?step={chosen.value}" if chosen else "")
    return page(request, "web/medical_worklist.html", principal, status_code=422 if error else 200, items=items,
                form_url=form_url, notice=RECORDED if recorded else None, now=datetime.now(UTC),
                steps=list(MedicalStep), step=step, step_error=error, live=live)


@router.get("/worklist/live")
async def worklist_live(request: Request, principal: Clinic, step: str = "") -> Response:
    """The table alone, for live.js: a new appointment or a result filed elsewhere shows without a reload."""
    chosen, _ = chosen_step(step)
    items = await _worklist(request, principal, chosen)
    return fragment(request, "web/medical_worklist_table.html", principal, items=items, form_url=form_url,
                    now=datetime.now(UTC))


async def _due(request: Request, principal: Principal, case_id: str, person_id: str,
               form: ResultForm) -> WorklistItem:
    return await due_item(context_of(request), principal, case_id, person_id, form.step)


async def _show(request: Request, principal: Principal, form: ResultForm, item: WorklistItem,
                values: dict[str, object], errors: dict[str, str], general: str | None,
                status_code: int = 200) -> Response:
    # What the clinic already filed for this person (the assessment's TB class before a screening, say):
    # medical details, for this medical page only; the read is audited as GET /medical/.../people/... is.
    on_file = await service.medical_file(context_of(request), principal, item.case_id, item.person_id)
    return page(request, "web/medical_result.html", principal, status_code=status_code, form=form, item=item,
                values=values, errors=errors, general=general, on_file=on_file, tb_classes=TB_CLASSES,
                needs=NEEDS, action=form_url(item))


@router.get("/medical/cases/{case_id}/people/{person_id}/{slug}")
async def result_form(request: Request, principal: Clinic, case_id: CaseId, person_id: PersonId,
                      slug: Slug) -> Response:
    form = FORMS[slug]
    item = await _due(request, principal, case_id, person_id, form)
    return await _show(request, principal, form, item, blank(form, datetime.now(UTC)), {}, None)


@router.post("/medical/cases/{case_id}/people/{person_id}/{slug}")
async def submit_result(request: Request, principal: Clinic, _csrf: CsrfChecked, case_id: CaseId,
                        person_id: PersonId, slug: Slug) -> Response:
    form = FORMS[slug]
    values = posted(form, await request.form())
    submission, errors = read(form, person_id, values)
    if submission is None:
        item = await _due(request, principal, case_id, person_id, form)
        general = next((message for name, message in errors.items() if name not in values), None)
        return await _show(request, principal, form, item, values, errors, general, status_code=422)
    try:
        # Sent twice (a double click, a reload), the same result is answered as the first time by the service.
        await service.submit(context_of(request), principal, case_id, form.kind,
                             as_result(submission, form.result, principal.org_id))
    except ProblemError as problem:
        if problem.status not in (409, 422, 503):
            raise  # not the clinic's case (404): the error page, as for the JSON route
        # The form comes back with what was typed: a refusal beside its field, else said above the form.
        item = await _due(request, principal, case_id, person_id, form)
        if problem.status == 422:
            errors, general = refused(problem.errors, form)
        else:
            errors, general = {}, UNAVAILABLE if problem.status == 503 else problem.detail
        shown = await _show(request, principal, form, item, values, errors, general, status_code=problem.status)
        if "Retry-After" in (problem.headers or {}):
            shown.headers["Retry-After"] = (problem.headers or {})["Retry-After"]
        return shown
    return RedirectResponse(f"{PREFIX}/worklist?recorded=1", status_code=303)
