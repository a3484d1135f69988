"""DepartureWorkflow: one per case, from "approved for resettlement" to "departed".

The run loop keeps one planning attempt going and steps in when a coordinator defers or cancels, when a family
cannot fly and must be replanned, or when the history has grown long enough to continue as new."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from workflows.base import IN_ATTEMPT, DepartureRefused
from workflows.flight import FlightSteps

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from domain import validation
    from domain.departure import (
        CancelRequest,
        DeferRequest,
        DepartureInput,
        DepartureState,
        PartnerDecision,
        Phase,
    )
    from domain.medical import AssessmentResult, FitnessResult, MedicalFile, ScreeningResult
    from domain.movement import CharterAssignment
    from domain.partner_messages import DecisionStatus
    from domain.planning import charter_assignment_problem
    from domain.steps import PER_PERSON_STEPS, Step, StepRecord, StepState, step_key
    from domain.windows import assessment_validity, screening_validity

PRE_EMBARKATION = frozenset({Step.PRE_DEPARTURE_SCREENING, Step.FITNESS_TO_TRAVEL})


@workflow.defn
class DepartureWorkflow(FlightSteps):
    @workflow.init
    def __init__(self, departure: DepartureInput) -> None:
        super().__init__()
        self.policy = departure.policy
        self.clinic_id = departure.clinic_id
        self._history_limit = departure.history_limit
        self.state = departure.state or DepartureState(case_id=departure.case_id)
        self._interrupts: list[DeferRequest | CancelRequest | CharterAssignment] = []
        self._interrupts_handled = 0
        self._charter_refusals: dict[int, str] = {}  # interrupt ticket -> why that charter was not taken
        self._case_loaded = False

    @workflow.run
    async def run(self, departure: DepartureInput) -> DepartureState:
        self.case = await self.call(StoreActivities.load_case, departure.case_id)
        self._case_loaded = True
        if departure.state is None:
            self._open_steps()
            await self.save_everything("departure.started")
        while not self.state.is_terminal:
            attempt = asyncio.ensure_future(self._attempt())
            await workflow.wait_condition(
                # Evaluated only while this iteration awaits it, so `attempt` is always this iteration's.
                lambda: attempt.done() or len(self._interrupts) > self._interrupts_handled  # noqa: B023
                or self._should_roll_over()
            )
            interrupted = not attempt.done()
            if interrupted:
                self._stopping_attempt = True
                attempt.cancel()
            try:
                await attempt
            except asyncio.CancelledError:
                pass
            except ActivityError as error:
                # A partner call waiting for its next retry is cancelled at once, and says so as its failure.
                if not (interrupted and isinstance(error.cause, CancelledError)):
                    raise
            except DepartureRefused as refused:
                await self.compensate(str(refused))
                self.set_phase(Phase.REFUSED, str(refused))
                await self.save_everything("departure.refused")
            self._stopping_attempt = False
            await self._handle_interrupts()
            if not self.state.is_terminal and self._should_roll_over() and await self._settle_handlers():
                self.state.runs += 1
                workflow.continue_as_new(departure.model_copy(update={"state": self.state}))
        await self.booking_papers_issued()
        await self._settle_handlers()
        return self.state

    def _pending_interrupts(self) -> bool:
        return self._interrupts_handled < len(self._interrupts)

    async def _settle_handlers(self) -> bool:
        """Let running handlers finish before the run ends. False if a new deferral or cancellation came in
        meanwhile and was handled, so the caller must look at the state again."""
        handled_any = False
        while True:
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() or self._pending_interrupts())
            if not self._pending_interrupts():
                return not handled_any
            await self._handle_interrupts()
            handled_any = True

    def _open_steps(self) -> None:
        for step in Step:
            if step in PRE_EMBARKATION:
                continue  # opened per booking
            people = [p.person_id for p in self.case.people] if step in PER_PERSON_STEPS else [None]
            for pid in people:
                self.state.steps[step_key(step, pid)] = StepRecord(step=step, person_id=pid, updated_at=self.now())

    def _should_roll_over(self) -> bool:
        info = workflow.info()
        too_long = info.is_continue_as_new_suggested() or info.get_current_history_length() > self._history_limit
        return too_long and self._in_flight == 0 and self.charter is None

    async def _attempt(self) -> None:
        IN_ATTEMPT.set(True)
        while True:
            booking = self.state.booking
            if booking is None:
                self._set_phase_unless_deferred(Phase.PREPARING)
                await self.prepare()
                if self.mark_lapsed():
                    continue
                self._set_phase_unless_deferred(Phase.BOOKING)
                booking = await self.book()
                if booking is None:
                    self.mark_lapsed()
                    continue
            reason = await self.pre_embarkation(booking)
            if reason is None:
                await self.issue_boarding_papers()
                await self.depart(booking)
                return
            await self.compensate(reason, appointments=PRE_EMBARKATION)
            not_before = self.today() + timedelta(days=self.policy.unfit_deferral_days)
            self.defer_until(not_before, reason, "system:pre-embarkation-check")
            await self.save_everything("departure.replanned", not_before=not_before.isoformat())

    def _set_phase_unless_deferred(self, phase: Phase) -> None:
        """Preparation and booking go on during a deferral (for a flight after it), but the coordinator's
        deferral is what the departure shows until its date comes."""
        if self.state.not_before is not None and self.today() < self.state.not_before:
            self.set_phase(Phase.DEFERRED, self.state.deferrals[-1].reason if self.state.deferrals else None)
        else:
            self.set_phase(phase)

    async def _handle_interrupts(self) -> None:
        while self._pending_interrupts():
            request = self._interrupts[self._interrupts_handled]
            if isinstance(request, CancelRequest) and not self.state.is_terminal:
                await self.compensate(request.reason)
                self.set_phase(Phase.CANCELLED, request.reason)
                await self.save_everything("departure.cancelled", by=request.requested_by)
                await self.give_up_charter(request.reason)
            elif isinstance(request, DeferRequest) and not self.state.is_terminal:
                await self.compensate(request.reason, appointments=PRE_EMBARKATION)
                self.defer_until(request.not_before, request.reason, request.requested_by)
                await self.save_everything("departure.deferred", by=request.requested_by,
                                           not_before=request.not_before.isoformat())
                if self.charter is not None and self.charter.departs_on < request.not_before:
                    await self.give_up_charter(request.reason)
            elif isinstance(request, CharterAssignment):
                refused = await self.take_charter(request)
                if refused is not None:
                    self._charter_refusals[self._interrupts_handled + 1] = refused
            self._interrupts_handled += 1

    # -- coordinators ----------------------------------------------------------------------------------------
    @workflow.update
    async def defer(self, request: DeferRequest) -> DepartureState:
        return await self._interrupt(request)

    @defer.validator
    def validate_defer(self, request: DeferRequest) -> None:
        validation.validate_deferral(self.state, request, self.today())

    @workflow.update
    async def cancel(self, request: CancelRequest) -> DepartureState:
        return await self._interrupt(request)

    @cancel.validator
    def validate_cancel(self, request: CancelRequest) -> None:
        validation.validate_cancellation(self.state)

    async def _interrupt(self, request: DeferRequest | CancelRequest) -> DepartureState:
        self._interrupts.append(request)
        ticket = len(self._interrupts)
        await workflow.wait_condition(lambda: self._interrupts_handled >= ticket)
        return self.state.without_medical_details()

    @workflow.update
    async def assign_charter(self, assignment: CharterAssignment) -> DepartureState:
        """The family's next booking is on this charter. Answers once the departure has taken it (the booking
        itself follows); a departure whose state changed meanwhile says why it could not."""
        if self.state.booking is not None or self.charter_id() == assignment.movement_id:
            return self.state.without_medical_details()  # this charter, taken already: nothing to interrupt
        self._interrupts.append(assignment)
        ticket = len(self._interrupts)
        await workflow.wait_condition(lambda: self._interrupts_handled >= ticket)
        refused = self._charter_refusals.pop(ticket, None)
        if refused is not None:
            raise ApplicationError(refused, type="ValueError", non_retryable=True)
        return self.state.without_medical_details()

    @assign_charter.validator
    def validate_assign_charter(self, assignment: CharterAssignment) -> None:
        self._require_case()
        problem = charter_assignment_problem(self.case, self.state, assignment, self.charter_id(), self.today())
        if problem is not None:
            raise ValueError(problem)

    @workflow.query
    def get_state(self) -> DepartureState:
        return self.state

    # -- partners' callbacks ---------------------------------------------------------------------------------
    @workflow.signal
    def record_partner_decision(self, callback: PartnerDecision) -> None:
        """Repeated callbacks overwrite the same entry, so a partner calling twice changes nothing."""
        if callback.decision.status is DecisionStatus.PENDING or callback.reference in self.state.answered:
            return
        self.state.callbacks[callback.reference] = callback.decision

    # -- medical partner -------------------------------------------------------------------------------------
    @workflow.update
    async def submit_assessment(self, result: AssessmentResult) -> StepRecord:
        key = step_key(Step.HEALTH_ASSESSMENT, result.person_id)
        self._medical(result.person_id).assessment = result
        if result.cleared:
            window = assessment_validity(result, self.policy)
            saved = self.update_step(key, state=StepState.DONE, valid_from=window.start, valid_until=window.end,
                                     reason=None)
        else:
            saved = self.update_step(key, state=StepState.BLOCKED, reference=None,
                                     reason="not cleared to travel: treatment, then a new examination")
        await self.save(key, medical_for=result.person_id, action="medical.assessment_submitted")
        return saved

    @submit_assessment.validator
    def validate_submit_assessment(self, result: AssessmentResult) -> None:
        self._require_case()
        validation.validate_assessment(self.state, self.case, result, self.policy, self.today())

    @workflow.update
    async def submit_screening(self, result: ScreeningResult) -> StepRecord:
        key = step_key(Step.PRE_DEPARTURE_SCREENING, result.person_id)
        self._medical(result.person_id).screening = result
        if result.cleared:
            window = screening_validity(result, self.policy)
            saved = self.update_step(key, state=StepState.DONE, valid_from=window.start, valid_until=window.end,
                                     reason=None)
        else:
            saved = self.update_step(key, state=StepState.REFUSED, reason="not cleared at the pre-departure screening")
        await self.save(key, medical_for=result.person_id, action="medical.screening_submitted")
        return saved

    @submit_screening.validator
    def validate_submit_screening(self, result: ScreeningResult) -> None:
        self._require_case()
        validation.validate_screening(self.state, self.case, result, self.policy, self.today())

    @workflow.update
    async def submit_fitness(self, result: FitnessResult) -> StepRecord:
        key = step_key(Step.FITNESS_TO_TRAVEL, result.person_id)
        self._medical(result.person_id).fitness = result
        if result.fit:
            day = result.checked_at.date()
            saved = self.update_step(key, state=StepState.DONE, valid_from=day, reason=None,
                                     valid_until=self.state.booking.departs_at.date() if self.state.booking else day)
        else:
            saved = self.update_step(key, state=StepState.REFUSED,
                                     reason="unfit to travel at the pre-embarkation check")
        await self.save(key, medical_for=result.person_id, action="medical.fitness_submitted")
        return saved

    @submit_fitness.validator
    def validate_submit_fitness(self, result: FitnessResult) -> None:
        self._require_case()
        validation.validate_fitness(self.state, self.case, result, self.policy, self.now())

    def _medical(self, person_id: str) -> MedicalFile:
        return self.state.medical.setdefault(person_id, MedicalFile(person_id=person_id))

    def _require_case(self) -> None:
        if not self._case_loaded:
            raise ValueError("the departure is still starting; try again in a moment")
