"""Partners' asynchronous answers. Each is idempotent twice over: the audit row is keyed by (role, reference,
status), so a repeat writes nothing, and the departure ignores an answer it has already used."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.service import RPCError, RPCStatusCode

from api.audit import service as audit
from api.callbacks import repository
from api.callbacks.schemas import BookingCallback, CallbackReceipt, DecisionCallback, DecisionStatus
from api.context import ApiContext
from api.principal import Principal, Role
from api.problems import FieldError, ProblemError
from domain import partner_messages
from domain.departure import PartnerDecision, departure_workflow_id
from domain.steps import Step
from workflows.departure import DepartureWorkflow


@dataclass(frozen=True)
class DecisionKind:
    step: Step
    role: Role
    action: str


EXIT_PERMIT = DecisionKind(Step.EXIT_PERMIT, Role.EXIT_PERMIT_AUTHORITY, "callback.exit_permit")
TRAVEL_DOCUMENT = DecisionKind(Step.TRAVEL_DOCUMENT, Role.TRAVEL_DOCUMENT_ISSUER, "callback.travel_document")


def _event_key(role: Role, reference: str, status: str) -> str:
    digest = hashlib.sha256(f"{role.value}\n{reference}\n{status}".encode()).hexdigest()[:40]
    return f"callback:{digest}"


def _require_role(principal: Principal, role: Role) -> None:
    # Checked before the reference is looked up, so another partner learns nothing about which references exist.
    if principal.role is not role:
        raise ProblemError(403, f"only a {role.value} may send this callback")


def _check_decision(body: DecisionCallback) -> None:
    errors = []
    if body.status is DecisionStatus.ISSUED:
        if body.valid_until is None:
            errors.append(FieldError(field="body.valid_until", message="required when issued"))
        if body.document_number is None:
            errors.append(FieldError(field="body.document_number", message="required when issued"))
    if body.valid_from and body.valid_until and body.valid_from > body.valid_until:
        errors.append(FieldError(field="body.valid_until", message="before valid_from"))
    elif body.status is DecisionStatus.ISSUED and body.valid_until and body.valid_until < datetime.now(UTC).date():
        errors.append(FieldError(field="body.valid_until", message="already past: the document could not be used"))
    if errors:
        raise ProblemError(422, "the decision is incomplete", errors=errors)


async def record_decision(context: ApiContext, principal: Principal, kind: DecisionKind, reference: str,
                          body: DecisionCallback) -> CallbackReceipt:
    _require_role(principal, kind.role)
    _check_decision(body)
    awaited = await repository.step_by_reference(context, kind.step, reference)
    if awaited is None:
        return await _record_early_decision(context, principal, kind, reference, body)
    key = _event_key(kind.role, reference, body.status.value)
    received_at = datetime.now(UTC)
    duplicate = await repository.already_recorded(context, key)
    if not duplicate:
        decision = partner_messages.Decision(
            reference=reference, status=partner_messages.DecisionStatus(body.status.value),
            valid_from=body.valid_from, valid_until=body.valid_until, document_number=body.document_number,
            reason=body.reason, decided_at=received_at,
        )
        delivered = await _deliver(context, awaited.case_id, PartnerDecision(reference=reference, decision=decision))
        # Written after the signal: a row means the departure has heard it, so a repeat may skip the signal.
        await audit.record(context, principal, kind.action, "case", awaited.case_id, key=key, step=awaited.step_key,
                           reference=reference, status=body.status.value, delivered=str(delivered).lower())
    return CallbackReceipt(reference=reference, status=body.status.value, received_at=received_at,
                           duplicate=duplicate)


def _decision(reference: str, body: DecisionCallback, received_at: datetime) -> PartnerDecision:
    return PartnerDecision(reference=reference, decision=partner_messages.Decision(
        reference=reference, status=partner_messages.DecisionStatus(body.status.value),
        valid_from=body.valid_from, valid_until=body.valid_until, document_number=body.document_number,
        reason=body.reason, decided_at=received_at))


async def _record_early_decision(context: ApiContext, principal: Principal, kind: DecisionKind, reference: str,
                                 body: DecisionCallback) -> CallbackReceipt:
    """A decision for a reference no step carries yet: the partner answered before its acknowledgement of our
    request reached us (or before the departure recorded it). Given our case id, the departure keeps the decision
    under the reference and uses it as soon as the acknowledgement lands, so the answer is not lost."""
    if body.case_id is None:
        raise ProblemError(404, "no request of ours carries this reference (name our case_id if you answered "
                                "before acknowledging)")
    key = _event_key(kind.role, reference, body.status.value)
    received_at = datetime.now(UTC)
    duplicate = await repository.already_recorded(context, key)
    if not duplicate:
        if not await _deliver(context, body.case_id, _decision(reference, body, received_at)):
            raise ProblemError(404, "no request of ours carries this reference")
        await audit.record(context, principal, kind.action, "case", body.case_id, key=key, step=kind.step.value,
                           reference=reference, status=body.status.value, delivered="true", early="true")
    return CallbackReceipt(reference=reference, status=body.status.value, received_at=received_at,
                           duplicate=duplicate)


async def _deliver(context: ApiContext, case_id: str, decision: PartnerDecision) -> bool:
    """False when the departure has ended and nobody waits for the answer any more."""
    handle = context.temporal.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))
    try:
        await handle.signal(DepartureWorkflow.record_partner_decision, decision)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def record_booking(context: ApiContext, principal: Principal, booking_ref: str,
                         body: BookingCallback) -> CallbackReceipt:
    """Recorded for the coordinator to act on. The departure has no message yet for an airline's cancellation,
    so it keeps its booking until the coordinator defers (which rebooks) or cancels."""
    _require_role(principal, Role.TRAVEL_PARTNER)
    booking = await repository.booking_by_reference(context, booking_ref)
    if booking is None:
        raise ProblemError(404, "no booking of ours carries this reference")
    key = _event_key(Role.TRAVEL_PARTNER, booking_ref, body.status.value)
    duplicate = await repository.already_recorded(context, key)
    if not duplicate:
        await audit.record(context, principal, "callback.booking", "case", booking.case_id, key=key,
                           booking_ref=booking_ref, attempt=str(booking.attempt), status=body.status.value)
    return CallbackReceipt(reference=booking_ref, status=body.status.value, received_at=datetime.now(UTC),
                           duplicate=duplicate)
