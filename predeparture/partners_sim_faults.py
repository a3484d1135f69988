"""Network faults of the partner simulator service, set at run time through its admin endpoint.

Applied in front of the partner routes as an ASGI layer, so the simulated partner behind it stays the ordinary
in-process simulator: latency, 503s and 429s (with Retry-After) before the partner acts, connections dropped
after it acted (the answer is lost), a window during which the partner is down, and callbacks duplicated and
sent out of order (see partners_sim_callbacks)."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = b"application/problem+json"


class NetworkFaults(BaseModel):
    """What the service does wrong, from now on. Rates are shares of requests (or callbacks), drawn per request."""

    latency: Literal["none", "uniform", "exponential"] = "none"
    latency_ms_min: float = Field(default=0, ge=0)
    latency_ms_max: float = Field(default=0, ge=0, description="uniform: upper bound; exponential: the cap")
    latency_ms_mean: float = Field(default=0, ge=0, description="exponential only")
    error_rate: float = Field(default=0, ge=0, le=1, description="503 with Retry-After, before the partner acts")
    throttle_rate: float = Field(default=0, ge=0, le=1, description="429 with Retry-After, before the partner acts")
    retry_after_seconds: int = Field(default=1, ge=0, le=3600)
    drop_rate: float = Field(default=0, ge=0, le=1,
                             description="connection cut after the partner acted: the answer never arrives")
    down_for_seconds: float | None = Field(default=None, ge=0, description="503 to everything for this long")
    duplicate_callback_rate: float = Field(default=0, ge=0, le=1, description="each callback sent twice")
    reorder_callbacks: bool = Field(default=False, description="callbacks due together go out last first")
    roles: list[str] | None = Field(default=None, description="only these partner roles; None: all")
    seed: int | None = Field(default=None, description="draws repeat for the same seed")


class FaultState:
    """The current faults and what they did; shared by the ASGI layer and the callback sender."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.set(NetworkFaults())
        self.injected: Counter[str] = Counter()

    def set(self, faults: NetworkFaults) -> None:
        with self._lock:
            self.faults = faults
            self._random = random.Random(faults.seed)
            self.down_until = (datetime.now(UTC) + timedelta(seconds=faults.down_for_seconds)
                               if faults.down_for_seconds else None)

    def applies(self, role: str) -> bool:
        return self.faults.roles is None or role in self.faults.roles

    def draw(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def latency_seconds(self) -> float:
        faults = self.faults
        with self._lock:
            if faults.latency == "uniform":
                ms = self._random.uniform(faults.latency_ms_min, max(faults.latency_ms_min, faults.latency_ms_max))
            elif faults.latency == "exponential":
                drawn = faults.latency_ms_min + self._random.expovariate(1 / faults.latency_ms_mean) \
                    if faults.latency_ms_mean > 0 else faults.latency_ms_min
                ms = min(drawn, faults.latency_ms_max) if faults.latency_ms_max > 0 else drawn
            else:
                ms = 0.0
        return ms / 1000

    def down_seconds_left(self) -> float | None:
        if self.down_until is None:
            return None
        left = (self.down_until - datetime.now(UTC)).total_seconds()
        return left if left > 0 else None

    def count(self, kind: str, role: str) -> None:
        with self._lock:
            self.injected[f"{role}.{kind}"] += 1


class _ConnectionDropped(Exception):
    """Raised inside the server after the headers went out: it closes the connection mid-answer."""


class FaultLayer:
    """ASGI: faults for requests to the partner routes (`roles` maps a path's first segment to its role)."""

    def __init__(self, app: ASGIApp, state: FaultState, roles: dict[str, str]) -> None:
        self.app = app
        self.state = state
        self.roles = roles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        role = self.roles.get(scope.get("path", "").strip("/").split("/", 1)[0]) if scope["type"] == "http" else None
        if role is None or not self.state.applies(role):
            await self.app(scope, receive, send)
            return
        state = self.state
        delay = state.latency_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        down = state.down_seconds_left()
        if down is not None:
            state.count("down", role)
            await _problem(send, 503, "partner_down", "the partner is down", retry_after=int(down) + 1)
            return
        if state.draw(state.faults.error_rate):
            state.count("error", role)
            await _problem(send, 503, "unavailable", "try again later", retry_after=state.faults.retry_after_seconds)
            return
        if state.draw(state.faults.throttle_rate):
            state.count("throttled", role)
            await _problem(send, 429, "throttled", "too many requests", retry_after=state.faults.retry_after_seconds)
            return
        if state.draw(state.faults.drop_rate):
            state.count("dropped", role)
            await self.app(scope, receive, _cut(send))
            return
        await self.app(scope, receive, send)


def _cut(send: Send) -> Send:
    """Lets the partner act, announces an answer one byte longer than the one it sends, then fails: the server
    closes the connection and the caller reads a truncated answer (a connection reset after the work was done)."""
    start: dict[str, Any] = {}

    async def cut(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body) + 1).encode()))
            status = start.get("status", 200)
            status = 200 if status == 204 else status  # a 204 may not announce a body
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise _ConnectionDropped("connection dropped by fault injection")

    return cut


async def _problem(send: Send, status: int, code: str, detail: str, retry_after: int) -> None:
    import json

    body = json.dumps({"type": "about:blank", "title": detail, "status": status, "code": code, "detail": detail,
                       "retryable": True}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", PROBLEM_JSON), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode())]})
    await send({"type": "http.response.body", "body": body})
