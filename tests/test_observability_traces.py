"""What one departure leaves in the traces and the logs, driven through the API as the organisations would drive it
(tests/api_harness.drive_to_manifest: a case created, its departure started, the clinic's assessments with a
diagnosis, a screening, a fitness check, a flight booked), with traces on and every logger at DEBUG.

The request that starts the departure, the workflow it starts and the workflow's activities are one trace; and no
span and no log line names a traveller, gives a date of birth or quotes the clinic's findings."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.context import ApiContext
from documents.render import DocumentRenderer
from partners.factory import build_partners
from predeparture.logs import JsonLines, json_handler
from predeparture.settings import PartnerAdapters, Settings
from predeparture.telemetry import Tracing, temporal_interceptors, temporal_runtime
from predeparture.temporal import data_converter
from predeparture.worker import build_worker
from store.repository import Store
from store.webhooks import SecretSealer
from tests.api_harness import FAST_PARTNERS, MEDICAL_TEXTS, Cast, Scene, drive_to_manifest, harness_settings
from tests.conftest import venv_binary
from tests.departure_harness import TEST_KEY, World
from tests.factories import family

START = "POST /cases/{case_id}/departure"


@dataclass(frozen=True)
class Observed:
    scene: Scene
    spans: list[ReadableSpan]
    log_lines: list[str]

    def personal_data(self) -> list[str]:
        """What must never leave the process in a span or a log line."""
        people = self.scene.case.people
        return [*{p.given_name for p in people}, *{p.family_name for p in people},
                *(p.date_of_birth.isoformat() for p in people), *MEDICAL_TEXTS]


@pytest.fixture(scope="module")
def every_log_line() -> Iterator[io.StringIO]:
    """Every logger at DEBUG into the production JSON handler (with its filter): stricter than production, which
    logs from INFO, so a library's DEBUG line quoting a row is caught too."""
    lines = io.StringIO()
    handler = json_handler(lines)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest_asyncio.fixture(scope="module")
async def observed(database_url: str, tmp_path_factory: pytest.TempPathFactory, document_renderer: DocumentRenderer,
                   every_log_line: io.StringIO) -> AsyncIterator[Observed]:
    exported = InMemorySpanExporter()
    tracing = Tracing.exporting_to(exported, "predeparture-test")  # the production filter sits before the exporter
    task_queue = f"tq-traces-{uuid.uuid4().hex[:8]}"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=venv_binary("temporal-test-server"))
    store = Store.from_url(database_url)
    await store.migrate()
    partners = build_partners(PartnerAdapters(), FAST_PARTNERS)
    # The API's client and the worker's are one here, as in `predeparture dev`: the worker takes the client's
    # tracing interceptor, as it does in production.
    client = Client(**{**env.client.config(), "data_converter": data_converter("test", TEST_KEY),
                       "interceptors": tracing.temporal_interceptors()})
    sealer = SecretSealer("test", TEST_KEY)
    try:
        async with build_worker(client, task_queue, store, partners, renderer=document_renderer, sealer=sealer):
            world = World(env, client, store, partners, task_queue, sealer)
            settings = harness_settings(tmp_path_factory.mktemp("traces"), task_queue)
            app = create_app(context=ApiContext(settings, store, client, sealer=sealer, tracing=tracing))
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
                cast = await Cast.enrol(store, http)
                scene = await drive_to_manifest(world, http, cast)
            await world.stop_all()
    finally:
        await store.close()
        await env.shutdown()
    tracing.shutdown()
    yield Observed(scene, list(exported.get_finished_spans()), every_log_line.getvalue().splitlines())


def in_trace_of(spans: list[ReadableSpan], root: ReadableSpan) -> dict[str, list[ReadableSpan]]:
    assert root.context is not None
    found: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        if span.context is not None and span.context.trace_id == root.context.trace_id:
            found.setdefault(span.name, []).append(span)
    return found


def test_the_request_that_starts_a_departure_traces_its_workflow_and_activities(observed: Observed) -> None:
    starts = [span for span in observed.spans if span.name == START]
    assert len(starts) == 1, sorted({span.name for span in observed.spans})
    request = starts[0]
    assert request.kind is SpanKind.SERVER and request.parent is None
    assert request.attributes is not None
    assert request.attributes["http.route"] == "/cases/{case_id}/departure"
    assert request.attributes["http.response.status_code"] == 201

    trace = in_trace_of(observed.spans, request)

    started = trace["StartWorkflow:DepartureWorkflow"][0]
    assert started.parent is not None and request.context is not None
    assert started.parent.span_id == request.context.span_id, "the workflow is started inside the request's span"
    assert "RunWorkflow:DepartureWorkflow" in trace
    for activity in ("load_case", "save_progress", "request_exit_permit", "schedule_appointment", "book_flight"):
        assert f"StartActivity:{activity}" in trace, f"{activity} is not in the request's trace"
        assert f"RunActivity:{activity}" in trace, f"{activity} ran outside the request's trace"
    workflow_ids = {span.attributes.get("temporalWorkflowID") for spans in trace.values() for span in spans
                    if span.attributes}
    assert f"departure-{observed.scene.case_id}" in workflow_ids


