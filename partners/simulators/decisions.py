"""The desk of a slow authority (exit permits, travel documents): it acknowledges a request at once and decides
weeks or months later. The decision is drawn from the reference alone, so any process can answer a status call."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.partner_messages import Decision, DecisionStatus, PartnerAck
from partners.errors import PartnerRejected
from partners.simulators.draws import Draws, from_base36, to_base36
from partners.simulators.references import Reference, as_utc, make_reference, parse, render


@dataclass(frozen=True)
class CallbackDue:
    """A decision the partner would now push to us; a later component signals the departure with it."""

    case_id: str
    reference: str
    decision: Decision
    person_id: str | None = None


@dataclass(frozen=True)
class DeskRules:
    partner: str
    delay_min: timedelta
    delay_max: timedelta
    refusal_rate: float
    validity: timedelta
    refusal_reasons: tuple[str, ...]


class DecisionDesk:
    def __init__(self, draws: Draws, rules: DeskRules, prefixes: frozenset[str]) -> None:
        self.draws = draws
        self.rules = rules
        self.prefixes = prefixes
        self._awaiting: list[tuple[datetime, str, str, str | None]] = []  # heap of (decided_at, ref, case, person)

    def acknowledge(
        self,
        prefix: str,
        key: str,
        requested_at: datetime,
        case_id: str,
        person_id: str | None = None,
        validity: timedelta | None = None,
    ) -> PartnerAck:
        # A validity the request sets travels inside the reference, since the decision is read from it alone.
        extras = (to_base36(int(validity.total_seconds())),) if validity is not None else ()
        reference = make_reference(self.draws, prefix, requested_at, key, extras)
        text = render(self.draws, reference)
        heapq.heappush(self._awaiting, (self._decided_at(reference), text, case_id, person_id))
        return PartnerAck(reference=text, received_at=as_utc(requested_at))

    def decide(self, text: str, as_of: datetime) -> Decision:
        reference = parse(self.draws, text, self.prefixes)
        if reference is None or len(reference.extras) > 1:
            raise PartnerRejected(self.rules.partner, "unknown_reference", "no request with this reference")
        decided_at = self._decided_at(reference)
        if as_utc(as_of) < decided_at:
            return Decision(reference=text, status=DecisionStatus.PENDING)
        if self.draws.chance(self.rules.refusal_rate, "refused", text):
            reason = self.draws.pick(self.rules.refusal_reasons, "refusal_reason", text)
            return Decision(reference=text, status=DecisionStatus.REFUSED, reason=reason, decided_at=decided_at)
        validity = self._validity(reference)
        return Decision(
            reference=text,
            status=DecisionStatus.ISSUED,
            valid_from=decided_at.date(),
            valid_until=(decided_at + validity).date(),
            document_number=f"{reference.prefix}{self.draws.below(10**8, 'document_number', text):08d}",
            decided_at=decided_at,
        )

    def due_callbacks(self, as_of: datetime) -> list[CallbackDue]:
        """Each decision that fell due by `as_of` for a request seen in this process, handed out once."""
        due = []
        while self._awaiting and self._awaiting[0][0] <= as_utc(as_of):
            _, text, case_id, person_id = heapq.heappop(self._awaiting)
            due.append(CallbackDue(case_id, text, self.decide(text, as_of), person_id))
        return due

    def _decided_at(self, reference: Reference) -> datetime:
        core = (reference.prefix, reference.at, reference.body)
        return reference.at + self.draws.between(self.rules.delay_min, self.rules.delay_max, "delay", *core)

    def _validity(self, reference: Reference) -> timedelta:
        if reference.extras:
            return timedelta(seconds=from_base36(reference.extras[0]))
        return self.rules.validity
