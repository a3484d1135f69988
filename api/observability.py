"""Every request counted and timed for Prometheus (served at `/metrics`), and, when traces are on, a span of its
own that the workflow and activity spans it causes hang from.

Both are named by the route's template (`POST /cases/{case_id}/departure`), never by the path a client sent: paths
carry ids, and a scanner's made-up paths would grow a label per request. Spans carry no URL, query, address or
header; metrics labels are method, route template and status only."""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.routing import Match, Mount, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.health import install_health

UNMATCHED = "<unmatched>"  # no route took the path: one label for every 404, whatever was asked
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes every few seconds would bury the traces worth reading; they are still counted.
UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})

router = APIRouter(include_in_schema=False)


class RequestMetrics:
    """One registry per app: tests build many apps in one process, and production builds one."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter("predeparture_api_requests", "Requests answered, by route template and status",
                                labels, registry=self.registry)
        self.duration = Histogram("predeparture_api_request_duration_seconds",
                                  "Time to answer a request, by route template and status", labels,
                                  registry=self.registry)
        ProcessCollector(registry=self.registry)  # CPU, memory, open files of this API process

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds)


def install_observability(app: FastAPI) -> None:
    """Last, so the middleware is the outermost of the app's own and times everything the others do."""
    install_health(app)
    app.state.request_metrics = RequestMetrics()
    app.include_router(router)
    app.add_middleware(ObservedRequests, owner=app)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    registry = request.app.state.request_metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class ObservedRequests:
    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        asked = {"type": "http", "method": scope["method"], "path": scope["path"],
                 "root_path": scope.get("root_path", "")}
        status = 500  # unless the app answers: an exception escaping here becomes a 500 further out
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        tracer = self._tracer()
        try:
            if tracer is None or scope["path"] in UNTRACED:
                await self.app(scope, receive, send_status)
            else:
                await self._traced(tracer, method, asked, scope, receive, send_status, lambda: status)
        finally:
            route = route_template(self.owner, scope, asked)
            self.owner.state.request_metrics.observe(method, route, status, time.perf_counter() - started)

    def _tracer(self) -> Tracer | None:
        context = getattr(self.owner.state, "context", None)
        tracing = getattr(context, "tracing", None)
        return tracing.tracer if tracing is not None else None

    async def _traced(self, tracer: Tracer, method: str, asked: Scope, scope: Scope, receive: Receive,
                      send: Send, status: Any) -> None:
        # A caller's traceparent (an ingress, a partner's system) makes this request part of its trace.
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", ())}
        with tracer.start_as_current_span(method, context=propagate.extract(headers), kind=SpanKind.SERVER,
                                          attributes={"http.request.method": method}, record_exception=False,
                                          set_status_on_exception=False) as span:
            try:
                await self.app(scope, receive, send)
            except Exception as error:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise
            finally:
                route = route_template(self.owner, scope, asked)
                if route != UNMATCHED:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status())
                if status() >= 500:
                    span.set_status(Status(StatusCode.ERROR))


def route_template(app: FastAPI, scope: Scope, asked: Scope) -> str:
    """The template of the route that answered. FastAPI's routes leave themselves in the scope; Starlette's (the
    documentation pages, static files) do not, so those are matched again against the request as it came in."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is not None:
        mounted_under = str(scope.get("root_path", ""))[len(str(asked["root_path"])):]
        return f"{mounted_under}{path}"
    for candidate in app.router.routes:
        path = getattr(candidate, "path", None)
        if path is None:  # a router FastAPI included: its routes are matched below, by their documented templates
            continue
        match, _ = candidate.matches(asked)
        if match is not Match.NONE:
            return f"{path}/{{path}}" if isinstance(candidate, Mount) else str(path)
    # A request refused before routing (a body over the limit) is counted under the route it was sent to.
    asked_path = str(asked.get("path", ""))
    for pattern, template in _documented_templates(app):
        if pattern.match(asked_path):
            return template
    return UNMATCHED


def _documented_templates(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    templates: list[tuple[re.Pattern[str], str]] | None = getattr(app.state, "route_templates", None)
    if templates is None:
        templates = [(compile_path(template)[0], template) for template in app.openapi().get("paths", {})]
        app.state.route_templates = templates
    return templates
