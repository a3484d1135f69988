"""`predeparture partners-sim`: the partner side of the published contract as an HTTP service of its own.

Behind each route sits the ordinary in-process simulator of that role (same seed, same answers), so the network
path differs from the in-process one only by the network: what FaultLayer injects, and callbacks that travel
over HTTP, signed. `/admin/*` sets the faults at run time and reports what the partners did (each side effect
counted once per idempotency key, which is what the fault tests check)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from partners.contract.routes import IDEMPOTENCY_KEY, KEY_PATTERN, OPERATIONS, Cancellation, Operation
from partners.errors import PartnerRejected, PartnerUnavailable
from partners.simulators import (
    FaultPlan,
    SimulatedExitPermitAuthority,
    SimulatedMedicalPartner,
    SimulatedOrientationPartner,
    SimulatedTravelDocumentIssuer,
    SimulatedTravelPartner,
)
from predeparture.partners_sim_callbacks import CallbackClient, CallbackSender, collect
from predeparture.partners_sim_faults import FaultLayer, FaultState, NetworkFaults
from predeparture.settings import SimulatorSettings

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_KEY = re.compile(KEY_PATTERN)
CALLBACK_INTERVAL_SECONDS = 1.0


@dataclass
class PartnerSimConfig:
    simulator: SimulatorSettings
    api_keys: dict[str, str]  # role -> the credential our adapters present
    callback_api_url: str | None = None  # our API; None: no callbacks pushed
    callback_clients: dict[str, CallbackClient] = field(default_factory=dict)
    admin_token: str | None = None
    callback_interval: float | None = CALLBACK_INTERVAL_SECONDS  # None: only on POST /admin/callbacks


class SimulatedPartners:
    def __init__(self, settings: SimulatorSettings) -> None:
        plan = FaultPlan()
        self.by_role: dict[str, Any] = {
            "exit_permits": SimulatedExitPermitAuthority(settings, plan),
            "travel_documents": SimulatedTravelDocumentIssuer(settings, plan),
            "medical": SimulatedMedicalPartner(settings, plan),
            "orientation": SimulatedOrientationPartner(settings, plan),
            "travel": SimulatedTravelPartner(settings, plan),
        }

    def side_effects(self) -> dict[str, int]:
        """How many times each partner acted; a retried request (same key) counts once."""
        p = self.by_role
        return {
            "exit_permits.request_exit_permit": p["exit_permits"].requests_made,
            "travel_documents.request_travel_document": p["travel_documents"].requests_made,
            "medical.schedule_appointment": p["medical"].appointments_made,
            "medical.cancel_appointment": len(p["medical"].cancelled_keys),
            "orientation.reserve_seat": p["orientation"].reservations_made,
            "orientation.release_seat": len(p["orientation"].released_keys),
            "travel.book_flight": p["travel"].bookings_made,
            "travel.cancel_booking": len(p["travel"].cancelled_keys),
        }


def _problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": detail, "status": status, "code": code, "detail": detail,
            "retryable": status in (429, 503)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class _Refused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def _endpoint(op: Operation, partners: SimulatedPartners, config: PartnerSimConfig,
              calls: dict[str, int]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        calls[op.operation_id] = calls.get(op.operation_id, 0) + 1
        try:
            _authorise(request, config.api_keys.get(op.role))
            answer = await _act(op, partners.by_role[op.role], request)
        except _Refused as refused:
            return refused.response
        except PartnerRejected as rejected:
            return _problem(422, rejected.code, rejected.reason)
        except PartnerUnavailable:
            return _problem(503, "unavailable", "try again later", {"Retry-After": "1"})
        except (ArithmeticError, ValueError):
            # Well-formed but beyond what the partner can work with (a date in year 570 in a +22:16 zone): a real
            # partner's answer is a final refusal, not a crash.
            log.info("%s: request the simulated partner cannot process", op.operation_id, exc_info=True)
            return _problem(422, "cannot_process", "the partner cannot process these values")
        if answer is None:
            return Response(status_code=204)
        return JSONResponse(answer.model_dump(mode="json"), status_code=op.status)

    endpoint.__name__ = op.operation_id.replace(".", "_")
    return endpoint


def _authorise(request: Request, expected: str | None) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if expected is None or scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise _Refused(_problem(401, "unauthenticated", "missing or wrong credential"))


async def _act(op: Operation, partner: Any, request: Request) -> BaseModel | None:
    method = getattr(partner, op.name)
    if not op.side_effect:
        reference = request.path_params[op.path_parameter or ""]
        if not _KEY.match(reference):
            raise _Refused(_problem(400, "invalid_reference", f"{op.path_parameter} is not a reference"))
        try:
            as_of = datetime.fromisoformat(request.query_params["as_of"])
        except (KeyError, ValueError):
            raise _Refused(_problem(400, "invalid_as_of", "as_of must be an ISO 8601 date-time")) from None
        return await method(reference, as_of)  # type: ignore[no-any-return]
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None or not _KEY.match(key):
        raise _Refused(_problem(400, "idempotency_key_required", f"{IDEMPOTENCY_KEY} is missing or malformed"))
    assert op.request is not None
    try:
        body = op.request.model_validate_json(await request.body())
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in error.errors()})
        raise _Refused(_problem(400, "invalid_request", "invalid fields: " + ", ".join(fields)[:400])) from None
    if isinstance(body, Cancellation):
        await method(body.request_key)
        return None
    return await method(body, key)  # type: ignore[no-any-return]


def create_partners_sim(config: PartnerSimConfig, faults: FaultState | None = None,
                        sender: CallbackSender | None = None) -> FastAPI:
    partners = SimulatedPartners(config.simulator)
    state = faults or FaultState()
    if sender is None and config.callback_api_url:
        sender = CallbackSender(config.callback_api_url, config.callback_clients, state)
    calls: dict[str, int] = {}

    async def push(as_of: datetime) -> int:
        if sender is None:
            return 0
        due = collect(partners.by_role, as_of)
        await sender.send(due)
        return len(due)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        if sender is not None and config.callback_interval:
            task = asyncio.create_task(_pump(push, config.callback_interval), name="partner-callbacks")
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if sender is not None:
                await sender.aclose()

    app = FastAPI(title="predeparture partner simulator", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.partners = partners
    app.state.faults = state
    app.state.sender = sender
    app.state.calls = calls
    for op in OPERATIONS:
        app.add_api_route(op.path, _endpoint(op, partners, config, calls), methods=[op.method],
                          include_in_schema=False)

    def admin(request: Request) -> None:
        if config.admin_token is not None:
            _authorise(request, config.admin_token)

    @app.put("/admin/faults", include_in_schema=False)
    async def set_faults(request: Request, faults: NetworkFaults) -> Response:
        try:
            admin(request)
        except _Refused as refused:
            return refused.response
        state.set(faults)
        return JSONResponse(faults.model_dump(mode="json"))

    @app.get("/admin/stats", include_in_schema=False)
    async def stats(request: Request) -> Response:
        try:
            admin(request)
        except _Refused as refused:
            return refused.response
        return JSONResponse({
            "side_effects": partners.side_effects(), "calls": dict(calls), "injected": dict(state.injected),
            "callbacks_sent": [list(item) for item in sender.sent] if sender else [],
            "callbacks_refused": [list(item) for item in sender.refused] if sender else [],
        })

    @app.post("/admin/callbacks", include_in_schema=False)
    async def send_callbacks(request: Request, as_of: datetime | None = None) -> Response:
        """Push the decisions due by `as_of` now (tests whose clock is not the wall clock)."""
        try:
            admin(request)
        except _Refused as refused:
            return refused.response
        return JSONResponse({"due": await push(as_of or datetime.now(UTC))})

    roles = {op.path.strip("/").split("/", 1)[0]: op.role for op in OPERATIONS}
    app.add_middleware(_Faults, state=state, roles=roles)
    return app


class _Faults(FaultLayer):
    def __init__(self, app: Any, state: FaultState, roles: dict[str, str]) -> None:
        super().__init__(app, state, roles)


async def _pump(push: Callable[[datetime], Awaitable[int]], interval: float) -> None:
    while True:
        try:
            await push(datetime.now(UTC))
        except Exception:  # one bad round must not stop the callbacks that follow
            log.exception("partner callback round failed")
        await asyncio.sleep(interval)
