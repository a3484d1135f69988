"""Where departures wait, and departures per week, read back from the audit trail as departures write it (SQLite or
PostgreSQL, per --db): waits answered and still open, per step and partner, one office's only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio

from domain.audit import AuditEvent
from domain.case import Case
from domain.steps import Step, StepState, step_key
from store import Store
from store.statistics import PartnerRole, StepWait, departures_per_week, step_waits
from tests.factories import family

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


@pytest_asyncio.fixture(scope="module")
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture
def office() -> str:
    return f"office_{uuid.uuid4().hex[:8]}"


class Departure:
    """One case's audit trail, written as the departure workflow writes it: one event per step change."""

    def __init__(self, store: Store, case: Case) -> None:
        self.store, self.case, self.events = store, case, 0

    @property
    def people(self) -> list[str]:
        return [p.person_id for p in self.case.people]

    async def write(self, at: datetime, action: str, **detail: str) -> None:
        self.events += 1
        await self.store.append_audit([AuditEvent(
            event_key=f"{self.case.case_id}:{self.events}", at=at, actor="system:departure-workflow", action=action,
            object_type="case", object_id=self.case.case_id, detail=detail)])

    async def step(self, at: datetime, step: Step, state: StepState, person_id: str | None = None,
                   action: str | None = None) -> None:
        await self.write(at, action or f"step.{state.value}", step=step_key(step, person_id), state=state.value,
                         attempt="1")

    async def ended(self, at: datetime, action: str, phase: str) -> None:
        await self.write(at, action, phase=phase)


async def departure(store: Store, office: str, *, clinic: str = "clinic_a", children: int = 0) -> Departure:
    case = family(T0.date(), children=children, office=office).model_copy(update={"medical_partner_id": clinic})
    await store.save_case(case)
    return Departure(store, case)


def wait_of(waits: list[StepWait], step: Step, partner_id: str | None = None) -> StepWait:
    [found] = [w for w in waits if w.step is step and w.partner_id == partner_id]
    return found


async def test_a_permit_answered_in_ten_days_is_one_wait_of_ten_days_at_the_authority(store: Store,
                                                                                        office: str) -> None:
    one = await departure(store, office)
    await one.step(T0, Step.EXIT_PERMIT, StepState.REQUESTED)
    await one.step(T0 + 10 * DAY, Step.EXIT_PERMIT, StepState.DONE)
    two = await departure(store, office)
    await two.step(T0, Step.EXIT_PERMIT, StepState.REQUESTED)
    await two.step(T0 + 4 * DAY, Step.EXIT_PERMIT, StepState.REFUSED)  # a refusal is an answer too

    [permit] = await step_waits(store, office, T0, T0 + 30 * DAY)
    assert (permit.step, permit.partner, permit.partner_id) == (Step.EXIT_PERMIT,
                                                                PartnerRole.EXIT_PERMIT_AUTHORITY, None)
    assert permit.answered == 2 and permit.median_days == 7 and permit.mean_days == 7
    assert permit.longest_days == 10 and permit.waiting_now == 0 and permit.longest_open_days is None


async def test_medical_waits_are_per_clinic_and_a_wait_still_open_counts_as_waiting_now(store: Store,
                                                                                        office: str) -> None:
    examined = await departure(store, office, clinic="clinic_fast")
    for person_id in examined.people:
        await examined.step(T0 + DAY, Step.HEALTH_ASSESSMENT, StepState.SCHEDULED, person_id)
        await examined.step(T0 + 4 * DAY, Step.HEALTH_ASSESSMENT, StepState.DONE, person_id,
                            action="medical.assessment_submitted")
    waiting = await departure(store, office, clinic="clinic_slow")
    await waiting.step(T0 + 2 * DAY, Step.HEALTH_ASSESSMENT, StepState.SCHEDULED, waiting.people[0])

    waits = await step_waits(store, office, T0, T0 + 12 * DAY)
    fast = wait_of(waits, Step.HEALTH_ASSESSMENT, "clinic_fast")
    assert fast.partner is PartnerRole.MEDICAL_PARTNER
    assert (fast.answered, fast.median_days, fast.waiting_now) == (2, 3, 0)
    slow = wait_of(waits, Step.HEALTH_ASSESSMENT, "clinic_slow")
    assert (slow.answered, slow.median_days, slow.waiting_now, slow.longest_open_days) == (0, None, 1, 10)


async def test_a_tb_class_a_wait_runs_from_the_first_appointment_to_the_clearing_one(store: Store,
                                                                                    office: str) -> None:
    treated = await departure(store, office)
    person = treated.people[0]
    await treated.step(T0, Step.HEALTH_ASSESSMENT, StepState.SCHEDULED, person)
    await treated.step(T0 + 3 * DAY, Step.HEALTH_ASSESSMENT, StepState.BLOCKED, person)
    await treated.step(T0 + 4 * DAY, Step.HEALTH_ASSESSMENT, StepState.BLOCKED, person)  # the new exam booked
    await treated.step(T0 + 60 * DAY, Step.HEALTH_ASSESSMENT, StepState.DONE, person)

    wait = wait_of(await step_waits(store, office, T0, T0 + 90 * DAY), Step.HEALTH_ASSESSMENT, "clinic_a")
    assert (wait.answered, wait.median_days) == (1, 60)


