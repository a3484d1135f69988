"""The steps before booking: exit permit, travel documents, health assessments, orientation.

Each `ensure_*` is safe to run again: it looks at the step's record and does only what is missing, which is how
a departure resumes after continue-as-new, a deferral, or a validity that lapsed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from temporalio import workflow

from workflows.base import DepartureBase, DepartureRefused, midnight, next_attempt

with workflow.unsafe.imports_passed_through():
    from activities import messages as m
    from activities.partners import PartnerActivities
    from domain.calendar import add_months
    from domain.case import Person
    from domain.partner_messages import AppointmentKind, Decision, DecisionStatus
    from domain.steps import Step, StepState, step_key
    from domain.windows import orientation_validity, passport_validity


class PreparationSteps(DepartureBase):
    async def prepare(self) -> None:
        """Permit, documents and medicals run side by side; orientation follows the permit, because it is
        valid only weeks and the permit is the long wait."""
        await run_all(
            self.ensure_exit_permit_then_orientation(),
            *(self.ensure_travel_document(p) for p in self.case.people),
            *(self.ensure_health_assessment(p) for p in self.case.people),
        )

    async def ensure_exit_permit_then_orientation(self) -> None:
        await self.ensure_exit_permit()
        await self.ensure_orientation()

    def _still_good(self, key: str, earliest: date) -> bool:
        rec = self.record(key)
        lasts = rec.valid_until is None or rec.valid_until >= earliest
        if rec.state in (StepState.DONE, StepState.NOT_REQUIRED) and lasts:
            return True
        if rec.state is StepState.DONE:
            self.update_step(key, state=StepState.EXPIRED, reason=f"validity ended {rec.valid_until}")
        return False

    async def _await_decision(self, reference: str,
                              poll: Callable[[PartnerActivities, m.StatusCall], Awaitable[Decision]]) -> Decision:
        """A partner answers by callback (signal) or, if it never calls, when we ask it again."""
        while True:
            if reference in self.state.callbacks:
                decision = self.state.callbacks.pop(reference)
                break
            if await self.wait_until(lambda: reference in self.state.callbacks,
                                     self.now() + self.policy.partner_poll_interval):
                continue
            decision = await self.call(poll, m.StatusCall(reference=reference, as_of=self.now()))
            if decision.status is not DecisionStatus.PENDING:
                break
        self.state.answered.append(reference)
        return decision

    async def _requested_decision(self, key: str, request: Callable[[int], Awaitable[str]],
                                  poll: Callable[[PartnerActivities, m.StatusCall], Awaitable[Decision]]) -> None:
        rec = self.record(key)
        if rec.state is not StepState.REQUESTED or rec.reference is None:
            attempt = next_attempt(rec)
            self.update_step(key, attempt=attempt)
            reference = await request(attempt)
            self.update_step(key, state=StepState.REQUESTED, reference=reference, reason=None)
            await self.save(key)
        decision = await self._await_decision(self.record(key).reference or "", poll)
        if decision.status is DecisionStatus.REFUSED:
            self.update_step(key, state=StepState.REFUSED, reason=decision.reason or "refused")
            await self.save(key)
            raise DepartureRefused(f"{key} refused: {decision.reason or 'no reason given'}")
        self.update_step(key, state=StepState.DONE, valid_from=decision.valid_from, valid_until=decision.valid_until,
                         document_number=decision.document_number, reason=None)
        await self.save(key)

    async def ensure_exit_permit(self) -> None:
        key = Step.EXIT_PERMIT.value
        if self._still_good(key, self.earliest()):
            return

        async def request(attempt: int) -> str:
            call = m.ExitPermitCall(case_id=self.case.case_id, attempt=attempt, requested_at=self.now())
            return (await self.call(PartnerActivities.request_exit_permit, call)).reference

        await self._requested_decision(key, request, PartnerActivities.check_exit_permit)

    async def ensure_travel_document(self, person: Person) -> None:
        key = step_key(Step.TRAVEL_DOCUMENT, person.person_id)
        earliest = self.earliest()
        if self._still_good(key, earliest):
            return
        passport = person.passport
        window = passport_validity(passport.expires_on, self.policy) if passport else None
        if window is not None and window.end is not None and window.end >= earliest:
            self.update_step(key, state=StepState.DONE, valid_from=None, valid_until=window.end,
                             reference="national passport", reason=None)
            await self.save(key)
            return

        async def request(attempt: int) -> str:
            kind = self.policy.travel_document_kind
            validity = self.policy.boarding_letter_validity_days if kind == "boarding_letter" else None
            call = m.TravelDocumentCall(case_id=self.case.case_id, person_id=person.person_id, kind=kind,
                                        attempt=attempt, requested_at=self.now(), valid_for_days=validity)
            return (await self.call(PartnerActivities.request_travel_document, call)).reference

        await self._requested_decision(key, request, PartnerActivities.check_travel_document)

    async def ensure_health_assessment(self, person: Person) -> None:
        key = step_key(Step.HEALTH_ASSESSMENT, person.person_id)
        earliest = self.earliest()
        if self._still_good(key, earliest):
            return
        # An exam long before a far-off departure would lapse first: examine within the validity before it.
        not_before = max(self.now(), midnight(add_months(earliest, 1 - self.policy.medical_validity_months)))
        kind = AppointmentKind.HEALTH_ASSESSMENT
        while (rec := self.record(key)).state is not StepState.DONE:
            if rec.state in (StepState.NOT_STARTED, StepState.EXPIRED, StepState.CANCELLED):
                await self.sleep_until(not_before)
                await self.schedule(key, person.person_id, kind, next_attempt(rec), not_before, None)
            elif rec.state is StepState.BLOCKED and rec.reference is None:
                # TB class A: treatment first, then a new examination, which clears or blocks again.
                await self.schedule(key, person.person_id, kind, rec.attempt + 1, self.now(), None,
                                    state=StepState.BLOCKED)
            else:
                await workflow.wait_condition(lambda: self.record(key) is not rec)

    async def schedule(self, key: str, person_id: str, kind: AppointmentKind, attempt: int, not_before: datetime,
                       deadline: datetime | None, state: StepState = StepState.SCHEDULED) -> None:
        self.update_step(key, attempt=attempt)
        call = m.AppointmentCall(case_id=self.case.case_id, person_id=person_id, kind=kind, clinic_id=self.clinic_id,
                                 attempt=attempt, not_before=not_before, deadline=deadline)
        appointment = await self.call(PartnerActivities.schedule_appointment, call)
        reason = self.record(key).reason if state is StepState.BLOCKED else None
        self.update_step(key, state=state, reference=appointment.appointment_id, due_by=deadline or appointment.at,
                         reason=reason)
        await self.save(key)

    async def ensure_orientation(self) -> None:
        key = Step.ORIENTATION.value
        while not self._still_good(key, self.earliest()):
            rec = self.record(key)
            if rec.state is not StepState.SCHEDULED:
                attempt = next_attempt(rec)
                # Orientation counts only in the weeks before departure, so aim for a session close to it.
                lead = timedelta(days=self.policy.orientation_within_days // 2)
                not_before = max(self.now(), midnight(self.earliest() - lead))
                self.update_step(key, attempt=attempt)
                self.state.open_seat_attempt = attempt
                seat = await self.call(PartnerActivities.reserve_orientation_seat,
                                       m.SeatCall(case_id=self.case.case_id, attempt=attempt, not_before=not_before))
                self.update_step(key, state=StepState.SCHEDULED, reference=seat.reservation_id,
                                 due_by=seat.ends_at, reason=None)
                await self.save(key)
            rec = self.record(key)
            await self.sleep_until(rec.due_by or self.now())
            attendance = await self.call(PartnerActivities.check_orientation_attendance,
                                         m.StatusCall(reference=rec.reference or "", as_of=self.now()))
            if attendance.attended is None:
                await self.sleep(timedelta(hours=1))
                continue
            self.state.open_seat_attempt = None
            if attendance.attended:
                window = orientation_validity(attendance.completed_on or self.today(), self.policy)
                self.update_step(key, state=StepState.DONE, valid_from=window.start, valid_until=window.end)
            else:
                self.update_step(key, state=StepState.EXPIRED, reason="the family did not attend; rebooked")
            await self.save(key)


async def run_all(*steps: Awaitable[None]) -> None:
    """Run steps side by side; if one fails, the others stop too, instead of running on unobserved."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
