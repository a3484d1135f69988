"""Booking, the checks before boarding, the flight itself, and undoing a booking."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.base import DepartureBase, rejection_code
from workflows.paperwork import Paperwork
from workflows.preparation import PreparationSteps

with workflow.unsafe.imports_passed_through():
    from activities import messages as m
    from activities.partners import BookingCall, PartnerActivities
    from domain.departure import BookingRecord, BookingStatus, Deferral, Phase
    from domain.movement import CharterAssignment
    from domain.partner_messages import AppointmentKind, CharterFlight, FlightBooking
    from domain.planning import charter_assignment_problem
    from domain.steps import MEDICAL_STEPS, Step, StepRecord, StepState, step_key
    from domain.windows import feasible_window, plan_redo

FLIGHT_POLL = timedelta(hours=1)
CHARTER_PATCH = "charter-assignment"


class FlightSteps(PreparationSteps, Paperwork, DepartureBase):
    # The charter a coordinator allocated the family to, until the family holds its seats (then the booking says
    # it). Never carried over by continue-as-new: a departure does not roll over while it holds one.
    charter: CharterAssignment | None = None

    def mark_lapsed(self) -> bool:
        """Steps whose validity no longer meets the others are set to be redone. False if there were none."""
        lapsed = plan_redo(self.state.steps.values(), self.earliest())
        for rec in lapsed:
            self.update_step(rec.key, state=StepState.EXPIRED,
                             reason=f"valid until {rec.valid_until}, before the earliest possible flight")
        return bool(lapsed)

    async def book(self) -> FlightBooking | None:
        """Book the first flight inside every validity window, or the charter the family was allocated to; None
        if the windows close before one is found."""
        if self.charter is not None:
            booked = await self._book_charter(self.charter)
            if booked is not None:
                return booked
        search_from = self.earliest()
        while (window := feasible_window(self.state.steps.values(), search_from)) is not None:
            attempt = self.state.booking_attempt + 1
            self.state.booking_attempt = attempt
            self.state.open_booking_attempt = attempt
            call = m.FlightCall(case_id=self.case.case_id, attempt=attempt, earliest=window.start, latest=window.end,
                                requested_at=self.now())
            try:
                booking = await self.call(PartnerActivities.book_flight, call)
            except ActivityError as error:
                if rejection_code(error) != "no_seats":
                    raise
                self.state.open_booking_attempt = None
                search_from = window.start + timedelta(days=1)
                continue
            if not window.contains(booking.departs_at.date()):
                await self.cancel_booking(attempt, booking, "outside the validity windows")
                search_from = window.start + timedelta(days=1)
                continue
            return await self._hold(attempt, booking)
        return None

    async def _hold(self, attempt: int, booking: FlightBooking) -> FlightBooking:
        self.state.booking = booking
        key = Step.FLIGHT_BOOKING.value
        self.update_step(key, state=StepState.DONE, reference=booking.booking_ref, attempt=attempt,
                         valid_from=booking.departs_at.date(), valid_until=booking.departs_at.date(), reason=None)
        self._open_pre_embarkation_steps(booking)
        self.set_phase(Phase.AWAITING_FLIGHT)
        record = BookingRecord(attempt=attempt, idempotency_key=m.flight_key(self.case.case_id, attempt),
                               status=BookingStatus.BOOKED, booking=booking)
        await self.save(key, *self._pre_embarkation_keys(), bookings=[record])
        self.issue_booking_papers(booking)
        return booking

    # -- charters --------------------------------------------------------------------------------------------
    async def take_charter(self, assignment: CharterAssignment) -> str | None:
        """A coordinator allocated the family to a charter: the next booking is on that flight. Returns why the
        departure cannot take it, or None. A booking attempt under way for a scheduled flight is given back first,
        whatever the partner made of it, so the family never holds two flights."""
        workflow.patched(CHARTER_PATCH)
        problem = charter_assignment_problem(self.case, self.state, assignment, self.charter_id(), self.today())
        if problem is not None or self.state.booking is not None:
            return problem  # a booking here is this very charter's: taken already
        if self.state.open_booking_attempt is not None:
            await self.call(PartnerActivities.cancel_flight,
                            m.Compensation(case_id=self.case.case_id, attempt=self.state.open_booking_attempt))
            self.state.open_booking_attempt = None
        self.charter = assignment
        await self.save(events=[self.audit_event("departure.charter_assigned", "case", self.case.case_id,
                                                 movement=assignment.movement_id, by=assignment.assigned_by)])
        return None

    def charter_id(self) -> str | None:
        return self.charter.movement_id if self.charter is not None else None

    async def _book_charter(self, assignment: CharterAssignment) -> FlightBooking | None:
        """Seats on the allocated charter, if its date still suits the family; else the charter is given up and
        the family's seats on it released, and the departure books as it would have without one."""
        day = assignment.departs_on
        window = feasible_window(self.state.steps.values(), max(self.today(), self.state.not_before or day.min))
        if window is None or not window.contains(day):
            await self.give_up_charter(f"the family's validity windows no longer meet on {day}")
            return None
        attempt = self.state.booking_attempt + 1
        self.state.booking_attempt = attempt
        self.state.open_booking_attempt = attempt
        flight = assignment.flight
        call = BookingCall(case_id=self.case.case_id, attempt=attempt, earliest=window.start, latest=window.end,
                           requested_at=self.now(),
                           charter=CharterFlight(flight_number=flight.flight_number, departs_at=flight.departs_at,
                                                 arrives_at=flight.arrives_at, origin=flight.origin))
        try:
            booking = await self.call(PartnerActivities.book_flight, call)
        except ActivityError as error:
            code = rejection_code(error)
            if code is None:
                raise
            self.state.open_booking_attempt = None
            await self.give_up_charter(f"the travel partner refused the charter: {code}")
            return None
        self.charter = None
        return await self._hold(attempt, booking)

    async def give_up_charter(self, reason: str) -> None:
        """The family does not fly on its charter after all: its seats go back to the movement."""
        assignment, self.charter = self.charter, None
        if assignment is None:
            return
        await self.save(events=[self.audit_event("departure.charter_given_up", "case", self.case.case_id,
                                                 movement=assignment.movement_id, reason=reason[:200])])
        await self.leave_movement(assignment.movement_id, reason)

    def _pre_embarkation_keys(self) -> list[str]:
        checks = (Step.PRE_DEPARTURE_SCREENING, Step.FITNESS_TO_TRAVEL)
        return [k for k, r in self.state.steps.items() if r.step in checks]

    def _open_pre_embarkation_steps(self, booking: FlightBooking) -> None:
        """Each booking needs its own fitness checks, and a B1 screening timed off its date."""
        departs = booking.departs_at
        for person in self.case.people:
            pid = person.person_id
            medical = self.state.medical.get(pid)
            if medical and medical.assessment and medical.assessment.needs_screening:
                self._reset(step_key(Step.PRE_DEPARTURE_SCREENING, pid), Step.PRE_DEPARTURE_SCREENING, pid,
                            due_by=self._screening_deadline(departs))
            self._reset(step_key(Step.FITNESS_TO_TRAVEL, pid), Step.FITNESS_TO_TRAVEL, pid, due_by=departs)

    def _reset(self, key: str, step: Step, person_id: str, due_by: datetime) -> None:
        old = self.state.steps.get(key)
        attempt = old.attempt + 1 if old else 1
        self.state.steps[key] = StepRecord(step=step, person_id=person_id, attempt=attempt, due_by=due_by,
                                           updated_at=self.now())

    def _screening_deadline(self, departs: datetime) -> datetime:
        """Screened before the fitness checks open. A flight booked closer than that (a destination that needs no
        arrival notice) is screened by the flight at the latest, alongside the fitness checks: with a deadline
        already past, no clinic could take the family, and every rebooking would fail the same way. Decided at
        booking and kept in the step's `due_by`, so a run that continues as new keeps the same deadline."""
        before_fitness = departs - self.policy.fitness_check_window
        return before_fitness if before_fitness > self.now() else departs

    async def pre_embarkation(self, booking: FlightBooking) -> str | None:
        """Screenings (TB B1) then fitness checks. Returns why the family cannot fly, or None if it can."""
        departs = booking.departs_at
        screening = [k for k, r in self.state.steps.items() if r.step is Step.PRE_DEPARTURE_SCREENING]
        if screening:
            opens = departs - timedelta(days=self.policy.b1_screening_within_days)
            deadline = self.record(screening[0]).due_by or self._screening_deadline(departs)
            reason = await self._medical_checks(screening, AppointmentKind.PRE_DEPARTURE_SCREENING, opens, deadline)
            if reason:
                return reason
        fitness = [k for k, r in self.state.steps.items() if r.step is Step.FITNESS_TO_TRAVEL]
        return await self._medical_checks(fitness, AppointmentKind.FITNESS_TO_TRAVEL,
                                          departs - self.policy.fitness_check_window, departs)

    async def _medical_checks(self, keys: list[str], kind: AppointmentKind, opens: datetime,
                              deadline: datetime) -> str | None:
        await self.sleep_until(opens)
        for key in keys:
            rec = self.record(key)
            if rec.state is StepState.NOT_STARTED:
                try:
                    await self.schedule(key, rec.person_id or "", kind, rec.attempt, max(opens, self.now()), deadline)
                except ActivityError as error:
                    if rejection_code(error) is None:
                        raise
                    self.update_step(key, state=StepState.BLOCKED, reason=f"no appointment: {rejection_code(error)}")
                    await self.save(key)
                    return f"{kind.value}: no appointment before the flight"

        def settled() -> bool:
            states = [self.record(k).state for k in keys]
            return StepState.REFUSED in states or all(s is StepState.DONE for s in states)

        if not await self.wait_until(settled, deadline):
            missing = [k for k in keys if self.record(k).state is not StepState.DONE]
            for key in missing:
                self.update_step(key, state=StepState.BLOCKED, reason="no result before the deadline")
            await self.save(*missing)
            return f"{kind.value}: no result before the deadline"
        refused = [k for k in keys if self.record(k).state is StepState.REFUSED]
        return f"{kind.value}: a traveller was not cleared" if refused else None

    async def depart(self, booking: FlightBooking) -> None:
        await self.sleep_until(booking.departs_at)
        # The moment each question is about is at least the one the departure slept until. The workflow's clock
        # once lagged it (a worker rebuilding a long history after a kill read the time of an earlier task), and
        # the partner, asked about a moment before the flight, said "not yet": the family flew an hour late.
        asked_about = booking.departs_at
        while True:
            status = await self.call(PartnerActivities.check_flight,
                                     m.StatusCall(reference=booking.booking_ref, as_of=max(self.now(), asked_about)))
            if status.departed:
                break
            await self.sleep(FLIGHT_POLL)
            asked_about += FLIGHT_POLL
        key = Step.DEPARTURE.value
        self.update_step(key, state=StepState.DONE, reference=booking.flight_number,
                         valid_from=(status.departed_at or self.now()).date())
        self.state.departed_at = status.departed_at or self.now()
        self.state.open_booking_attempt = None
        self.set_phase(Phase.DEPARTED)
        await self.save(key, action="departure.departed")

    async def cancel_booking(self, attempt: int, booking: FlightBooking | None, reason: str) -> None:
        await self.call(PartnerActivities.cancel_flight, m.Compensation(case_id=self.case.case_id, attempt=attempt))
        if self.state.open_booking_attempt == attempt:
            self.state.open_booking_attempt = None
        records = []
        if booking is not None:
            records.append(BookingRecord(attempt=attempt, idempotency_key=m.flight_key(self.case.case_id, attempt),
                                         status=BookingStatus.CANCELLED, booking=booking))
        held = (self.state.booking is not None
                and self.state.booking.booking_ref == getattr(booking, "booking_ref", None))
        if held:
            self.state.booking = None
        key = Step.FLIGHT_BOOKING.value
        self.update_step(key, state=StepState.CANCELLED, reason=reason)
        await self.save(key, bookings=records, action="booking.cancelled")
        if held and booking is not None:  # only a booking that was held can be on a manifest
            await self.withdraw_from_manifest(booking)

    async def compensate(self, reason: str, appointments: frozenset[Step] = MEDICAL_STEPS) -> None:
        """Give back what the departure holds at partners: the booking, the orientation seat, open appointments."""
        if self.state.open_booking_attempt is not None:
            await self.cancel_booking(self.state.open_booking_attempt, self.state.booking, reason)
        if self.state.open_seat_attempt is not None:
            await self.call(PartnerActivities.release_orientation_seat,
                            m.Compensation(case_id=self.case.case_id, attempt=self.state.open_seat_attempt))
            self.state.open_seat_attempt = None
            self.update_step(Step.ORIENTATION.value, state=StepState.CANCELLED, reason=reason)
        for key, rec in list(self.state.steps.items()):
            if rec.step in appointments and rec.state is StepState.SCHEDULED and rec.person_id:
                kind = AppointmentKind(rec.step.value)
                await self.call(PartnerActivities.cancel_appointment,
                                m.Compensation(case_id=self.case.case_id, attempt=rec.attempt,
                                               person_id=rec.person_id, kind=kind))
                self.update_step(key, state=StepState.CANCELLED, reason=reason)

    def defer_until(self, not_before: date, reason: str, by: str) -> None:
        self.state.not_before = not_before
        self.state.deferrals.append(Deferral(at=self.now(), not_before=not_before, reason=reason, by=by))
        self.set_phase(Phase.DEFERRED, reason)
