"""The OAuth2 token endpoint (RFC 6749) and token revocation (RFC 7009)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Form, Request, Response

from api.auth.dependencies import REALM, Auth, BearerToken, current_principal
from api.auth.schemas import GrantType, TokenResponse, problems
from api.auth.service import AuthenticationFailed, Authority, InvalidScope
from api.auth.tokens import InvalidToken, IssuedToken
from api.limits import login_rate_limited
from api.principal import Principal
from api.problems import FieldError, ProblemError

router = APIRouter(prefix="/auth", tags=["authentication"])

# Tokens must never sit in a cache on the way (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/token",
    response_model=TokenResponse,
    responses=problems(400, 401, 422, 429),
    dependencies=[login_rate_limited()],
    summary="Trade credentials for an access token",
    description="Form-encoded (`application/x-www-form-urlencoded`). People: `grant_type=password` with "
    "`username` and `password`. Partner systems: `grant_type=client_credentials` with HTTP Basic "
    "(`client_id:client_secret`) or `client_id` and `client_secret` in the form. `scope` narrows the token to "
    "some of the scopes of the account's role; omitted, the token carries all of them.",
)
async def token(
    request: Request,
    response: Response,
    auth: Auth,
    grant_type: Annotated[str, Form(max_length=64, examples=["password"])],
    username: Annotated[str | None, Form(max_length=150)] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    scope: Annotated[str | None, Form(max_length=512, examples=["cases:read"])] = None,
) -> TokenResponse:
    response.headers.update(NO_STORE)
    try:
        issued = await _grant(auth, request, grant_type, username, password, client_id, client_secret, scope)
    except AuthenticationFailed:
        raise ProblemError(401, "the credentials are not valid", headers={
            **NO_STORE,
            "WWW-Authenticate": f'{_scheme_tried(request)} realm="{REALM}"',
        }) from None
    except InvalidScope as invalid:
        raise ProblemError(400, "invalid_scope: a scope asked for cannot be granted", headers=NO_STORE,
                           errors=[FieldError(field="body.scope", message=_rule(invalid))]) from None
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope)


async def _grant(auth: Authority, request: Request, grant_type: str, username: str | None, password: str | None,
                 client_id: str | None, client_secret: str | None, scope: str | None) -> IssuedToken:
    if grant_type == GrantType.PASSWORD:
        _require(username=username, password=password)
        assert username is not None and password is not None
        return await auth.password_grant(username, password, scope)
    if grant_type == GrantType.CLIENT_CREDENTIALS:
        basic = _basic_credentials(request)
        if basic is not None and (client_id or client_secret):
            raise ProblemError(400, "invalid_request: send the client's credentials one way, HTTP Basic or the form",
                               headers=NO_STORE)
        if basic is not None:
            client_id, client_secret = basic
        _require(client_id=client_id, client_secret=client_secret)
        assert client_id is not None and client_secret is not None
        return await auth.client_grant(client_id, client_secret, scope)
    raise ProblemError(400, "unsupported_grant_type: use password (people) or client_credentials (partner systems)",
                       errors=[FieldError(field="body.grant_type", message="must be password or client_credentials")],
                       headers=NO_STORE)


def _require(**fields: str | None) -> None:
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise ProblemError(400, "invalid_request: a field this grant needs is missing", headers=NO_STORE,
                           errors=[FieldError(field=f"body.{name}", message="required for this grant type")
                                   for name in missing])


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: base64 of form-urlencoded id, a colon, form-urlencoded secret."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed() from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise AuthenticationFailed()
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def _scheme_tried(request: Request) -> str:
    """A client that tried HTTP Basic is challenged with Basic (RFC 6749 §5.2); anyone else with Bearer, which
    does not make a browser pop up a login box over the API docs."""
    scheme = request.headers.get("authorization", "").partition(" ")[0].lower()
    return "Basic" if scheme == "basic" else "Bearer"


def _rule(error: Exception) -> str:
    return str(error).partition(": ")[2] or str(error)


@router.post(
    "/revoke",
    response_class=Response,
    responses={200: {"description": "revoked, or nothing to revoke (an unknown or expired token)"},
               **problems(401, 403, 422)},
    summary="Revoke an access token",
    description="RFC 7009. Without `token`, revokes the bearer token of this request (log out). With `token`, "
    "revokes that one, which must belong to the same account. A revoked token is refused with 401 from then on.",
)
async def revoke(
    auth: Auth,
    bearer: BearerToken,
    principal: Annotated[Principal, Depends(current_principal)],
    token: Annotated[str | None, Form(max_length=4096)] = None,
    token_type_hint: Annotated[str | None, Form(max_length=32, description="ignored: all tokens are access tokens")]
    = None,
) -> Response:
    target = token or bearer
    assert target is not None  # current_principal refused the request otherwise
    try:
        verified = auth.verify(target)
    except InvalidToken:
        return Response(status_code=200, headers=NO_STORE)  # nothing that could still be used
    named = verified.principal
    if (named.subject, named.is_client) != (principal.subject, principal.is_client):
        raise ProblemError(403, "a token can only be revoked by the account it was issued to")
    await auth.revoke(verified)
    return Response(status_code=200, headers=NO_STORE)
