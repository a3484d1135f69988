"""Errors under /ui are pages, never problem JSON: a person reads them. Form errors are not handled here: a form
route catches the service's ProblemError and renders the form again with `field_messages()` next to the fields."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problems import FieldError, ProblemError
from api.web.csrf import CsrfRefused
from api.web.render import N_, page
from api.web.session import PREFIX, SignInRequired, WrongRole, sign_in_url

logger = logging.getLogger("predeparture.web")

# What each status means to someone at a browser; catalog message ids.
HEADINGS = {
    400: N_("This request could not be read"),
    403: N_("This page is not for your account"),
    404: N_("Page not found"),
    405: N_("This page cannot be used that way"),
    409: N_("This cannot be done now"),
    413: N_("What was sent is too large"),
    422: N_("Some of what was sent is not valid"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
    503: N_("A service did not answer"),
}
EXPLANATIONS = {
    403: N_("You are signed in with an account that cannot open this page."),
    404: N_("There is nothing here for your organisation."),
    429: N_("Wait a moment, then try again."),
    500: N_("The error has been logged. Try again later."),
    503: N_("Try again in a moment; the change may already have been made."),
}
CSRF_EXPIRED = N_("The form had expired. Go back, reload the page and send it again.")


def is_web(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_page(request: Request, status: int, detail: str | None = None,
               headers: dict[str, str] | None = None) -> Response:
    principal = getattr(request.state, "principal", None)
    response = page(request, "web/error.html", principal, status_code=status,
                    heading=HEADINGS.get(status, HEADINGS[500] if status >= 500 else HEADINGS[400]),
                    explanation=EXPLANATIONS.get(status), detail=detail)
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            response.headers[name] = value
    return response


def field_messages(errors: Iterable[FieldError], fields: dict[str, str] | None = None) -> dict[str, str]:
    """A problem's field errors keyed by the form field they belong to: `body.not_before` -> `not_before`, or
    renamed through `fields` when the form calls it otherwise."""
    found: dict[str, str] = {}
    for error in errors:
        name = error.field.split(".", 1)[1] if error.field.startswith(("body.", "query.")) else error.field
        name = (fields or {}).get(name, name)
        found.setdefault(name, error.message)
    return found


Handler = Callable[[Request, Any], Awaitable[Response]]


def install_error_pages(app: FastAPI) -> None:
    """Wraps the problem handlers: under /ui the same errors become pages; elsewhere nothing changes."""

    def web_first(kind: type[Exception], web: Callable[[Request, Any], Response]) -> None:
        api: Handler | None = app.exception_handlers.get(kind)  # type: ignore[assignment]

        async def handle(request: Request, exc: Any) -> Response:
            if is_web(request) or api is None:
                return web(request, exc)
            return await api(request, exc)

        app.add_exception_handler(kind, handle)

    def problem(request: Request, exc: ProblemError) -> Response:
        if exc.status == 401:
            return RedirectResponse(sign_in_url(), status_code=303)
        return error_page(request, exc.status, exc.detail if exc.status < 500 else None, exc.headers)

    def http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(request, exc.status_code, None, getattr(exc, "headers", None))

    def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_page(request, 422 if request.method != "GET" else 404)

    def unexpected(request: Request, exc: Exception) -> Response:
        logger.error("unhandled error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return error_page(request, 500)

    web_first(ProblemError, problem)
    web_first(StarletteHTTPException, http)
    web_first(RequestValidationError, invalid)
    web_first(Exception, unexpected)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(sign_in_url(exc.next_url), status_code=303)

    @app.exception_handler(WrongRole)
    async def _wrong_role(request: Request, exc: WrongRole) -> Response:
        return error_page(request, 403)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        principal = getattr(request.state, "principal", None)
        return page(request, "web/error.html", principal, status_code=403, heading=HEADINGS[403],
                    explanation=CSRF_EXPIRED, detail=None)
