"""Dependencies shared by every router: the context, the caller, and scope checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from api.context import ApiContext
from api.principal import Principal, Scope
from api.problems import ProblemError


async def get_context(request: Request) -> ApiContext:
    # async though it awaits nothing: FastAPI hands a sync dependency to a worker thread, a round trip per request
    # that cost more than the timeline's own reads under load.
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]


def require(*scopes: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks it holds every scope named."""
    from api.auth.dependencies import current_principal  # the auth package owns token checks

    # A default, not Annotated: under `from __future__ import annotations` FastAPI would look the annotation's
    # `current_principal` up in this module's globals, where the local import above does not put it.
    # async, so FastAPI runs it on the event loop rather than handing every request to a thread.
    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        missing = [s.value for s in scopes if s not in principal.scopes]
        if missing:
            raise ProblemError(403, f"this route needs the scope(s) {', '.join(missing)}")
        return principal

    return check
