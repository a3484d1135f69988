"""schemathesis against the OpenAPI document the app serves: every operation fuzzed, as the audience that may use
it and with a real token, with data that fits the schema and data that does not. No answer may be a 5xx, and
every answer must match the document: a documented status code, a documented content type, a body that fits
the documented schema.

The app runs on this test's event loop, next to the store, the Temporal client and the worker that the
departures need; Hypothesis runs in a thread and hands each request to that loop. Generated path ids are
sometimes swapped for real ones (office A's case, its people, the partners' references, the booking), so the
answers include real cases, timelines, manifests, medical files and workflow Updates, not only 404s."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.principal import Role
from tests.api_harness import (
    FAST_PARTNERS,
    Cast,
    Scene,
    bearer,
    drive_to_manifest,
    file_papers,
    harness_settings,
    idle_departure,
    serving,
    sign_in,
)
from tests.departure_harness import open_world

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
POSITIVE_EXAMPLES = 60  # per operation, data that fits the schema
NEGATIVE_EXAMPLES = 30  # per operation, data that does not
MINIMUM_REQUESTS = 1000
REQUEST_TIMEOUT = 30.0  # seconds; a request that hangs is a failure, not a stuck test

# Who fuzzes each operation: the audience that may use it. None: no token (the token endpoint itself).
AUDIENCE: dict[str, Role | None] = {
    "POST /auth/token": None,
    # Without `token` it revokes the caller's own bearer token: each request gets a fresh token of its own.
    "POST /auth/revoke": Role.COORDINATOR,
    "POST /cases": Role.COORDINATOR,
    "GET /cases": Role.COORDINATOR,
    "GET /cases/{case_id}": Role.COORDINATOR,
    "PUT /cases/{case_id}": Role.COORDINATOR,
    "GET /cases/{case_id}/timeline": Role.COORDINATOR,
    "POST /cases/{case_id}/departure": Role.COORDINATOR,
    "POST /cases/{case_id}/departure/defer": Role.COORDINATOR,
    "POST /cases/{case_id}/departure/date": Role.COORDINATOR,
    "POST /cases/{case_id}/departure/cancel": Role.COORDINATOR,
    "GET /audit": Role.COORDINATOR,
    "GET /medical/worklist": Role.MEDICAL_PARTNER,
    "POST /medical/cases/{case_id}/assessments": Role.MEDICAL_PARTNER,
    "POST /medical/cases/{case_id}/screenings": Role.MEDICAL_PARTNER,
    "POST /medical/cases/{case_id}/fitness-checks": Role.MEDICAL_PARTNER,
    "GET /medical/cases/{case_id}/people/{person_id}": Role.MEDICAL_PARTNER,
    "GET /arrivals": Role.RECEPTION_TEAM,
    "GET /arrivals/{case_id}/manifest": Role.RECEPTION_TEAM,
    "POST /callbacks/exit-permits/{reference}": Role.EXIT_PERMIT_AUTHORITY,
    "POST /callbacks/travel-documents/{reference}": Role.TRAVEL_DOCUMENT_ISSUER,
    "POST /callbacks/bookings/{booking_ref}": Role.TRAVEL_PARTNER,
    "GET /cases/{case_id}/documents": Role.COORDINATOR,
    "GET /documents/{document_id}": Role.COORDINATOR,
    "GET /documents/{document_id}/pdf": Role.COORDINATOR,
    "GET /movements/{movement_id}/manifests/{organisation_id}": Role.RECEPTION_TEAM,
    "GET /movements/{movement_id}/manifests/{organisation_id}/manifest.csv": Role.RECEPTION_TEAM,
    "GET /movements/{movement_id}/manifests/{organisation_id}/manifest.pdf": Role.RECEPTION_TEAM,
    "GET /movements/{movement_id}/manifests/{organisation_id}/versions": Role.RECEPTION_TEAM,
    "GET /verify/{reference}": None,
    "GET /partners/contract.json": None,
    "GET /movements/{movement_id}": Role.RECEPTION_TEAM,
    "POST /movements/{movement_id}/boarding": Role.COORDINATOR,
    "POST /movements/{movement_id}/arrival": Role.RECEPTION_TEAM,
    "GET /reception/webhook": Role.RECEPTION_TEAM,
    "PUT /reception/webhook": Role.RECEPTION_TEAM,
    "POST /charters": Role.COORDINATOR,
    "POST /charters/{movement_id}/proposal": Role.COORDINATOR,
    "POST /charters/{movement_id}/allocation": Role.COORDINATOR,
}
FRESH_TOKEN_EACH_TIME = {"POST /auth/revoke"}
# Operations that take no parameter and no body: no request to them can be malformed, so there is no negative case.
NOTHING_TO_BREAK = {"GET /reception/webhook", "GET /partners/contract.json"}
# Updates to a running departure. Aimed at office A's case, each goes once to a quiet departure of its own
# (api_harness.idle_departure says why), and after that to office B's case.
DEPARTURE_CHANGES = {"POST /cases/{case_id}/departure/defer", "POST /cases/{case_id}/departure/date",
                     "POST /cases/{case_id}/departure/cancel"}
DECISION_CALLBACKS = {"POST /callbacks/exit-permits/{reference}", "POST /callbacks/travel-documents/{reference}"}
# Operations whose answers depend only on the fixtures, so some request of each must succeed. The rest (results
# for steps already closed, changes to a departure) succeed only while the departure is in the right state.
MUST_SUCCEED = {label for label in AUDIENCE if label.startswith("GET ")} | {
    "POST /auth/token", "POST /auth/revoke", "POST /cases", "POST /cases/{case_id}/departure",
    "POST /callbacks/exit-permits/{reference}", "POST /callbacks/travel-documents/{reference}",
    "POST /callbacks/bookings/{booking_ref}"}


def run_order(label: str) -> tuple[int, str]:
    """Reads first, then results, callbacks and new cases; then the changes that replan office A's departure
    (cancelling its flight and appointments), and its cancellation last, after which all about it is a 409."""
    method, path = label.split(" ", 1)
    if path.endswith("/departure/cancel"):
        return 3, label
    if path.endswith(("/departure/defer", "/departure/date")) or method == "PUT":
        return 2, label
    return (0 if method == "GET" else 1), label


def known_ids(scene: Scene, label: str = "") -> dict[str, list[str]]:
    """Real values for the path parameters of these names: office A's, and office B's case (a 404 for A)."""
    known = {
        "case_id": [scene.case_id, scene.other_case_id],
        "person_id": [scene.principal, scene.spouse],
        "reference": [scene.exit_permit_reference, scene.travel_document_reference],
        "booking_ref": [scene.booking_ref],
    }
    if scene.papers is not None:  # the medical summary is a 404 for the coordinator
        papers = scene.papers
        known["document_id"] = [papers.travel_pack, papers.medical_summary, papers.manifest]
        if label.startswith("GET /verify/"):  # a printed reference, not a partner's
            known["reference"] = [papers.travel_pack, papers.manifest]
        known["movement_id"] = [papers.movement_id]
        known["organisation_id"] = [papers.organisation_id, f"{papers.organisation_id}-elsewhere"]
    return known


@dataclass
class Changes:
    """Where each of DEPARTURE_CHANGES goes the one time it reaches a departure for real."""

    quiet: dict[str, str]  # operation -> case id of its own quiet departure
    sent: set[str] = field(default_factory=set)

    def target(self, label: str, scene: Scene) -> str:
        if label in self.sent:
            return scene.other_case_id
        self.sent.add(label)
        return self.quiet[label]


def steer(case: schemathesis.Case, data: st.DataObject, scene: Scene, cast: Cast, changes: Changes) -> None:
    """For about three requests in four, swaps generated values for real ones, so that they reach real objects and
    get past the rules a schema cannot state (one principal per family, a date the departure's clock accepts).
    Then, for about one in four, puts a NUL byte into one string: PostgreSQL refuses NUL in text, so every such value
    must be refused with a 4xx before it reaches the store or a departure."""
    if data.draw(st.integers(0, 3), label="realistic") != 0:
        use_real_values(case, data, scene, cast, changes)
    if data.draw(st.integers(0, 3), label="a NUL byte") == 0:
        add_nul(case, data)


def add_nul(case: schemathesis.Case, data: st.DataObject) -> None:
    places: list[tuple[dict[str, Any], str, str]] = []  # (container, key, how a NUL is written there)
    for container, nul in ((case.path_parameters, "%00"), (case.query, "\x00"), (case.body, "\x00")):
        if isinstance(container, dict):
            places += [(container, key, nul) for key, value in container.items() if isinstance(value, str)]
    if places:
        container, key, nul = data.draw(st.sampled_from(places), label="where the NUL goes")
        container[key] += nul


def use_real_values(case: schemathesis.Case, data: st.DataObject, scene: Scene, cast: Cast,
                    changes: Changes) -> None:
    path = case.path_parameters or {}
    for name, values in known_ids(scene, case.operation.label).items():
        if name in path:
            path[name] = data.draw(st.sampled_from(values), label=f"real {name}")
    label = case.operation.label
    if label in DEPARTURE_CHANGES and path.get("case_id") == scene.case_id:
        path["case_id"] = changes.target(label, scene)
    body = case.body
    if not isinstance(body, dict):
        return
    today = datetime.now(UTC).date()
    real = {
        "person_id": lambda: data.draw(st.sampled_from([scene.principal, scene.spouse])),
        "not_before": lambda: (scene.today + timedelta(days=data.draw(st.integers(0, 1800)))).isoformat(),
        "date": lambda: (scene.today + timedelta(days=data.draw(st.integers(0, 1800)))).isoformat(),
        "exam_date": lambda: scene.exam_day.isoformat(),
        "screened_on": lambda: scene.screened_on.isoformat(),
        "checked_at": lambda: scene.now.isoformat(),
        "valid_from": lambda: today.isoformat(),
        "valid_until": lambda: (today + timedelta(days=300)).isoformat(),
    }
    for name, value in real.items():
        if name in body:
            body[name] = value()
    people = body.get("people")
    if isinstance(people, list) and people and all(isinstance(person, dict) for person in people):
        as_family(body, people, scene)
    if label in DECISION_CALLBACKS and body.get("status") == "issued":
        # An issued document has a number and an end date (the API refuses one without, as the contract says).
        body["valid_until"] = real["valid_until"]()
        if not isinstance(body.get("document_number"), str):
            body["document_number"] = "EP-448120"
    if "grant_type" in body:
        role = data.draw(st.sampled_from([Role.COORDINATOR, Role.TRAVEL_PARTNER]), label="who signs in")
        body.update(cast.of(role).credentials())


def as_family(body: dict[str, Any], people: list[dict[str, Any]], scene: Scene) -> None:
    """One principal, the rest spouse and children, approved after everyone was born; for an update, office A's
    people keep their ids."""
    for index, person in enumerate(people):
        person["relationship"] = "principal" if index == 0 else "spouse" if index == 1 else "child"
        if "person_id" in person:
            person["person_id"] = scene.case.people[index].person_id if index < len(scene.case.people) else None
    births = [p.get("date_of_birth") for p in people]
    if all(isinstance(birth, str) for birth in births):
        body["approved_on"] = max(births)


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)  # (operation, kind) -> first report

    def fail(self, label: str, kind: str, report: str) -> None:
        self.failures.setdefault((label, kind), report[:3000])


def prepared(case: schemathesis.Case, headers: dict[str, str]) -> requests.PreparedRequest | None:
    """The request exactly as schemathesis would send it with `requests` (query, JSON, form or raw body)."""
    kwargs = case.as_transport_kwargs(base_url="http://test", headers=headers)
    allowed = {"method", "url", "headers", "params", "data", "json", "cookies", "files"}
    try:
        return requests.Request(**{k: v for k, v in kwargs.items() if k in allowed}).prepare()
    except (UnicodeError, ValueError, TypeError):
        return None  # not sendable over HTTP at all (a lone surrogate in a form field): nothing to test


def fuzz(schema: Any, send: Callable[[requests.PreparedRequest], httpx.Response],
         headers_for: Callable[[str], dict[str, str]], scene: Scene, cast: Cast, changes: Changes,
         tally: Tally) -> None:
    """Runs in a thread: Hypothesis drives the generation, `send` runs each request on the app's event loop."""
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: run_order(op.label))
    for operation in operations:
        label = operation.label
        for mode, examples in ((schemathesis.GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
                               (schemathesis.GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)):

            @settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=False,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(mode), data=st.data())
            def exercise(case: schemathesis.Case, data: st.DataObject) -> None:
                steer(case, data, scene, cast, changes)
                # Run within this iteration of the loop (below), so `label` is this operation's.
                request = prepared(case, headers_for(label))  # noqa: B023
                if request is None:
                    return
                try:
                    response = send(request)
                except Exception as error:  # a hang or a transport error: the app never answered
                    tally.fail(label, type(error).__name__, f"{request.method} {request.url}: {error!r}")  # noqa: B023
                    return
                tally.requests += 1
                tally.statuses[(label, response.status_code)] += 1  # noqa: B023
                try:
                    case.validate_response(response, checks=CHECKS, headers=dict(request.headers))
                except FailureGroup as failures:  # each broken check, with a curl to replay the request
                    kinds = ", ".join(sorted({type(failure).__name__ for failure in failures.exceptions}))
                    tally.fail(label, f"{response.status_code} {kinds}", str(failures))  # noqa: B023

            if mode is schemathesis.GenerationMode.NEGATIVE and label in NOTHING_TO_BREAK:
                with contextlib.suppress(Unsatisfiable):
                    exercise()
                continue
            exercise()


