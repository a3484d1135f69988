"""The host-country authority: exit permits take months, and a few are refused."""

from __future__ import annotations

from datetime import datetime

from domain.partner_messages import Decision, ExitPermitRequest, PartnerAck
from partners.simulators.decisions import CallbackDue, DecisionDesk, DeskRules
from partners.simulators.draws import Draws
from partners.simulators.faults import FaultPlan
from partners.simulators.gate import CallGate
from predeparture.settings import SimulatorSettings

PREFIX = "EP"
REFUSAL_REASONS = (
    "security clearance not granted",
    "exit quota for the period exhausted",
    "identity of a traveller could not be verified",
)


class SimulatedExitPermitAuthority:
    role = "exit_permits"

    def __init__(self, settings: SimulatorSettings, faults: FaultPlan | None = None) -> None:
        draws = Draws(settings.seed)
        self.faults = faults or FaultPlan()
        self._gate = CallGate(self.role, settings, self.faults, draws)
        rules = DeskRules(
            partner=self.role,
            delay_min=settings.permit_delay_min,
            delay_max=settings.permit_delay_max,
            refusal_rate=settings.permit_refusal_rate,
            validity=settings.permit_validity,
            refusal_reasons=REFUSAL_REASONS,
        )
        self._desk = DecisionDesk(draws, rules, frozenset({PREFIX}))
        self.requests: dict[str, PartnerAck] = {}
        self.requests_made = 0

    async def request_exit_permit(self, request: ExitPermitRequest, idempotency_key: str) -> PartnerAck:
        call = await self._gate.enter("request_exit_permit", idempotency_key)
        ack = self.requests.get(idempotency_key)
        if ack is None:
            ack = self._desk.acknowledge(PREFIX, idempotency_key, request.requested_at, request.case_id)
            self.requests[idempotency_key] = ack
            self.requests_made += 1
        self._gate.leave(call)
        return ack

    async def exit_permit_status(self, reference: str, as_of: datetime) -> Decision:
        call = await self._gate.enter("exit_permit_status", reference)
        decision = self._desk.decide(reference, as_of)
        self._gate.leave(call)
        return decision

    def due_callbacks(self, as_of: datetime) -> list[CallbackDue]:
        return self._desk.due_callbacks(as_of)
