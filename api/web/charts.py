"""Coordinators' charts: how long each step waits on each partner (where departures wait), and departures per week,
for the office, over the last N weeks. Server-rendered SVG with a title and a description, and the same figures
as tables beside it; the data comes from the audit trail (store.statistics)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.deps import Context
from api.principal import Principal, Role
from api.web.charts_svg import horizontal, vertical
from api.web.movement_words import WORDS
from api.web.render import N_, choose_language, page
from api.web.session import web_role
from documents.i18n import Language
from store.statistics import StepWait, departures_per_week, step_waits, week_of

router = APIRouter()

Coordinator = Annotated[Principal, Depends(web_role(Role.COORDINATOR))]
WEEKS_DEFAULT, WEEKS_MAX = 12, 104

DAYS = N_("%(days)s days")
DAYS_WAITING = N_("%(days)s days, %(count)s waiting")
WEEKS_RANGE = N_("Enter a whole number of weeks from 1 to %(most)s.")


def period(now: datetime, weeks: int) -> tuple[datetime, datetime]:
    """From the Monday `weeks - 1` weeks before this one, to now."""
    first = week_of(now.date()) - timedelta(weeks=weeks - 1)
    return datetime.combine(first, time.min, tzinfo=UTC), now


def days(language: Language, value: float | None) -> str:
    if value is None:
        return "—"
    return format_decimal(round(value, 1) if value < 10 else round(value), format="#,##0.#", locale=language.locale)


def partner_of(language: Language, wait: StepWait) -> str:
    return wait.partner_id or language.gettext(WORDS[wait.partner])


def wait_rows(language: Language, waits: list[StepWait]) -> list[tuple[str, list[tuple[float, str, str]]]]:
    rows = []
    for wait in waits:
        label = f"{language.gettext(WORDS[wait.step])} · {partner_of(language, wait)}"
        bars = []
        if wait.median_days is not None:
            bars.append((wait.median_days, language.gettext(DAYS, days=days(language, wait.median_days)), "median"))
        if wait.longest_open_days is not None:
            bars.append((wait.longest_open_days, language.gettext(
                DAYS_WAITING, days=days(language, wait.longest_open_days), count=wait.waiting_now), "open"))
        rows.append((label, bars))
    return rows


@router.get("/charts")
async def charts(request: Request, context: Context, principal: Coordinator,
                 weeks: Annotated[str, Query(max_length=16)] = "") -> Response:
    """A number of weeks that cannot be read is said next to its field, and the default period shown."""
    language = choose_language(request)
    shown, error = WEEKS_DEFAULT, None
    if weeks.strip():
        try:
            shown = int(weeks)
        except ValueError:
            shown = 0
        if not 1 <= shown <= WEEKS_MAX:
            shown, error = WEEKS_DEFAULT, language.gettext(WEEKS_RANGE, most=WEEKS_MAX)
    weeks_asked = weeks if error else str(shown)
    since, until = period(datetime.now(UTC), shown)
    waits = await step_waits(context.store, principal.org_id, since, until)
    departed = await departures_per_week(context.store, principal.org_id, since, until)
    columns = [(format_date(w.week_of, "d MMM", locale=language.locale), float(w.families), str(w.families))
               for w in departed]
    return page(request, "web/charts.html", principal, status_code=422 if error else 200, weeks=weeks_asked,
                weeks_error=error, weeks_max=WEEKS_MAX, since=since.date(), until=until.date(),
                waits=waits, departed=departed, wait_chart=horizontal(wait_rows(language, waits)),
                week_chart=vertical(columns), words=WORDS, partner=lambda w: partner_of(language, w),
                days=lambda value: days(language, value))