async def test_the_flight_is_waited_for_from_booking_to_departure(store: Store, office: str) -> None:
    flown = await departure(store, office)
    await flown.step(T0, Step.FLIGHT_BOOKING, StepState.DONE)
    await flown.step(T0 + 9 * DAY, Step.DEPARTURE, StepState.DONE, action="departure.departed")
    rebooked = await departure(store, office)
    await rebooked.step(T0, Step.FLIGHT_BOOKING, StepState.DONE)
    await rebooked.step(T0 + DAY, Step.FLIGHT_BOOKING, StepState.CANCELLED, action="booking.cancelled")
    await rebooked.step(T0 + 2 * DAY, Step.FLIGHT_BOOKING, StepState.DONE)

    flight = wait_of(await step_waits(store, office, T0, T0 + 10 * DAY), Step.DEPARTURE)
    assert flight.partner is PartnerRole.TRAVEL_PARTNER
    assert (flight.answered, flight.median_days) == (1, 9)
    assert (flight.waiting_now, flight.longest_open_days) == (1, 8)  # from the second booking


async def test_what_a_departure_gave_back_is_no_wait(store: Store, office: str) -> None:
    cancelled = await departure(store, office)
    await cancelled.step(T0, Step.EXIT_PERMIT, StepState.REQUESTED)
    await cancelled.step(T0, Step.ORIENTATION, StepState.SCHEDULED)
    await cancelled.step(T0 + DAY, Step.ORIENTATION, StepState.CANCELLED)
    await cancelled.ended(T0 + 2 * DAY, "departure.cancelled", "cancelled")
    refitted = await departure(store, office)
    person = refitted.people[0]
    await refitted.step(T0, Step.FITNESS_TO_TRAVEL, StepState.SCHEDULED, person)
    await refitted.step(T0 + DAY, Step.FITNESS_TO_TRAVEL, StepState.NOT_STARTED, person)  # reset by a rebooking

    assert await step_waits(store, office, T0, T0 + 10 * DAY) == []


async def test_the_period_bounds_what_is_answered_and_what_is_open(store: Store, office: str) -> None:
    early = await departure(store, office)
    await early.step(T0, Step.TRAVEL_DOCUMENT, StepState.REQUESTED, early.people[0])
    await early.step(T0 + 2 * DAY, Step.TRAVEL_DOCUMENT, StepState.DONE, early.people[0])  # before the period
    await early.step(T0, Step.TRAVEL_DOCUMENT, StepState.REQUESTED, early.people[1])
    await early.step(T0 + 20 * DAY, Step.TRAVEL_DOCUMENT, StepState.DONE, early.people[1])  # after it ends
    since, until = T0 + 7 * DAY, T0 + 14 * DAY

    [document] = await step_waits(store, office, since, until)
    assert document.partner is PartnerRole.TRAVEL_DOCUMENT_ISSUER
    assert (document.answered, document.waiting_now, document.longest_open_days) == (0, 1, 14)


async def test_the_longest_wait_comes_first_and_other_offices_are_not_counted(store: Store, office: str) -> None:
    slow = await departure(store, office)
    await slow.step(T0, Step.EXIT_PERMIT, StepState.REQUESTED)
    await slow.step(T0 + 40 * DAY, Step.EXIT_PERMIT, StepState.DONE)
    await slow.step(T0, Step.ORIENTATION, StepState.SCHEDULED)
    await slow.step(T0 + 3 * DAY, Step.ORIENTATION, StepState.DONE)
    elsewhere = await departure(store, f"{office}_other")
    await elsewhere.step(T0, Step.TRAVEL_DOCUMENT, StepState.REQUESTED, elsewhere.people[0])
    await elsewhere.step(T0 + 90 * DAY, Step.TRAVEL_DOCUMENT, StepState.DONE, elsewhere.people[0])

    waits = await step_waits(store, office, T0, T0 + 100 * DAY)
    assert [(w.step, w.median_days) for w in waits] == [(Step.EXIT_PERMIT, 40), (Step.ORIENTATION, 3)]


async def test_departures_are_counted_per_week_with_the_empty_weeks_between(store: Store, office: str) -> None:
    monday = T0 + 7 * DAY
    for at, children in ((monday + 2 * DAY, 1), (monday + 6 * DAY + timedelta(hours=14), 0),
                         (monday + 15 * DAY, 2)):
        flown = await departure(store, office, children=children)
        await flown.step(at, Step.DEPARTURE, StepState.DONE, action="departure.departed")
    elsewhere = await departure(store, f"{office}_other")
    await elsewhere.step(monday, Step.DEPARTURE, StepState.DONE, action="departure.departed")
    late = await departure(store, office)
    await late.step(monday + 21 * DAY, Step.DEPARTURE, StepState.DONE, action="departure.departed")

    weeks = await departures_per_week(store, office, T0, monday + 21 * DAY)
    assert [(w.week_of, w.families, w.travellers) for w in weeks] == [
        (date(2026, 3, 2), 0, 0), (date(2026, 3, 9), 2, 5), (date(2026, 3, 16), 0, 0), (date(2026, 3, 23), 1, 4),
        (date(2026, 3, 30), 0, 0)]  # the period ends as the late departure leaves: its week shows, empty


async def test_a_period_starting_mid_week_still_starts_on_its_monday(store: Store, office: str) -> None:
    flown = await departure(store, office)
    await flown.step(T0 + 3 * DAY, Step.DEPARTURE, StepState.DONE, action="departure.departed")
    [week] = await departures_per_week(store, office, T0 + 2 * DAY, T0 + 5 * DAY)
    assert (week.week_of, week.families, week.travellers) == (T0.date(), 1, 2)
