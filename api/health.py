"""`/healthz` and `/readyz`, for an orchestrator and a load balancer. Neither needs a token, and neither is part of
the API's OpenAPI document: they describe the process, not the service.

`/healthz`: the process answers; nothing else is touched, so a slow database never gets a live API restarted.
`/readyz`: the database answers a trivial query and Temporal a cheap RPC, each within `api.readiness_timeout`;
once shutdown has begun it answers 503 whatever they say, so a load balancer stops sending before the API stops
accepting (api.shutdown)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from api.context import ApiContext
from api.problems import PROBLEM_JSON, TITLES

OK = "ok"
RETRY_AFTER_SECONDS = 5

router = APIRouter(include_in_schema=False)


class Readiness:
    """Whether this process still takes new work; set once, when shutdown begins."""

    def __init__(self) -> None:
        self.shutting_down = False


def readiness(app: Any) -> Readiness | None:
    """The app's readiness, if it is an app that has one (the partner simulator, say, does not)."""
    return getattr(getattr(app, "state", None), "readiness", None)


def install_health(app: FastAPI) -> None:
    app.state.readiness = Readiness()
    app.include_router(router)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = readiness(request.app)
    if state is not None and state.shutting_down:
        return _not_ready(request, {"shutdown": "begun"})
    context: ApiContext = request.app.state.context
    timeout = context.settings.api.readiness_timeout
    database, temporal = await asyncio.gather(_check(_database(context), timeout),
                                              _check(_temporal(context, timeout), timeout))
    checks = {"database": database, "temporal": temporal}
    if any(status != OK for status in checks.values()):
        return _not_ready(request, checks)
    return JSONResponse({"status": "ready", "checks": checks})


async def _database(context: ApiContext) -> None:
    async with context.store.session() as session:
        await session.execute(sa.text("SELECT 1"))


async def _temporal(context: ApiContext, timeout: timedelta) -> None:
    # What the SDK itself asks when it connects: no namespace, no workflow, nothing for the server to look up.
    await context.temporal.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timeout)


async def _check(probe: Awaitable[None], timeout: timedelta) -> str:
    """"ok", or why not in words that carry no address or credential: the exception's type only."""
    try:
        await asyncio.wait_for(probe, timeout.total_seconds())
    except TimeoutError:
        return f"no answer within {timeout.total_seconds():g} s"
    except Exception as error:
        return f"unavailable ({type(error).__name__})"
    return OK


def _not_ready(request: Request, checks: dict[str, str]) -> JSONResponse:
    """RFC 9457, with each check's status as an extension member."""
    failing = [name for name, status in checks.items() if status != OK]
    body = {"type": "about:blank", "title": TITLES[503], "status": 503, "detail": f"not ready: {', '.join(failing)}",
            "instance": request.url.path, "checks": checks}
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"})