async def test_the_api_answers_generated_requests_as_its_openapi_document_says(
    database_url: str, tmp_path: Path
) -> None:
    async with open_world(database_url, f"tq-fuzz-{uuid.uuid4().hex[:8]}", FAST_PARTNERS) as world:
        settings_ = harness_settings(tmp_path, world.task_queue, rate_limits_enabled=False)
        async with serving(settings_, world.store, world.client) as (_, http):
            cast = await Cast.enrol(world.store, http)
            scene = await drive_to_manifest(world, http, cast)
            scene = replace(scene, papers=await file_papers(world.store, scene, cast))
            changes = Changes({label: await idle_departure(world, http, cast) for label in sorted(DEPARTURE_CHANGES)})
            document = (await http.get("/openapi.json")).json()
            schema = schemathesis.openapi.from_dict(document)
            labels = {result.ok().label for result in schema.get_all_operations()}
            assert labels == AUDIENCE.keys(), "every operation needs an audience to fuzz it as"

            loop = asyncio.get_running_loop()

            async def call(request: requests.PreparedRequest) -> httpx.Response:
                body = request.body.encode() if isinstance(request.body, str) else request.body
                return await asyncio.wait_for(
                    http.request(request.method or "GET", request.url or "", headers=dict(request.headers),
                                 content=body), REQUEST_TIMEOUT)

            def send(request: requests.PreparedRequest) -> httpx.Response:
                return asyncio.run_coroutine_threadsafe(call(request), loop).result()

            def headers_for(label: str) -> dict[str, str]:
                role = AUDIENCE[label]
                if role is None:
                    return {}
                identity = cast.of(role)
                if label in FRESH_TOKEN_EACH_TIME:
                    token = asyncio.run_coroutine_threadsafe(sign_in(http, identity), loop).result()
                    return bearer(token)
                return bearer(cast.tokens[identity])

            tally = Tally()
            await asyncio.to_thread(fuzz, schema, send, headers_for, scene, cast, changes, tally)

    summary = "\n".join(f"{label}: {status} x{count}" for (label, status), count in sorted(tally.statuses.items()))
    print(f"{tally.requests} requests\n{summary}")  # shown with -rP: what the run reached
    assert not tally.failures, "\n\n".join(f"== {label} ({kind})\n{report}"
                                           for (label, kind), report in tally.failures.items()) + "\n" + summary
    assert tally.requests >= MINIMUM_REQUESTS, summary
    succeeded = {label for (label, status), _ in tally.statuses.items() if 200 <= status < 300}
    assert MUST_SUCCEED <= succeeded, f"never succeeded: {sorted(MUST_SUCCEED - succeeded)}\n{summary}"
