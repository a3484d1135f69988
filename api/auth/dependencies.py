"""Who is calling: every protected route depends on `current_principal` (through `api.deps.require`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from api.auth.schemas import SCOPE_DESCRIPTIONS
from api.auth.service import Authority
from api.auth.tokens import InvalidToken
from api.deps import Context
from api.principal import Principal
from api.problems import ProblemError

REALM = "predeparture"

# auto_error=False: a missing token must become our problem document, not FastAPI's {"detail": ...}.
bearer_token = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    auto_error=False,
    scopes={scope.value: description for scope, description in SCOPE_DESCRIPTIONS.items()},
    description="People: OAuth2 password grant. Partner systems: client credentials (grant_type=client_credentials, "
    "with HTTP Basic or client_id/client_secret in the form).",
)
BearerToken = Annotated[str | None, Depends(bearer_token)]


async def authority(request: Request, context: Context) -> Authority:
    """The app's one Authority (its signing key, its cache of checked tokens), made on first use. async, so it
    runs on the event loop: a sync dependency would send every request through a worker thread."""
    state = request.app.state
    made: tuple[object, Authority] | None = getattr(state, "auth_authority", None)
    if made is None or made[0] is not context:
        made = (context, Authority.from_settings(context.settings, context.store))
        state.auth_authority = made
    return made[1]


Auth = Annotated[Authority, Depends(authority)]


def unauthenticated(detail: str, error: str | None = None) -> ProblemError:
    """401 with the RFC 6750 challenge; `error` only when a token was sent (invalid_token)."""
    challenge = f'Bearer realm="{REALM}"'
    if error is not None:
        challenge += f', error="{error}", error_description="{detail}"'
    return ProblemError(401, detail, headers={"WWW-Authenticate": challenge})


async def current_principal(request: Request, context: Context, token: BearerToken, auth: Auth) -> Principal:
    """The caller named by a valid, unrevoked bearer token whose account is still active; 401 otherwise.

    Also left on `request.state.principal`, for middleware that counts or logs per caller (by opaque id only).
    """
    if not token:
        raise unauthenticated("this route needs a bearer token: get one from POST /auth/token")
    try:
        principal = await auth.authenticate(token)
    except InvalidToken as invalid:
        raise unauthenticated(str(invalid), error="invalid_token") from None
    request.state.principal = principal
    return principal
