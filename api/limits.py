"""Request size limits and per-caller rate limits on the expensive routes, both answered as problem documents.

Both read the settings of the running app (its context), not of the moment the app was built: production builds
its context at startup."""

from __future__ import annotations

import math
import time
from enum import StrEnum
from typing import Any

from fastapi import Depends, FastAPI, Request
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.principal import Principal
from api.problems import ProblemError, problem_response
from predeparture.settings import ApiSettings


class Bucket(StrEnum):
    """Routes that cost a Temporal round trip, a wide query or a disclosure. The timeline is not among them: it is
    one indexed read, kept cheap on purpose, and the benchmark measures it bare."""

    DEPARTURES = "departures"
    CASE_LIST = "case_list"
    MANIFEST = "manifest"
    CALLBACKS = "callbacks"
    MEDICAL_RESULTS = "medical_results"
    LOGIN = "login"  # counted per client address: the caller is not authenticated yet
    VERIFY = "verify"  # public document verification, counted per client address: anyone may ask, no one may scan


# ApiSettings has no field for it yet; an operator's setting of that name is honoured once it has.
VERIFY_RATE = "60/minute"


def _api_settings(app: Any) -> ApiSettings:
    context = getattr(getattr(app, "state", None), "context", None)
    return context.settings.api if context is not None else ApiSettings()


# -- body size ---------------------------------------------------------------------------------------------------

class BodySizeLimit:
    """Refuses a body over `max_body_bytes` with 413 before any route sees it. The body is read here in full (it
    is small by definition) and handed on, so chunked uploads without a Content-Length are held to it too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _api_settings(scope.get("app")).max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        ended: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                ended = message  # the client went away; let the app hear it
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return ended or {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(Request(scope, receive), 413, f"request bodies are limited to {limit} bytes",
                                    headers={"Connection": "close"})
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# -- rate limits -------------------------------------------------------------------------------------------------

class RateLimits:
    def __init__(self, settings: ApiSettings) -> None:
        uri = settings.rate_limit_storage
        self.enabled = settings.rate_limits_enabled
        storage = storage_from_string(uri if uri.startswith("async+") else f"async+{uri}")
        self._limiter = MovingWindowRateLimiter(storage)
        self._items: dict[Bucket, RateLimitItem] = {
            Bucket.DEPARTURES: parse(settings.rate_limit_departures),
            Bucket.CASE_LIST: parse(settings.rate_limit_case_list),
            Bucket.MANIFEST: parse(settings.rate_limit_manifest),
            Bucket.CALLBACKS: parse(settings.rate_limit_callbacks),
            Bucket.MEDICAL_RESULTS: parse(settings.rate_limit_medical_results),
            Bucket.LOGIN: parse(settings.rate_limit_login),
            Bucket.VERIFY: parse(getattr(settings, "rate_limit_verify", VERIFY_RATE)),
        }

    async def check(self, bucket: Bucket, caller: str) -> None:
        """Counts one request of `caller` against `bucket`; 429 with Retry-After once the window is full."""
        if not self.enabled:
            return
        item = self._items[bucket]
        if await self._limiter.hit(item, bucket.value, caller):
            return
        stats = await self._limiter.get_window_stats(item, bucket.value, caller)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ProblemError(429, f"at most {item.amount} requests per {item.multiples} {item.GRANULARITY.name} "
                                f"here; retry in {retry_after} s", headers={"Retry-After": str(retry_after)})


def rate_limits(app: FastAPI) -> RateLimits:
    """One set of counters per app, built from its settings on first use."""
    existing: RateLimits | None = getattr(app.state, "rate_limits", None)
    if existing is None:
        existing = RateLimits(_api_settings(app))
        app.state.rate_limits = existing
    return existing


def rate_limited(bucket: Bucket) -> Any:
    """`dependencies=[rate_limited(Bucket.X)]`: counts per authenticated caller, after authentication."""
    from api.auth.dependencies import current_principal  # the auth package owns token checks

    # A default rather than Annotated: the annotation is a string here, and current_principal is a local name.
    async def check(request: Request, principal: Principal = Depends(current_principal)) -> None:
        await rate_limits(request.app).check(bucket, f"{principal.org_id}/{principal.subject}")

    return Depends(check)


def login_rate_limited() -> Any:
    """For the token endpoint: a password guesser is stopped per address before any hash is computed."""

    async def check(request: Request) -> None:
        address = request.client.host if request.client else "unknown"
        await rate_limits(request.app).check(Bucket.LOGIN, address)

    return Depends(check)


def address_rate_limited(bucket: Bucket) -> Any:
    """For routes anyone may call without a token: counted per client address."""

    async def check(request: Request) -> None:
        address = request.client.host if request.client else "unknown"
        await rate_limits(request.app).check(bucket, address)

    return Depends(check)


def install_limits(app: FastAPI) -> None:
    app.add_middleware(BodySizeLimit)
