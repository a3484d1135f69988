"""Who is looking at a page: the access token from POST /ui/sign-in, kept in an HttpOnly cookie.

The cookie holds the same signed token the JSON API takes as a bearer token, so a page is authorised exactly as
the JSON route beside it, and signing out revokes the token for both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response

from api.auth.dependencies import Auth
from api.auth.tokens import InvalidToken
from api.principal import ROLE_SCOPES, Principal, Role

PREFIX = "/ui"
SESSION_COOKIE = "predeparture_session"

HOMES = {
    Role.COORDINATOR: f"{PREFIX}/board",
    Role.MEDICAL_PARTNER: f"{PREFIX}/worklist",
    Role.RECEPTION_TEAM: f"{PREFIX}/arrivals",
}


class SignInRequired(Exception):
    """No session, or one that expired or was revoked: the browser is sent to sign in, then back here."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in first")
        self.next_url = next_url


class WrongRole(Exception):
    """Signed in, but this page is for another audience (403 page)."""


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path=PREFIX, httponly=True, samesite="lax",
                        secure=secure(request))


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="lax", secure=secure(request))


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def sign_in_url(next_url: str | None = None) -> str:
    if not next_url or not safe_next(next_url):
        return f"{PREFIX}/sign-in"
    return f"{PREFIX}/sign-in?next={quote(next_url, safe='')}"


def safe_next(next_url: str) -> bool:
    """Only a page of ours: `next` must never send a freshly signed-in browser to another site."""
    return (next_url.startswith(f"{PREFIX}/") or next_url == PREFIX) and not next_url.startswith("//") \
        and "\\" not in next_url and "\n" not in next_url and "\r" not in next_url


def current_url(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def referring_page(request: Request) -> str:
    """The page of ours a form was posted from, by its Referer; "" when it came from anywhere else."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not safe_next(referer.path):
        return ""
    return f"{referer.path}?{referer.query}" if referer.query else referer.path


async def optional_principal(request: Request, auth: Auth) -> Principal | None:
    """The signed-in person, or None (no cookie, or a token that no longer works). Partner systems' tokens never
    make a page session: pages are for people. Neither does a token narrowed to some of its role's scopes."""
    token = session_token(request)
    if not token:
        return None
    try:
        principal = await auth.authenticate(token)
    except InvalidToken:
        return None
    if principal.is_client or not ROLE_SCOPES[principal.role] <= principal.scopes:
        # Pages act with the whole role: an API token narrowed to some scopes is not a page session.
        return None
    request.state.principal = principal
    return principal


async def web_principal(request: Request,
                        principal: Principal | None = Depends(optional_principal)) -> Principal:
    if principal is None:
        # After signing in, a GET comes back to where it was; a form posted without a session (it expired while
        # the form was open) is not replayed, but its page is opened again.
        raise SignInRequired(current_url(request) if request.method == "GET" else referring_page(request))
    return principal


WebPrincipal = Annotated[Principal, Depends(web_principal)]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def web_role(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the signed-in person, who must have one of these roles (else a 403 page)."""

    async def check(principal: Principal = Depends(web_principal)) -> Principal:
        if principal.role not in roles:
            raise WrongRole()
        return principal

    return check


def home_of(principal: Principal) -> str | None:
    return HOMES.get(principal.role)
