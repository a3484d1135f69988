"""The FastAPI application: one app for coordinators, medical partners, reception teams and partner systems."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.context import ApiContext
from api.limits import install_limits
from api.observability import install_observability
from api.problems import install_problem_handlers

DESCRIPTION = """Pre-departure logistics of refugee resettlement.

Authenticate with `POST /auth/token` (OAuth2 password grant for people, client credentials for partner systems)
and send `Authorization: Bearer <token>`. Every error is an RFC 9457 problem document (`application/problem+json`)
naming the field at fault. Diagnoses and test results appear only in medical views; everyone else sees functional
needs. URLs carry opaque ids only.

Partner systems: the contract for your side (requests we send, callbacks you send us, signatures) is published at
[`/partners/contract.json`](/partners/contract.json).
"""


def create_app(context: ApiContext | None = None,
               make_context: Callable[[], Awaitable[ApiContext]] | None = None) -> FastAPI:
    """`context` for tests that build their own; `make_context` to build (and close) one at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if context is not None:
            app.state.context = context
            yield
            return
        assert make_context is not None, "create_app needs a context or a way to make one"
        built = await make_context()
        app.state.context = built
        try:
            yield
        finally:
            await built.store.close()

    app = FastAPI(title="predeparture", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    if context is not None:
        app.state.context = context
    install_problem_handlers(app)
    install_limits(app)
    _include_routers(app)
    from api.web import install_web  # the pages under /ui; after the problem handlers, which it wraps
    install_web(app)
    install_observability(app)  # /healthz, /readyz, /metrics, and request spans and metrics around all the rest
    return app


def _include_routers(app: FastAPI) -> None:
    from api.audit.endpoints import router as audit
    from api.auth.endpoints import router as auth
    from api.callbacks.endpoints import router as callbacks
    from api.cases.endpoints import router as cases
    from api.contract.endpoints import router as partner_contract
    from api.documents.endpoints import router as documents
    from api.medical.endpoints import router as medical
    from api.movements.endpoints import router as movements
    from api.reception.endpoints import router as reception

    for router in (auth, cases, medical, reception, callbacks, audit, documents, movements, partner_contract):
        app.include_router(router)
