"""Traces from the API through the workflows to the activities, and the Temporal SDK's own metrics and logs.

Tracing is off by default, and off it costs nothing: no provider is made, no interceptor joins the Temporal client
and no header rides on a workflow or activity task. On, one `Tracing` per process makes the spans: the API's
request spans (api.observability), and through Temporal's TracingInterceptor on the client (which the worker takes
from it) the spans of starting, running and signalling workflows and of every activity, all in the trace of the
request that started them. Span attributes are opaque ids (workflow, run and activity ids, route templates); what
an exception could add (its message, its stack trace) is removed before a span leaves the process.

The provider is never made the global one: FastAPI's own telemetry switches itself on when a global provider is
set, and it writes each request's raw path and query (ids, search terms) into its spans."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Status
from temporalio.client import Interceptor
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from predeparture.settings import LogFormat, TelemetrySettings, TracesExporter

INSTRUMENTATION = "predeparture"
# What OpenTelemetry's record_exception writes; only the type is kept.
EXCEPTION_EVENT = "exception"
KEPT_EXCEPTION_ATTRIBUTES = frozenset({"exception.type", "exception.escaped"})
TYPE_NAME = re.compile(r"^[A-Za-z_][\w.]*")


class WithoutPersonalData(SpanExporter):
    """Hands spans on to `exporter` without exception messages or stack traces: the status keeps the exception's
    type (TracingInterceptor writes "Type: message"), an exception event its type only."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([scrubbed(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    if status.description:
        kind = TYPE_NAME.match(status.description)
        status = Status(status.status_code, kind.group(0) if kind else None)
    events = [
        Event(event.name, {k: v for k, v in (event.attributes or {}).items() if k in KEPT_EXCEPTION_ATTRIBUTES},
              event.timestamp)
        if event.name == EXCEPTION_EVENT else event
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource, attributes=span.attributes,
        events=events, links=span.links, kind=span.kind, status=status, start_time=span.start_time,
        end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )


class Tracing:
    """The process's tracer provider, the tracer of its own spans, and the interceptor Temporal clients take."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer(INSTRUMENTATION)

    @classmethod
    def from_settings(cls, settings: TelemetrySettings, process: str) -> Tracing | None:
        """None when traces are off. `process` names the service: api, worker, dev."""
        if settings.traces_exporter is TracesExporter.NONE:
            return None
        exporter: SpanExporter
        if settings.traces_exporter is TracesExporter.OTLP:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint)
        else:
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporter = ConsoleSpanExporter()
        return cls.exporting_to(BatchSpanProcessor(WithoutPersonalData(exporter)),
                                f"{settings.service_name}-{process}", settings.trace_sample_ratio)

    @classmethod
    def exporting_to(cls, processor: SpanProcessor | SpanExporter, service_name: str,
                     sample_ratio: float = 1.0) -> Tracing:
        """A span exporter is wrapped, so what it receives is what production exports; a processor is taken as
        it is (the caller wraps its exporter)."""
        if isinstance(processor, SpanExporter):
            processor = SimpleSpanProcessor(WithoutPersonalData(processor))
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}),
                                  sampler=ParentBased(TraceIdRatioBased(sample_ratio)))
        provider.add_span_processor(processor)
        return cls(provider)

    def temporal_interceptors(self) -> list[Interceptor]:
        from temporalio.contrib.opentelemetry import TracingInterceptor

        return [TracingInterceptor(self.tracer)]

    def shutdown(self) -> None:
        """Exports what is still buffered."""
        self.provider.shutdown()


def temporal_interceptors(tracing: Tracing | None) -> list[Interceptor]:
    return tracing.temporal_interceptors() if tracing is not None else []


def temporal_runtime(settings: TelemetrySettings, serve_metrics: bool = False) -> Runtime | None:
    """A Temporal runtime for this process, or None for the SDK's default one.

    `serve_metrics` (the worker) serves the SDK's metrics for Prometheus at `worker_metrics_address`, when set.
    It is unset by default: the dev stack, the demo, the benchmark and the tests run several workers on one
    machine, and a fixed port would make the second one fail to start; production sets it (docker-compose.yml).
    With JSON logs, the SDK core's own log lines (written in Rust, to stderr) come through Python's logging, so
    they are JSON lines like every other and pass the same filter."""
    metrics = (PrometheusConfig(bind_address=settings.worker_metrics_address)
               if serve_metrics and settings.worker_metrics_address else None)
    forward = settings.log_format is LogFormat.JSON
    if metrics is None and not forward:
        return None
    logs = LoggingConfig.default
    if forward:
        logs = LoggingConfig(filter=LoggingConfig.default.filter,
                             forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")))
    return Runtime(telemetry=TelemetryConfig(logging=logs, metrics=metrics))
