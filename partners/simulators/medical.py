"""The medical partner's booking desk. It schedules; the clinicians' results come back through the departure's
Updates (see clinician.py for the simulated clinicians).

Deadline rule: when the first ordinary slot falls after the request's deadline, the clinic squeezes the person
into the last slot before it (never before `not_before`); it rejects with "no_slot_before_deadline" only when
the deadline is before `not_before`, i.e. when no time at all is left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.partner_messages import Appointment, AppointmentRequest
from partners.errors import PartnerRejected
from partners.simulators.draws import Draws
from partners.simulators.faults import FaultPlan
from partners.simulators.gate import CallGate
from partners.simulators.references import as_utc, make_reference, render
from predeparture.settings import SimulatorSettings

CLINIC_SLOT = timedelta(minutes=30)
QUEUE_SLOTS = 4  # how many slots later than the first free one a person may land, by the clinic's queue
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ceil_to(moment: datetime, slot: timedelta) -> datetime:
    return _EPOCH - slot * ((_EPOCH - moment) // slot)


def _floor_to(moment: datetime, slot: timedelta) -> datetime:
    return _EPOCH + slot * ((moment - _EPOCH) // slot)


class SimulatedMedicalPartner:
    role = "medical"

    def __init__(self, settings: SimulatorSettings, faults: FaultPlan | None = None) -> None:
        self.settings = settings
        self.draws = Draws(settings.seed)
        self.faults = faults or FaultPlan()
        self._gate = CallGate(self.role, settings, self.faults, self.draws)
        # The demo profile books seconds ahead, so the slot grid shrinks with the lead time.
        self.slot = min(CLINIC_SLOT, settings.appointment_lead)
        self.appointments: dict[str, Appointment] = {}
        self.cancelled_keys: set[str] = set()
        self.appointments_made = 0

    async def schedule_appointment(self, request: AppointmentRequest, idempotency_key: str) -> Appointment:
        call = await self._gate.enter("schedule_appointment", idempotency_key)
        appointment = self.appointments.get(idempotency_key)
        if appointment is None:
            at = self._slot_for(request, idempotency_key)
            reference = render(self.draws, make_reference(self.draws, "APT", at, idempotency_key))
            appointment = Appointment(
                appointment_id=reference,
                person_id=request.person_id,
                kind=request.kind,
                clinic_id=request.clinic_id,
                at=at,
            )
            self.appointments[idempotency_key] = appointment
            self.appointments_made += 1
        self._gate.leave(call)
        return appointment

    async def cancel_appointment(self, idempotency_key: str) -> None:
        call = await self._gate.enter("cancel_appointment", idempotency_key)
        if idempotency_key in self.appointments:
            self.cancelled_keys.add(idempotency_key)
        self._gate.leave(call)

    def _slot_for(self, request: AppointmentRequest, key: str) -> datetime:
        not_before = as_utc(request.not_before)
        deadline = as_utc(request.deadline) if request.deadline is not None else None
        if deadline is not None and deadline < not_before:
            raise PartnerRejected(self.role, "no_slot_before_deadline", "the deadline is before the earliest time")
        at = not_before + self.settings.appointment_lead
        if self.slot > timedelta(0):
            at = _ceil_to(at, self.slot) + self.slot * self.draws.below(QUEUE_SLOTS, "clinic_queue", key)
        if deadline is not None and at > deadline:
            squeezed = _floor_to(deadline - self.slot, self.slot) if self.slot > timedelta(0) else deadline
            at = max(not_before, squeezed)
        return at
