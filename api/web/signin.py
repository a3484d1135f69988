"""Signing in and out of the pages, and the front door that sends each audience to its own home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.auth.dependencies import Auth
from api.auth.service import AuthenticationFailed
from api.auth.tokens import InvalidToken
from api.limits import login_rate_limited
from api.web.csrf import CsrfChecked
from api.web.render import N_, page
from api.web.session import (
    PREFIX,
    MaybePrincipal,
    WebPrincipal,
    WrongRole,
    clear_session,
    home_of,
    safe_next,
    session_token,
    set_session,
)

router = APIRouter()

WRONG_CREDENTIALS = N_("The username or password is not right, or the account is no longer active.")
REQUIRED = N_("This field is required.")
SIGNED_OUT = N_("You have signed out.")


def _destination(next_url: str, home: str | None) -> str:
    if next_url and safe_next(next_url) and not next_url.startswith(f"{PREFIX}/sign-"):
        return next_url
    return home or f"{PREFIX}/"


@router.get("/", include_in_schema=False)
async def home(principal: WebPrincipal) -> Response:
    destination = home_of(principal)
    if destination is None:
        raise WrongRole()
    return RedirectResponse(destination, status_code=303)


@router.get("/sign-in", include_in_schema=False)
async def sign_in_form(request: Request, principal: MaybePrincipal, next: str = "",
                       signed_out: bool = False) -> Response:
    if principal is not None and home_of(principal):
        return RedirectResponse(_destination(next, home_of(principal)), status_code=303)
    return page(request, "web/signin.html", None, next=next if safe_next(next) else "", username="", errors={},
                notice=SIGNED_OUT if signed_out else None)


@router.post("/sign-in", include_in_schema=False, dependencies=[login_rate_limited()])
async def sign_in(
    request: Request,
    auth: Auth,
    _csrf: CsrfChecked,
    username: Annotated[str, Form(max_length=150)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    next = next if safe_next(next) else ""
    errors = {name: REQUIRED for name, value in (("username", username.strip()), ("password", password)) if not value}
    if not errors:
        try:
            issued = await auth.password_grant(username, password, None)
        except AuthenticationFailed:
            errors = {"password": WRONG_CREDENTIALS}
        else:
            principal = auth.verify(issued.access_token).principal
            response = RedirectResponse(_destination(next, home_of(principal)), status_code=303)
            set_session(response, request, issued.access_token, issued.expires_in)
            return response
    # The password is never sent back into the form; the username is, so only the password is typed again.
    return page(request, "web/signin.html", None, status_code=401 if "password" in errors and username else 422,
                next=next, username=username, errors=errors, notice=None)


@router.post("/sign-out", include_in_schema=False)
async def sign_out(request: Request, auth: Auth, _csrf: CsrfChecked) -> Response:
    token = session_token(request)
    if token:
        try:
            await auth.revoke(auth.verify(token))
        except InvalidToken:
            pass  # expired or foreign: nothing left that could be used
    response = RedirectResponse(f"{PREFIX}/sign-in?signed_out=1", status_code=303)
    clear_session(response, request)
    return response
