"""MovementWorkflow: one per flight. Families join and leave it as their departures book and give back seats; at the
notice cutoff each reception team on board gets manifest version 1, then an amendment for every change, and a final
version once the coordinator has recorded who boarded. The reception teams' confirmations close it.

The manifests themselves come from the store (the bookings on the movement), so a version says exactly what the
store holds; the workflow decides when a team hears of it, and keeps its deliveries going."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.base import PARTNER_RETRY

with workflow.unsafe.imports_passed_through():
    from activities.document_messages import ManifestCall
    from activities.documents import DocumentActivities
    from activities.webhooks import (
        DELIVERY_RETRY,
        DELIVERY_TIMEOUT,
        NO_ENDPOINT,
        DeliveryActivities,
    )
    from domain.movement import (
        JOIN_SIGNAL,
        LEAVE_SIGNAL,
        MOVEMENT_WORKFLOW,
        REFUSALS_KEPT,
        ArrivalConfirmation,
        BoardingRecord,
        JoinMovement,
        LeaveMovement,
        MovementInput,
        MovementPhase,
        MovementState,
        OrganisationManifest,
        Refusal,
        validate_boarding,
        validate_confirmation,
        validate_join,
    )
    from domain.webhooks import DeliveryStatus, ManifestDelivery, manifest_event

MOVEMENT_AUTHOR = "system:movement-workflow"
# A charter's manifest lists hundreds of travellers: rendering it takes longer than a partner call may.
MANIFEST_TIMEOUT = timedelta(minutes=2)
# Changes after the notice come in bursts (a coordinator cancelling several families): those within this long of
# the first go out as one amendment, not one each.
GATHER_CHANGES = timedelta(minutes=5)


@workflow.defn(name=MOVEMENT_WORKFLOW)
class MovementWorkflow:
    @workflow.init
    def __init__(self, movement: MovementInput) -> None:
        self.movement = movement
        self.state = movement.state or MovementState(movement_id=movement.movement_id, kind=movement.kind,
                                                     capacity=movement.capacity)
        self._in_flight = 0
        self._couriers: dict[str, asyncio.Task[None]] = {}
        self._first_change_at: datetime | None = None
        self._urgent = False  # boarding recorded, or the cutoff reached: publish without gathering
        self._passes_started = 0
        self._passes_done = 0

    @workflow.run
    async def run(self, movement: MovementInput) -> MovementState:
        for organisation, manifest in self.state.manifests.items():
            if manifest.outbox:  # carried over from the previous run
                self._start_courier(organisation)
        while self.state.phase is not MovementPhase.CLOSED or self.state.pending:
            if self.state.phase is MovementPhase.OPEN and workflow.now() >= self.movement.cutoff:
                self.state.phase = MovementPhase.NOTICE_SENT
                for organisation in self.state.organisations_on_board():
                    self._mark(organisation)
                self._urgent = True
            if self.state.pending and self.state.phase is not MovementPhase.OPEN:
                await self._publish_pending()
                continue
            if self._should_roll_over():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._should_roll_over() and not self.state.pending:
                    self.state.runs += 1
                    workflow.continue_as_new(movement.model_copy(update={"state": self.state}))
                continue
            await self._wait_for_work()
        await workflow.wait_condition(lambda: not any(m.outbox for m in self.state.manifests.values()))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _wait_for_work(self) -> None:
        def work() -> bool:
            return ((bool(self.state.pending) and self.state.phase is not MovementPhase.OPEN)
                    or self.state.phase is MovementPhase.CLOSED or self._should_roll_over())

        timeout = None
        if self.state.phase is MovementPhase.OPEN:
            timeout = max((self.movement.cutoff - workflow.now()).total_seconds(), 0.001)
        try:
            await workflow.wait_condition(work, timeout=timeout)
        except TimeoutError:
            pass  # the cutoff: the loop sends the notice

    def _should_roll_over(self) -> bool:
        info = workflow.info()
        too_long = (info.is_continue_as_new_suggested()
                    or info.get_current_history_length() > self.movement.history_limit)
        return too_long and self._in_flight == 0 and all(task.done() for task in self._couriers.values())

    # -- manifests -----------------------------------------------------------------------------------------------
    def _mark(self, organisation: str) -> None:
        self.state.manifests.setdefault(organisation, OrganisationManifest(organisation_id=organisation))
        if organisation not in self.state.pending:
            self.state.pending.append(organisation)
        self._first_change_at = self._first_change_at or workflow.now()

    async def _publish_pending(self) -> None:
        """Every change waiting, for every team it touches, in one pass."""
        if not self._urgent:
            gathered_by = (self._first_change_at or workflow.now()) + GATHER_CHANGES
            remaining = (gathered_by - workflow.now()).total_seconds()
            if remaining > 0:
                try:
                    await workflow.wait_condition(lambda: self._urgent, timeout=remaining)
                except TimeoutError:
                    pass
        organisations = sorted(self.state.pending)
        self._passes_started += 1  # counted once the changes are taken: a boarding recorded meanwhile is in it
        self.state.pending = []
        self._urgent, self._first_change_at = False, None
        await asyncio.gather(*(self._publish(organisation) for organisation in organisations))
        self._passes_done += 1

    async def _publish(self, organisation: str) -> None:
        boarded = None
        if self.state.boarded is not None:
            on_board = set(self.state.boarded)
            boarded = [pid for party in self.state.parties.values() if party.organisation_id == organisation
                       for pid in party.person_ids if pid in on_board]
        call = ManifestCall(movement_id=self.state.movement_id, organisation_id=organisation, issued_at=workflow.now(),
                            official_language=self.movement.official_language, final=boarded is not None,
                            boarded_person_ids=boarded, generated_by=MOVEMENT_AUTHOR)
        manifest = self.state.manifests[organisation]
        self._in_flight += 1
        try:
            issued = await workflow.execute_activity_method(
                DocumentActivities.publish_manifest, call, start_to_close_timeout=MANIFEST_TIMEOUT,
                retry_policy=PARTNER_RETRY)
        except ActivityError as error:
            manifest.last_error = _failure_type(error)
            workflow.logger.warning("manifest of %s for %s not published: %s", self.state.movement_id,
                                    organisation, manifest.last_error)
            return
        finally:
            self._in_flight -= 1
        if issued is None or issued.version == manifest.published_version:
            return  # nothing the team does not already have
        manifest.published_version, manifest.published_reference = issued.version, issued.reference
        manifest.final = call.final
        manifest.delivery = DeliveryStatus.PENDING
        manifest.outbox.append(ManifestDelivery(organisation_id=organisation, movement_id=self.state.movement_id,
                                                version=issued.version, document_reference=issued.reference,
                                                event=manifest_event(issued.version, call.final)))
        self._start_courier(organisation)

    def _start_courier(self, organisation: str) -> None:
        """One courier per team delivers its versions in order; teams don't wait for each other, so one
        unreachable team holds up nobody else."""
        running = self._couriers.get(organisation)
        if running is None or running.done():
            self._couriers[organisation] = asyncio.ensure_future(self._courier(organisation))

    async def _courier(self, organisation: str) -> None:
        manifest = self.state.manifests[organisation]
        while manifest.outbox:
            call = manifest.outbox[0]
            try:
                delivery = await workflow.execute_activity_method(
                    DeliveryActivities.deliver_manifest, call, start_to_close_timeout=DELIVERY_TIMEOUT,
                    retry_policy=DELIVERY_RETRY)
                manifest.delivered_version, manifest.delivery, manifest.last_error = call.version, delivery.status, None
            except ActivityError as error:
                # Only what no retry can mend ends here (no endpoint registered): recorded, and not tried again.
                manifest.delivery, manifest.last_error = DeliveryStatus.FAILING, _failure_type(error)
            manifest.outbox.pop(0)

    # -- departures ----------------------------------------------------------------------------------------------
    @workflow.signal(name=JOIN_SIGNAL)
    def join_movement(self, join: JoinMovement) -> None:
        """A repeat of the same join changes nothing. One that cannot be taken is kept as a refusal: a signal has
        no answer, so that is where the coordinator reads why."""
        current = self.state.parties.get(join.case_id)
        if current == join:
            return
        try:
            validate_join(self.state, join)
        except ValueError as refused:
            workflow.logger.warning("movement %s refused case %s: %s", self.state.movement_id, join.case_id, refused)
            self.state.refused = [*self.state.refused, Refusal(case_id=join.case_id, at=workflow.now(),
                                                               reason=str(refused))][-REFUSALS_KEPT:]
            return
        self.state.parties[join.case_id] = join
        self.state.left.pop(join.case_id, None)
        self.state.manifests.setdefault(join.organisation_id,
                                        OrganisationManifest(organisation_id=join.organisation_id))
        for organisation in {join.organisation_id, current.organisation_id if current else join.organisation_id}:
            self._changed(organisation)

    @workflow.signal(name=LEAVE_SIGNAL)
    def leave_movement(self, leave: LeaveMovement) -> None:
        if leave.case_id not in self.state.parties:
            return  # never joined, or already left
        if self.state.phase in (MovementPhase.DEPARTED, MovementPhase.CLOSED):
            workflow.logger.warning("movement %s has departed; case %s cannot leave it", self.state.movement_id,
                                    leave.case_id)
            return
        party = self.state.parties.pop(leave.case_id)
        self.state.left[leave.case_id] = leave.reason
        self._changed(party.organisation_id)

    def _changed(self, organisation: str) -> None:
        """Before the cutoff the notice will say it; after it, the team gets an amendment."""
        if self.state.phase is MovementPhase.NOTICE_SENT:
            self._mark(organisation)

    # -- the coordinator and the reception teams -----------------------------------------------------------------
    @workflow.update
    async def record_boarding(self, record: BoardingRecord) -> MovementState:
        """Returns once the final manifests are published; their deliveries go on."""
        self.state.boarded = list(record.boarded_person_ids)
        self.state.boarding_recorded_by = record.recorded_by
        self.state.phase = MovementPhase.DEPARTED
        for organisation in sorted({p.organisation_id for p in self.state.parties.values()}):
            self._mark(organisation)
        self._urgent = True
        ticket = self._passes_started + 1
        await workflow.wait_condition(lambda: self._passes_done >= ticket)
        return self.state

    @record_boarding.validator
    def validate_record_boarding(self, record: BoardingRecord) -> None:
        validate_boarding(self.state, record, workflow.now(), self.movement.flight.departs_at)

    @workflow.update
    def confirm_arrival(self, confirmation: ArrivalConfirmation) -> MovementState:
        """A team confirming again changes nothing; the last team on board to confirm closes the movement."""
        self.state.confirmations.setdefault(confirmation.organisation_id, confirmation)
        if all(org in self.state.confirmations for org in self.state.organisations_on_board()):
            self.state.phase = MovementPhase.CLOSED
        return self.state

    @confirm_arrival.validator
    def validate_confirm_arrival(self, confirmation: ArrivalConfirmation) -> None:
        validate_confirmation(self.state, confirmation)

    @workflow.query
    def get_state(self) -> MovementState:
        return self.state


def _failure_type(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return "no reception endpoint" if cause.type == NO_ENDPOINT else cause.type
    return type(cause or error).__name__
