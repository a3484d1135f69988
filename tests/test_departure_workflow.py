"""The departure on the time-skipping server: months pass in seconds, partners are the simulators."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from domain.departure import CancelRequest, DeferRequest, Phase
from domain.medical import AssessmentResult, FitnessResult, ScreeningResult, TbClass
from domain.policy import DestinationPolicy
from domain.steps import Step, StepState
from tests.departure_harness import Drive, World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.factories import family
from workflows.departure import DepartureWorkflow

FAST = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                       document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))


def departed(state) -> bool:
    return state.phase is Phase.DEPARTED


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_a_family_goes_from_approved_to_departed(world: World) -> None:
    drive = await world.start(family(await world.today(), children=2))
    await drive.assess_everyone()
    await drive.until_step(Step.FLIGHT_BOOKING, None, StepState.DONE, every=timedelta(days=1))
    await drive.check_fitness()
    state = await drive.until(departed, every=timedelta(hours=6))
    assert all(state.steps[k].state is StepState.DONE for k in state.steps), state.steps
    assert state.booking is not None and state.departed_at is not None
    assert world.partners.travel.bookings_made == 1
    stored = await world.store.departure_phase(drive.case.case_id)
    assert stored is not None and stored[0] is Phase.DEPARTED


FOUR_MONTH_PERMIT = quiet_simulator(permit_delay_min=timedelta(days=120), permit_delay_max=timedelta(days=121),
                                    document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))


@pytest.mark.parametrize("simulator_settings", [FOUR_MONTH_PERMIT])
async def test_a_four_month_exit_permit_wait_is_ridden_out_with_bounded_history(world: World) -> None:
    drive = await world.start(family(await world.today(), children=1), history_limit=300)
    started = await drive.now()
    await drive.assess_everyone()
    state = await drive.until_step(Step.EXIT_PERMIT, None, StepState.DONE, every=timedelta(days=2))
    assert (await drive.now()) - started >= timedelta(days=120)
    assert state.runs > 1, "four months of daily polling must continue as new to keep the history bounded"
    assert state.steps[Step.EXIT_PERMIT.value].valid_until is not None
    await drive.until_step(Step.FLIGHT_BOOKING, None, StepState.DONE, every=timedelta(days=1))
    # Four months on, the first exams (valid 6 months) still cover the flight: nobody is examined twice.
    assert all(r.attempt == 1 for r in state.steps.values() if r.step is Step.HEALTH_ASSESSMENT)
    await drive.check_fitness()
    assert (await drive.until(departed)).phase is Phase.DEPARTED


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_a_permit_decision_can_arrive_by_callback(world: World) -> None:
    from domain.departure import PartnerDecision
    from domain.partner_messages import Decision, DecisionStatus
    from workflows.departure import DepartureWorkflow

    policy = DestinationPolicy(partner_poll_interval=timedelta(days=3))
    drive = await world.start(family(await world.today(), children=0), policy=policy)
    state = await drive.until_step(Step.EXIT_PERMIT, None, StepState.REQUESTED, every=timedelta(minutes=30))
    reference = state.steps[Step.EXIT_PERMIT.value].reference or ""
    today = await world.today()
    decision = Decision(reference=reference, status=DecisionStatus.ISSUED, valid_from=today,
                        valid_until=today + timedelta(days=200), document_number="EP-CALLBACK-1")
    for _ in range(2):  # a partner that calls back twice changes nothing the second time
        await drive.handle.signal(DepartureWorkflow.record_partner_decision,
                                  PartnerDecision(reference=reference, decision=decision))
    state = await drive.until_step(Step.EXIT_PERMIT, None, StepState.DONE, every=timedelta(minutes=10),
                                   limit=timedelta(days=1))
    assert state.steps[Step.EXIT_PERMIT.value].document_number == "EP-CALLBACK-1"
    assert state.steps[Step.EXIT_PERMIT.value].reference == reference
    assert state.callbacks == {}


REFUSING_AUTHORITY = quiet_simulator(permit_delay_min=timedelta(days=10), permit_delay_max=timedelta(days=11),
                                     permit_refusal_rate=1.0)


@pytest.mark.parametrize("simulator_settings", [REFUSING_AUTHORITY])
async def test_a_refused_exit_permit_ends_the_departure_with_the_reason(world: World) -> None:
    drive = await world.start(family(await world.today(), children=1))
    await drive.assess_everyone()
    # result() lets the server skip time itself; bounded, so a departure that stalls fails instead of holding CI.
    state = await asyncio.wait_for(drive.handle.result(), timeout=180)
    assert state.phase is Phase.REFUSED
    assert state.steps[Step.EXIT_PERMIT.value].state is StepState.REFUSED
    assert "exit_permit refused" in (state.reason or "")
    # The steps the refusal stopped asked the server to cancel nothing, neither their calls nor their timers: a
    # cancellation crossing the call's completion or the timer's firing in one task makes the time-skipping server
    # refuse the task for good (temporalio/sdk-java#2391, #2606), and the departure stalled there under load.
    history = await drive.handle.fetch_history()
    cancellations = [e.event_type for e in history.events if e.event_type in (
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, EventType.EVENT_TYPE_TIMER_CANCELED)]
    assert cancellations == []


def booked(state) -> bool:
    return state.booking is not None and state.steps[Step.FLIGHT_BOOKING.value].state is StepState.DONE


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_an_exam_that_expires_while_the_flight_is_delayed_is_redone(world: World) -> None:
    drive = await world.start(family(await world.today(), children=1))
    await drive.assess_everyone()
    first_booking = (await drive.until(booked, every=timedelta(days=1))).booking
    principal = drive.case.principal.person_id
    today = await world.today()
    state = await drive.handle.execute_update(DepartureWorkflow.defer, DeferRequest(
        not_before=today + timedelta(days=240), reason="family asked to wait for a relative", requested_by="coord_1"))
    assert state.phase is Phase.DEFERRED and state.booking is None
    assert f"{drive.case.case_id}-flight-1" in world.partners.travel.cancelled_keys
    # The first exam (valid 6 months) cannot cover a flight 8 months out: it is redone, closer to the date.
    state = await drive.until_step(Step.HEALTH_ASSESSMENT, principal, StepState.SCHEDULED, every=timedelta(days=2))
    assessment = state.steps[f"health_assessment:{principal}"]
    assert assessment.attempt == 2
    assert (await drive.now()).date() >= today + timedelta(days=240 - 5 * 31), "examined close to the new date"
    await drive.assess_everyone()
    state = await drive.until(booked, every=timedelta(days=1))
    assert state.booking is not None and first_booking is not None
    assert state.booking.departs_at.date() >= today + timedelta(days=240)
    await drive.check_fitness()
    assert (await drive.until(departed)).phase is Phase.DEPARTED


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_tb_class_a_blocks_until_a_new_exam_clears_it(world: World) -> None:
    case = family(await world.today(), children=1)
    drive = await world.start(case)
    child = case.people[2].person_id
    for person in case.people[:2]:
        await drive.until_step(Step.HEALTH_ASSESSMENT, person.person_id, StepState.SCHEDULED)
        await drive.assess(person.person_id)
    await drive.until_step(Step.HEALTH_ASSESSMENT, child, StepState.SCHEDULED)
    # The clinic is told what it filed: attempt 1, blocked, even though the departure books the re-examination
    # (attempt 2) before the clinic hears back.
    accepted = await drive.assess(child, TbClass.A)
    assert (accepted.attempt, accepted.state, accepted.reference) == (1, StepState.BLOCKED, None)
    state = await drive.until(lambda s: s.steps[f"health_assessment:{child}"].reference is not None
                              and s.steps[f"health_assessment:{child}"].state is StepState.BLOCKED)
    assert any("not cleared" in b for b in state.blockers())
    # Weeks pass, the permit is long issued, but nobody is booked while one member is not cleared.
    await world.env.sleep(timedelta(days=30))
    state = await drive.state()
    assert state.booking is None and world.partners.travel.bookings_made == 0
    assert state.steps[f"health_assessment:{child}"].attempt == 2  # the re-examination appointment
    await drive.assess(child, TbClass.B0)
    await drive.until(booked, every=timedelta(days=1))
    await drive.check_fitness()
    assert (await drive.until(departed)).phase is Phase.DEPARTED


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_a_b1_traveller_is_screened_within_the_window_before_the_flight(world: World) -> None:
    case = family(await world.today(), children=0)
    drive = await world.start(case, policy=DestinationPolicy(b1_screening_within_days=7))
    principal = case.principal.person_id
    await drive.assess_everyone(tb={principal: TbClass.B1})
    state = await drive.until(booked, every=timedelta(days=1))
    assert state.booking is not None
    flight_day = state.booking.departs_at.date()
    assert state.steps[f"pre_departure_screening:{principal}"].state is StepState.NOT_STARTED
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await drive.screen(principal)
    assert "not open for results" in str(early.value.cause)

    state = await drive.until_step(Step.PRE_DEPARTURE_SCREENING, principal, StepState.SCHEDULED,
                                   every=timedelta(hours=12))
    assert (await drive.now()).date() >= flight_day - timedelta(days=7)
    too_early = ScreeningResult(person_id=principal, screened_on=flight_day - timedelta(days=8), cleared=True,
                                examined_by="clinic_default")
    with pytest.raises(WorkflowUpdateFailedError) as outside:
        await drive.handle.execute_update(DepartureWorkflow.submit_screening, too_early)
    assert "screened_on" in str(outside.value.cause) and "7 days before the flight" in str(outside.value.cause)
    await drive.screen(principal)
    await drive.check_fitness()
    state = await drive.until(departed)
    assert state.steps[f"pre_departure_screening:{principal}"].state is StepState.DONE
    # Only the B1 traveller is screened.
    assert f"pre_departure_screening:{case.people[1].person_id}" not in state.steps


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_an_unfit_traveller_cancels_the_booking_and_the_departure_is_replanned(world: World) -> None:
    case = family(await world.today(), children=1)
    drive = await world.start(case)
    await drive.assess_everyone()
    first = (await drive.until(booked, every=timedelta(days=1))).booking
    assert first is not None
    await drive.check_fitness(fit={case.people[2].person_id: False})
    state = await drive.until(lambda s: len(s.deferrals) == 1, every=timedelta(minutes=30))
    assert state.deferrals[0].reason == "fitness_to_travel: a traveller was not cleared"
    assert state.booking is None or state.booking.booking_ref != first.booking_ref
    assert f"{case.case_id}-flight-1" in world.partners.travel.cancelled_keys
    stored = {b.attempt: b.status.value for b in await world.store.bookings(case.case_id)}
    assert stored[1] == "cancelled"

    state = await drive.until(booked, every=timedelta(days=1))
    assert state.booking is not None and state.booking.departs_at.date() >= state.deferrals[0].not_before
    assert state.steps[f"fitness_to_travel:{case.people[2].person_id}"].attempt == 2
    await drive.check_fitness()
    state = await drive.until(departed)
    active = [k for k in world.partners.travel.bookings if k not in world.partners.travel.cancelled_keys]
    assert len(active) == 1


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_cancelling_with_a_seat_held_releases_it(world: World) -> None:
    case = family(await world.today(), children=0)
    drive = await world.start(case, policy=DestinationPolicy(arrival_notice_working_days=40))
    await drive.assess_everyone()
    await drive.until_step(Step.ORIENTATION, None, StepState.SCHEDULED, every=timedelta(days=1))
    state = await drive.handle.execute_update(DepartureWorkflow.cancel, CancelRequest(
        reason="family withdrew", requested_by="coord_1"))
    assert state.phase is Phase.CANCELLED
    assert f"{case.case_id}-orientation-1" in world.partners.orientation.released_keys
    result = await drive.handle.result()
    assert result.phase is Phase.CANCELLED and result.steps["orientation"].state is StepState.CANCELLED
    stored = await world.store.departure_phase(case.case_id)
    assert stored == (Phase.CANCELLED, "family withdrew")


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_cancelling_after_booking_cancels_flight_and_appointments(world: World) -> None:
    case = family(await world.today(), children=0)
    drive = await world.start(case)
    await drive.assess_everyone()
    await drive.until_step(Step.FITNESS_TO_TRAVEL, case.principal.person_id, StepState.SCHEDULED,
                           every=timedelta(hours=6))
    await drive.handle.execute_update(DepartureWorkflow.cancel, CancelRequest(reason="withdrew", requested_by="c1"))
    assert f"{case.case_id}-flight-1" in world.partners.travel.cancelled_keys
    assert world.partners.medical.cancelled_keys, "the fitness-to-travel appointments are given back"
    result = await drive.handle.result()
    assert result.phase is Phase.CANCELLED and result.booking is None
    assert result.steps[Step.FLIGHT_BOOKING.value].state is StepState.CANCELLED
    assert {b.status.value for b in await world.store.bookings(case.case_id)} == {"cancelled"}


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_a_travel_partner_failing_five_times_makes_exactly_one_booking(world: World) -> None:
    world.partners.faults.fail_next("travel.book_flight", times=2)
    world.partners.faults.fail_after_commit("travel.book_flight", times=3)  # booked, but the answer was lost
    case = family(await world.today(), children=1)
    drive = await world.start(case)
    await drive.assess_everyone()
    await drive.until(booked, every=timedelta(hours=6))
    await drive.check_fitness()
    await drive.until(departed)
    assert world.partners.faults.pending("travel.book_flight") == 0
    assert world.partners.travel.bookings_made == 1
    assert len(await world.store.bookings(case.case_id)) == 1


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_bad_input_is_rejected_with_a_clear_message_and_changes_nothing(world: World) -> None:
    case = family(await world.today(), children=0)
    drive = await world.start(case)
    principal = case.principal.person_id
    await drive.until_step(Step.HEALTH_ASSESSMENT, principal, StepState.SCHEDULED)
    before = (await drive.state()).model_dump()
    today = await world.today()
    bad = {
        "unknown person": AssessmentResult(person_id="per_nobody", exam_date=today, tb_class=TbClass.NONE,
                                           examined_by="clinic_default"),
        "in the future": AssessmentResult(person_id=principal, exam_date=today + timedelta(days=3),
                                          tb_class=TbClass.NONE, examined_by="clinic_default"),
        "already expired": AssessmentResult(person_id=principal, exam_date=today - timedelta(days=400),
                                            tb_class=TbClass.NONE, examined_by="clinic_default"),
    }
    for expected, result in bad.items():
        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await drive.handle.execute_update(DepartureWorkflow.submit_assessment, result)
        assert expected in str(rejected.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as not_open:
        await drive.handle.execute_update(DepartureWorkflow.submit_fitness, FitnessResult(
            person_id=principal, checked_at=await drive.now(), fit=True, examined_by="clinic_default"))
    assert "fitness_to_travel" in str(not_open.value.cause) and "not open" in str(not_open.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as past:
        await drive.handle.execute_update(DepartureWorkflow.defer, DeferRequest(
            not_before=today - timedelta(days=1), reason="typo", requested_by="coord_1"))
    assert "not_before" in str(past.value.cause) and "in the past" in str(past.value.cause)
    assert (await drive.state()).model_dump() == before
