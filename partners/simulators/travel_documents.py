"""The issuer of travel documents when no passport will do: an ICRC emergency travel document or a boarding
letter, one per traveller."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.partner_messages import Decision, PartnerAck, TravelDocumentRequest
from partners.simulators.decisions import CallbackDue, DecisionDesk, DeskRules
from partners.simulators.draws import Draws
from partners.simulators.faults import FaultPlan
from partners.simulators.gate import CallGate
from predeparture.settings import SimulatorSettings

PREFIXES = {"emergency_travel_document": "ETD", "boarding_letter": "BL"}
OTHER_KIND_PREFIX = "TD"
REFUSAL_REASONS = (
    "identity could not be established",
    "nationality could not be confirmed",
)


class SimulatedTravelDocumentIssuer:
    role = "travel_documents"

    def __init__(self, settings: SimulatorSettings, faults: FaultPlan | None = None) -> None:
        draws = Draws(settings.seed)
        self.faults = faults or FaultPlan()
        self._gate = CallGate(self.role, settings, self.faults, draws)
        rules = DeskRules(
            partner=self.role,
            delay_min=settings.document_delay_min,
            delay_max=settings.document_delay_max,
            refusal_rate=settings.document_refusal_rate,
            validity=settings.document_validity,
            refusal_reasons=REFUSAL_REASONS,
        )
        self._desk = DecisionDesk(draws, rules, frozenset({*PREFIXES.values(), OTHER_KIND_PREFIX}))
        self.requests: dict[str, PartnerAck] = {}
        self.requests_made = 0

    async def request_travel_document(self, request: TravelDocumentRequest, idempotency_key: str) -> PartnerAck:
        call = await self._gate.enter("request_travel_document", idempotency_key)
        ack = self.requests.get(idempotency_key)
        if ack is None:
            validity = timedelta(days=request.valid_for_days) if request.valid_for_days else None
            ack = self._desk.acknowledge(
                PREFIXES.get(request.kind, OTHER_KIND_PREFIX),
                idempotency_key,
                request.requested_at,
                request.case_id,
                person_id=request.traveller.person_id,
                validity=validity,
            )
            self.requests[idempotency_key] = ack
            self.requests_made += 1
        self._gate.leave(call)
        return ack

    async def travel_document_status(self, reference: str, as_of: datetime) -> Decision:
        call = await self._gate.enter("travel_document_status", reference)
        decision = self._desk.decide(reference, as_of)
        self._gate.leave(call)
        return decision

    def due_callbacks(self, as_of: datetime) -> list[CallbackDue]:
        return self._desk.due_callbacks(as_of)
