"""The codec server's own page: an operator signs in here once, and the browser then sends the cookie it sets with
every decode the Temporal UI asks for (its codec setting "Include cross-origin credentials" on).

The cookie holds the same access token `POST /auth/token` issues, asked for the `payloads:decode` scope only; it is
HttpOnly, SameSite=Strict over plain http (the UI on the same host, another port, is the same site) and
SameSite=None; Secure over https (a UI on another site). Signing out revokes the token everywhere."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth.service import AuthenticationFailed, InvalidScope
from api.auth.tokens import InvalidToken
from api.limits import Bucket, RateLimits
from api.principal import Principal, Scope
from api.problems import ProblemError
from predeparture.codec_server import COOKIE, codec_of

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>predeparture codec server</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>predeparture codec server</h1>{body}</main></body></html>"""
FORM = """<form method="post" action="/sign-in">
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" required></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p></form>"""
HOW = """<p>In the Temporal UI, open the codec server settings, set the endpoint to <code>{url}</code> and turn on
<em>Include cross-origin credentials</em>. Open the UI under the same host name as this page. Every decode is
recorded in the audit trail under your account.</p>"""


def _page(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(body=body), status_code=status_code,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": "default-src 'none'; form-action 'self'"})


def _own_origin(request: Request) -> None:
    """A sign-in or sign-out posted from another site's page is refused (login CSRF, forced sign-out)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise ProblemError(403, "this form is only accepted from this server's own page")


async def _signed_in(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return await codec_of(request).authority.authenticate(token)
    except InvalidToken:
        return None


@router.get("/")
async def home(request: Request) -> Response:
    principal = await _signed_in(request)
    how = HOW.format(url=html.escape(str(request.base_url).rstrip("/")))
    if principal is None:
        return _page(f"<p>Sign in with an operator account to read workflow payloads in clear.</p>{FORM}{how}")
    who = html.escape(f"{principal.org_id}/{principal.subject}")
    return _page(f"<p>Signed in as <code>{who}</code>.</p>{how}"
                 '<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>')


@router.post("/sign-in")
async def sign_in(request: Request, username: Annotated[str, Form(max_length=150)] = "",
                  password: Annotated[str, Form(max_length=1024)] = "") -> Response:
    _own_origin(request)
    service = codec_of(request)
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    if limits is None:
        limits = request.app.state.rate_limits = RateLimits(service.settings.api)
    await limits.check(Bucket.LOGIN, request.client.host if request.client else "unknown")
    try:
        issued = await service.authority.password_grant(username, password, Scope.PAYLOADS_DECODE.value)
    except AuthenticationFailed:
        return _page("<p>The username or password is not right, or the account is no longer active.</p>" + FORM, 401)
    except InvalidScope:
        return _page("<p>This account may not read payloads: only operators may.</p>" + FORM, 403)
    response = RedirectResponse("/", status_code=303)
    https = request.url.scheme == "https"
    response.set_cookie(COOKIE, issued.access_token, max_age=issued.expires_in, path="/", httponly=True,
                        secure=https, samesite="none" if https else "strict")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    _own_origin(request)
    authority = codec_of(request).authority
    token = request.cookies.get(COOKIE)
    if token:
        try:
            await authority.revoke(authority.verify(token))
        except InvalidToken:
            pass  # expired or foreign: nothing left to revoke
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True)
    return response
