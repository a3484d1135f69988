"""Cross-site request forgery: every form under /ui carries a token that only a page of ours, rendered for this
session, can know; every POST checks it (the form field `csrf_token`, or the `X-CSRF-Token` header for scripts).

The token is an HMAC of the session (a digest of the session cookie), so it changes when the person signs in or out
and cannot be replayed into another session. Before signing in, a random seed cookie stands in for the session, so
the sign-in form itself cannot be posted from another site (login CSRF)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from api.auth.tokens import signing_key
from api.web.session import PREFIX, secure, session_token

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SEED_COOKIE = "predeparture_csrf"


class CsrfRefused(Exception):
    """A POST without the token of this session (403 page)."""


def _key(request: Request) -> bytes:
    context = request.app.state.context
    made: tuple[object, bytes] | None = getattr(request.app.state, "web_csrf_key", None)
    if made is None or made[0] is not context:
        derived = hmac.new(signing_key(context.settings).encode(), b"predeparture web csrf", hashlib.sha256).digest()
        made = (context, derived)
        request.app.state.web_csrf_key = made
    return made[1]


def _binding(request: Request, *, create: bool) -> str | None:
    token = session_token(request)
    if token:
        return "session:" + hashlib.sha256(token.encode()).hexdigest()
    seed = getattr(request.state, "csrf_seed", None) or request.cookies.get(SEED_COOKIE)
    if not seed and create:
        seed = secrets.token_urlsafe(24)
        request.state.csrf_seed = seed  # set on the response by keep_seed()
    return f"anonymous:{seed}" if seed else None


def _sign(request: Request, binding: str) -> str:
    digest = hmac.new(_key(request), binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_token(request: Request) -> str:
    """The token to put in this page's forms."""
    binding = _binding(request, create=True)
    assert binding is not None
    return _sign(request, binding)


def keep_seed(request: Request, response: Response) -> None:
    """A seed made while rendering an anonymous page goes to the browser with that page."""
    seed = getattr(request.state, "csrf_seed", None)
    if seed and request.cookies.get(SEED_COOKIE) != seed:
        response.set_cookie(SEED_COOKIE, seed, path=PREFIX, httponly=True, samesite="lax", secure=secure(request))


async def check_csrf(request: Request) -> None:
    sent = request.headers.get(HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(FIELD)
        sent = value if isinstance(value, str) else None
    binding = _binding(request, create=False)
    if not sent or binding is None or not hmac.compare_digest(sent, _sign(request, binding)):
        raise CsrfRefused()


CsrfChecked = Annotated[None, Depends(check_csrf)]
