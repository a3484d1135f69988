"""The three result forms a clinic fills in (assessment, B1 screening, fitness to travel): which fields each has,
how a posted form becomes the same submission the JSON route takes, and which message goes next to which field.

A form that cannot be read is answered field by field before anything is sent; a result the departure refuses
(an exam date in the future by the departure's clock, a check outside the 72 hours) comes back as the service's
422 naming the body field, shown next to that field. Either way nothing is saved and the values typed are kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from api.medical import service
from api.medical.schemas import AssessmentSubmission, FitnessSubmission, MedicalStep, ScreeningSubmission
from api.problems import FieldError
from api.web.render import N_
from domain.case import FunctionalNeed
from domain.medical import AssessmentResult, FitnessResult, ScreeningResult, TbClass

FINDINGS_MAX = 2000

REQUIRED = N_("This field is required.")
NOT_A_DATE = N_("Enter a date as year-month-day.")
NOT_A_MOMENT = N_("Enter a date and a time.")
NOT_A_TB_CLASS = N_("Choose one of the listed TB classes.")
NOT_YES_OR_NO = N_("Choose yes or no.")
NOT_A_NEED = N_("Choose only needs from the list.")
TOO_LONG = N_("At most 2000 characters.")
NO_NUL = N_("This text holds a character that cannot be stored.")
IN_THE_FUTURE = N_("This date is in the future.")
BEFORE_BIRTH = N_("This date is before the person's date of birth.")
EXPIRED = N_("An exam this old has already expired.")
OUTSIDE_WINDOW = N_("This falls outside the window the result must be taken in.")
NEEDS_TIMEZONE = N_("The time needs a time zone.")

# The departure's rules, as the validators word them (domain/validation.py), and what the page says instead.
RULES = (
    (re.compile(r"is in the future"), IN_THE_FUTURE),
    (re.compile(r"before the person's date of birth"), BEFORE_BIRTH),
    (re.compile(r"has already expired"), EXPIRED),
    (re.compile(r"must fall within"), OUTSIDE_WINDOW),
    (re.compile(r"needs a time zone"), NEEDS_TIMEZONE),
)


@dataclass(frozen=True)
class ResultForm:
    """One kind of result: its URL segment, title, the service's submission, and the fields the page shows."""

    slug: str
    step: MedicalStep
    title: str
    kind: service.Submission
    schema: type[BaseModel]  # what the JSON route reads
    result: type[BaseModel]  # what the departure takes, signed by the caller's clinic


FORMS = {
    form.slug: form for form in (
        ResultForm("assessment", MedicalStep.HEALTH_ASSESSMENT, N_("Health assessment result"), service.ASSESSMENT,
                   AssessmentSubmission, AssessmentResult),
        ResultForm("screening", MedicalStep.PRE_DEPARTURE_SCREENING, N_("Pre-departure screening result"),
                   service.SCREENING, ScreeningSubmission, ScreeningResult),
        ResultForm("fitness", MedicalStep.FITNESS_TO_TRAVEL, N_("Fitness-to-travel result"), service.FITNESS,
                   FitnessSubmission, FitnessResult),
    )
}
SLUGS = {form.step: form.slug for form in FORMS.values()}
TB_CLASSES = list(TbClass)
NEEDS = list(FunctionalNeed)
NEED_VALUES = frozenset(need.value for need in FunctionalNeed)
TB_VALUES = frozenset(tb.value for tb in TbClass)


def blank(form: ResultForm, now: datetime) -> dict[str, Any]:
    """What a new form shows: today's date (the usual case), nothing decided for the clinician."""
    values: dict[str, Any] = {"findings": "", "functional_needs": []}
    if form.slug == "assessment":
        values.update(exam_date=now.date().isoformat(), tb_class="")
    elif form.slug == "screening":
        values.update(screened_on=now.date().isoformat(), cleared="")
    else:
        values.update(checked_at=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"), fit="")
    return values


def posted(form: ResultForm, data: Any) -> dict[str, Any]:
    """The values as typed, to show again whatever happens."""
    values = blank(form, datetime.now(UTC))
    for name in values:
        if name == "functional_needs":
            values[name] = [str(v) for v in data.getlist(name)]
        else:
            values[name] = str(data.get(name, "") or "")
    return values


def _date(text: str, errors: dict[str, str], name: str) -> date | None:
    if not text.strip():
        errors[name] = REQUIRED
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[name] = NOT_A_DATE
        return None


def _moment(text: str, errors: dict[str, str], name: str) -> datetime | None:
    """The page asks for the time in UTC (the label says so), so a time typed without a zone is UTC."""
    if not text.strip():
        errors[name] = REQUIRED
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        errors[name] = NOT_A_MOMENT
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _yes_no(text: str, errors: dict[str, str], name: str) -> bool | None:
    if text in ("yes", "no"):
        return text == "yes"
    errors[name] = NOT_YES_OR_NO if text else REQUIRED
    return None


def read(form: ResultForm, person_id: str, values: dict[str, Any]) -> tuple[BaseModel | None, dict[str, str]]:
    """The submission, or the message for each field that cannot be read (message ids of the catalog)."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"person_id": person_id, "findings": values["findings"]}
    if len(values["findings"]) > FINDINGS_MAX:
        errors["findings"] = TOO_LONG
    elif "\x00" in values["findings"]:
        errors["findings"] = NO_NUL
    needs = values["functional_needs"]
    if form.slug != "screening":
        if any(need not in NEED_VALUES for need in needs):
            errors["functional_needs"] = NOT_A_NEED
        body["functional_needs"] = [n for n in needs if n in NEED_VALUES]
    if form.slug == "assessment":
        body["exam_date"] = _date(values["exam_date"], errors, "exam_date")
        if values["tb_class"] not in TB_VALUES:
            errors["tb_class"] = NOT_A_TB_CLASS if values["tb_class"] else REQUIRED
        body["tb_class"] = values["tb_class"]
    elif form.slug == "screening":
        body["screened_on"] = _date(values["screened_on"], errors, "screened_on")
        body["cleared"] = _yes_no(values["cleared"], errors, "cleared")
    else:
        body["checked_at"] = _moment(values["checked_at"], errors, "checked_at")
        body["fit"] = _yes_no(values["fit"], errors, "fit")
    if errors:
        return None, errors
    try:
        return form.schema.model_validate(body), {}
    except ValidationError as invalid:  # a rule of the model the checks above did not foresee
        for error in invalid.errors():
            errors.setdefault(str(error["loc"][0]) if error["loc"] else "form", _message_for(error["type"]))
        return None, errors


def _message_for(error_type: str) -> str:
    if "too_long" in error_type:
        return TOO_LONG
    if "date" in error_type:
        return NOT_A_DATE
    return REQUIRED


def refused(errors: list[FieldError], form: ResultForm) -> tuple[dict[str, str], str | None]:
    """The departure's refusal: a message next to the field it names, or for the whole form (the step is no longer
    open for this person). Each message is the page's own wording where it knows the rule, else the service's."""
    fields: dict[str, str] = {}
    general: str | None = None
    shown = set(blank(form, datetime.now(UTC)))
    for error in errors:
        name = error.field.split(".", 1)[1] if error.field.startswith("body.") else error.field
        message = next((ours for rule, ours in RULES if rule.search(error.message)), error.message)
        if name in shown:
            fields.setdefault(name, message)
        else:
            general = general or message
    return fields, general
