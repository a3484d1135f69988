"""Pages from the Jinja templates in templates/web/, in the reader's language, from the documents' catalogs.

`page()` gives every template what the layout needs (who is signed in, the CSRF token, the language and its
direction, the navigation for the role); `fragment()` renders a part of a page for a live refresh."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.principal import Principal, Role
from api.web.csrf import csrf_token, keep_seed
from api.web.live import live_response
from api.web.session import PREFIX, secure
from documents.html import TEMPLATES
from documents.i18n import Language, translations
from documents.labels import value_message
from domain.departure import Phase
from domain.documents import SUPPORTED_LANGUAGES

LANGUAGE_COOKIE = "predeparture_lang"
DEFAULT_LANGUAGE = "en"
# Each language named in itself, for the switcher: someone who cannot read the page must still find their own.
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "ar": "العربية", "prs": "دری"}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",  # pages show personal data: never kept by a shared cache or the back button
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def N_(message: str) -> str:
    return message


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str  # a catalog message id


NAV: dict[Role, tuple[NavItem, ...]] = {
    Role.COORDINATOR: (
        NavItem(f"{PREFIX}/board", N_("Board")),
        NavItem(f"{PREFIX}/movements", N_("Movements")),
        NavItem(f"{PREFIX}/charters/new", N_("Charter planning")),
        NavItem(f"{PREFIX}/charts", N_("Charts")),
    ),
    Role.MEDICAL_PARTNER: (NavItem(f"{PREFIX}/worklist", N_("Worklist")),),
    Role.RECEPTION_TEAM: (NavItem(f"{PREFIX}/arrivals", N_("Arrivals")),),
}


def choose_language(request: Request) -> Language:
    """`?lang=`, else the one chosen before (cookie), else the browser's Accept-Language, else English."""
    asked = request.query_params.get("lang")
    if asked in SUPPORTED_LANGUAGES:
        return Language(asked)
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in SUPPORTED_LANGUAGES:
        return Language(remembered)
    for code in accepted_languages(request.headers.get("accept-language", "")):
        if code in SUPPORTED_LANGUAGES:
            return Language(code)
    return Language(DEFAULT_LANGUAGE)


def accepted_languages(header: str) -> list[str]:
    """Primary language subtags, most preferred first (RFC 9110 §12.5.4)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.split("-")[0].lower()))
    return [code for _, _, code in sorted(weighted)]


# The departure's phases, which documents never print.
PHASES = {
    Phase.PREPARING: N_("preparing"),
    Phase.BOOKING: N_("booking"),
    Phase.AWAITING_FLIGHT: N_("awaiting flight"),
    Phase.DEFERRED: N_("deferred"),
    Phase.DEPARTED: N_("departed"),
    Phase.CANCELLED: N_("cancelled"),
    Phase.REFUSED: N_("refused"),
}


def label(language: Language, value: Any) -> str:
    """A domain value (step, state, phase, need...) in the reader's words; anything else as it is."""
    if isinstance(value, Phase):
        return language.gettext(PHASES[value])
    if isinstance(value, StrEnum):
        try:
            return language.gettext(value_message(value))
        except KeyError:
            return str(value.value)
    return "" if value is None else str(value)


@cache
def environment(code: str) -> Environment:
    language = Language(code)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(code), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        label=lambda value: label(language, value),
        date=lambda day: language.date(day) if isinstance(day, date) else "—",
        datetime=lambda moment: language.datetime(moment) if isinstance(moment, datetime) else "—",
        country=language.country,
    )
    return env


def with_query(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None drops one)."""
    params = dict(request.query_params)
    for name, value in changes.items():
        if value is None or value == "":
            params.pop(name, None)
        else:
            params[name] = str(value)
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def _values(request: Request, principal: Principal | None, values: Mapping[str, Any]) -> dict[str, Any]:
    language = choose_language(request)
    path = request.url.path
    items = NAV.get(principal.role, ()) if principal else ()
    nav = [(item, path == item.href or path.startswith(item.href + "/")) for item in items]
    return {
        "request": request,
        "principal": principal,
        "csrf_token": csrf_token(request),
        "lang": language,
        "dir": language.direction,
        "gettext": language.gettext,
        "nav": nav,
        "languages": [(code, LANGUAGE_NAMES[code], with_query(request, lang=code)) for code in SUPPORTED_LANGUAGES],
        "with_query": lambda **changes: with_query(request, **changes),
        "prefix": PREFIX,
        **values,
    }


def render(request: Request, template: str, principal: Principal | None, **values: Any) -> str:
    context = _values(request, principal, values)
    return environment(context["lang"].code).get_template(template).render(context)


def _finish(request: Request, response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    keep_seed(request, response)
    asked = request.query_params.get("lang")
    if asked in SUPPORTED_LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != asked:
        response.set_cookie(LANGUAGE_COOKIE, asked, max_age=365 * 24 * 3600, path=PREFIX, samesite="lax",
                            httponly=True, secure=secure(request))
    return response


def page(request: Request, template: str, principal: Principal | None, status_code: int = 200,
         **values: Any) -> HTMLResponse:
    body = render(request, template, principal, **values)
    response = HTMLResponse(body, status_code=status_code)
    _finish(request, response)
    return response


def fragment(request: Request, template: str, principal: Principal | None, status_code: int = 200,
             **values: Any) -> Response:
    """A part of a page, for live.js: 304 while the browser already holds the same HTML."""
    body = render(request, template, principal, **values)
    response = live_response(request, body, status_code)
    keep_seed(request, response)
    if response.status_code != 304:
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response