def test_each_other_request_is_a_trace_of_its_own_named_by_its_route(observed: Observed) -> None:
    servers = [span for span in observed.spans if "http.request.method" in (span.attributes or {})]
    names = {span.name for span in servers}
    assert {"POST /cases", "POST /auth/token", "POST /medical/cases/{case_id}/assessments"} <= names
    assert all(span.parent is None for span in servers)
    # An Update sent by a request's handler is in that request's trace.
    assessment = next(s for s in servers if s.name == "POST /medical/cases/{case_id}/assessments")
    assert "StartWorkflowUpdate:submit_assessment" in in_trace_of(observed.spans, assessment)
    # No span of a request carries the path it was sent with: its ids are in no attribute.
    for span in servers:
        assert observed.scene.case_id not in str(dict(span.attributes or {})), span.name


def test_no_span_names_a_traveller_or_quotes_a_diagnosis(observed: Observed) -> None:
    assert len(observed.spans) > 50
    leaks = []
    for span in observed.spans:
        text = _span_text(span)
        leaks += [f"{span.name}: {value}" for value in observed.personal_data() if value in text]
    assert not leaks, leaks


def test_no_log_line_names_a_traveller_or_quotes_a_diagnosis(observed: Observed) -> None:
    assert len(observed.log_lines) > 20, "too few log lines to judge by"
    leaks = [line for line in observed.log_lines if any(value in line for value in observed.personal_data())]
    assert not leaks, leaks[:5]


def _span_text(span: ReadableSpan) -> str:
    parts: list[Any] = [span.name, dict(span.attributes or {}), span.status.description]
    parts += [(event.name, dict(event.attributes or {})) for event in span.events]
    return repr(parts)


# -- what the filters take out -----------------------------------------------------------------------------------


def test_an_exception_that_quotes_a_name_reaches_the_exporter_as_its_type_only() -> None:
    exported = InMemorySpanExporter()
    tracing = Tracing.exporting_to(exported, "predeparture-test")
    with tracing.tracer.start_as_current_span("RunActivity:load_case") as span:
        try:
            raise ValueError("no passport for Mariam Haidari, born 1986-03-14")
        except ValueError as error:
            span.record_exception(error)
            span.set_status(StatusCode.ERROR, f"ValueError: {error}")
    tracing.shutdown()

    (finished,) = exported.get_finished_spans()

    assert "Mariam" not in _span_text(finished) and "1986" not in _span_text(finished)
    assert finished.status.status_code is StatusCode.ERROR and finished.status.description == "ValueError"
    assert dict(finished.events[0].attributes or {})["exception.type"] == "ValueError"


def test_a_log_record_keeps_ids_and_loses_objects_and_exception_messages() -> None:
    case = family(date(2026, 3, 2))
    invalid = {"reference": "NBO-1", "people": [{"given_name": case.people[0].given_name}]}
    lines = io.StringIO()
    log = logging.getLogger("predeparture.test_observability")
    handler = json_handler(lines)
    log.addHandler(handler)
    try:
        log.warning("case %s: %s", case.case_id, case, extra={"case_id": case.case_id})
        try:
            case.model_validate(invalid)  # pydantic's message quotes the input
        except ValueError:
            log.exception("invalid case %s", case.case_id)
    finally:
        log.removeHandler(handler)

    first, second = (json.loads(line) for line in lines.getvalue().splitlines())

    assert first["message"] == f"case {case.case_id}: <Case>" and first["case_id"] == case.case_id
    assert first["level"] == "WARNING" and first["logger"] == "predeparture.test_observability"
    assert "pydantic_core._pydantic_core.ValidationError (message withheld)" in second["exception"]
    assert "Mariam" not in lines.getvalue() and "Haidari" not in lines.getvalue()


def test_a_temporal_activity_log_line_carries_the_case_and_workflow_ids() -> None:
    record = logging.LogRecord("temporalio.activity", logging.WARNING, __file__, 1, "Completing activity as failed",
                               (), None)
    record.temporal_activity = {"activity_id": "3", "activity_type": "book_flight", "attempt": 2,
                                "workflow_id": "departure-case_0123456789abcdef", "workflow_run_id": "run-1",
                                "workflow_type": "DepartureWorkflow", "namespace": "default", "task_queue": "tq"}

    line = json.loads(JsonLines().format(record))

    assert line["case_id"] == "case_0123456789abcdef" and line["workflow_id"] == "departure-case_0123456789abcdef"
    assert line["activity_type"] == "book_flight" and line["attempt"] == 2 and line["run_id"] == "run-1"


def test_traces_off_by_default_set_nothing_up() -> None:
    telemetry = Settings(_env_file=None).telemetry  # type: ignore[call-arg]

    assert Tracing.from_settings(telemetry, "api") is None
    assert temporal_interceptors(None) == []
    assert temporal_runtime(telemetry, serve_metrics=True) is None  # the SDK's default runtime: no port bound
