"""The partner simulators: deterministic per seed, idempotent per key, failing like real partners do."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import types
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from domain.case import FunctionalNeed
from domain.medical import TbClass
from domain.partner_messages import (
    AppointmentKind,
    AppointmentRequest,
    DecisionStatus,
    ExitPermitRequest,
    FlightRequest,
    SeatRequest,
    TravelDocumentRequest,
    TravellerRef,
)
from partners.errors import PartnerRejected, PartnerUnavailable
from partners.factory import PartnerSet, build_partners
from partners.simulators import (
    FaultPlan,
    SimulatedClinician,
    SimulatedExitPermitAuthority,
    SimulatedMedicalPartner,
    SimulatedOrientationPartner,
    SimulatedTravelDocumentIssuer,
    SimulatedTravelPartner,
)
from partners.simulators import gate as gate_module
from predeparture.settings import PartnerAdapters, SimulatorSettings

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def quiet(**changes: object) -> SimulatorSettings:
    """No latency and no natural failures, so each test sees only what it scripts."""
    return SimulatorSettings(seed=7, latency_ms=0, transient_failure_rate=0).model_copy(update=changes)


def quiet_demo(**changes: object) -> SimulatorSettings:
    return SimulatorSettings.demo().model_copy(update={"latency_ms": 0, "transient_failure_rate": 0, **changes})


def traveller(person_id: str, *needs: FunctionalNeed) -> TravellerRef:
    return TravellerRef(
        person_id=person_id,
        given_name="Test",
        family_name="Traveller",
        date_of_birth=date(1990, 1, 1),
        nationality="SYR",
        functional_needs=list(needs),
    )


def flight_request(case_id: str = "case_1", earliest: date = date(2026, 4, 1), **changes: object) -> FlightRequest:
    request = FlightRequest(
        case_id=case_id,
        travellers=[traveller("per_1"), traveller("per_2")],
        destination_country="CA",
        destination_city="Toronto",
        earliest=earliest,
        requested_at=T0,
    )
    return request.model_copy(update=changes)


def permit_request(case_id: str = "case_1", requested_at: datetime = T0) -> ExitPermitRequest:
    return ExitPermitRequest(
        case_id=case_id, travellers=[traveller("per_1")], destination_country="CA", requested_at=requested_at
    )


def seat_request(seats: int, not_before: datetime = T0, latest: date | None = None) -> SeatRequest:
    return SeatRequest(case_id="case_1", language="ar", seats=seats, not_before=not_before, latest=latest)


async def book_all(partners: PartnerSet, count: int) -> list[str]:
    """Flight bookings, permit decisions and seat reservations for many cases, as comparable text."""
    answers = []
    for i in range(count):
        key = f"case_{i}-flight-1"
        try:
            answers.append((await partners.travel.book_flight(flight_request(f"case_{i}"), key)).model_dump_json())
        except PartnerRejected as rejected:
            answers.append(rejected.code)
        ack = await partners.exit_permits.request_exit_permit(permit_request(f"case_{i}"), f"case_{i}-permit-1")
        decision = await partners.exit_permits.exit_permit_status(ack.reference, T0 + timedelta(days=200))
        answers.append(decision.model_dump_json())
        reservation = await partners.orientation.reserve_seat(seat_request(1 + i % 6), f"case_{i}-pdo-1")
        answers.append(reservation.model_dump_json())
    return answers


async def test_same_seed_gives_same_answers_and_another_seed_differs() -> None:
    first = await book_all(build_partners(PartnerAdapters(), quiet(seed=11)), 60)
    again = await book_all(build_partners(PartnerAdapters(), quiet(seed=11)), 60)
    other = await book_all(build_partners(PartnerAdapters(), quiet(seed=12)), 60)
    assert first == again
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 60


SUBPROCESS_SCRIPT = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from tests.test_simulators import book_all, quiet
from partners.factory import build_partners
from predeparture.settings import PartnerAdapters
print("\\n".join(asyncio.run(book_all(build_partners(PartnerAdapters(), quiet(seed=11)), 10))))
"""


ROOT = Path(__file__).resolve().parents[1]


async def test_answers_are_the_same_in_another_process() -> None:
    """Python's hash() is salted per process; answers must not depend on it."""
    root = str(ROOT)
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", SUBPROCESS_SCRIPT, root], env=env, capture_output=True, text=True, check=True, cwd=root
    )
    here = await book_all(build_partners(PartnerAdapters(), quiet(seed=11)), 10)
    assert out.stdout.splitlines() == here


async def test_a_repeated_key_returns_the_first_booking_and_books_nothing_new() -> None:
    travel = SimulatedTravelPartner(quiet())
    first = await travel.book_flight(flight_request(), "case_1-flight-1")
    again = await travel.book_flight(flight_request(earliest=date(2026, 5, 1)), "case_1-flight-1")
    assert again == first
    assert travel.bookings_made == 1
    assert travel.bookings == {"case_1-flight-1": first}


async def test_a_response_lost_after_commit_then_a_retry_gives_exactly_one_booking() -> None:
    travel = SimulatedTravelPartner(quiet())
    travel.faults.fail_after_commit("travel.book_flight", times=1)
    with pytest.raises(PartnerUnavailable):
        await travel.book_flight(flight_request(), "case_1-flight-1")
    assert travel.bookings_made == 1  # the partner did book; the caller just never heard
    booking = await travel.book_flight(flight_request(), "case_1-flight-1")
    assert travel.bookings_made == 1
    assert travel.bookings["case_1-flight-1"] == booking


async def test_a_partner_failing_five_times_then_succeeding_books_once() -> None:
    travel = SimulatedTravelPartner(quiet())
    travel.faults.fail_next("travel.book_flight", times=5)
    failures = 0
    while True:
        try:
            booking = await travel.book_flight(flight_request(), "case_1-flight-1")
            break
        except PartnerUnavailable:
            failures += 1
            assert travel.bookings_made == 0
    assert failures == 5
    assert travel.bookings_made == 1
    assert travel.bookings == {"case_1-flight-1": booking}
    assert travel.faults.pending("travel.book_flight") == 0


def test_a_misspelt_operation_cannot_be_scripted() -> None:
    with pytest.raises(ValueError, match="unknown partner operation"):
        FaultPlan().fail_next("travel.book_flights")


async def attempts_until_success(travel: SimulatedTravelPartner, key: str) -> int:
    for attempt in range(1, 50):
        try:
            await travel.book_flight(flight_request(), key)
            return attempt
        except PartnerUnavailable:
            continue
    raise AssertionError("never succeeded")


async def test_natural_transient_failures_are_deterministic_and_retries_stay_idempotent() -> None:
    settings = quiet(transient_failure_rate=0.5, no_seats_rate=0)
    one, two = SimulatedTravelPartner(settings), SimulatedTravelPartner(settings)
    keys = [f"case_{i}-flight-1" for i in range(100)]
    attempts = [await attempts_until_success(one, key) for key in keys]
    assert attempts == [await attempts_until_success(two, key) for key in keys]
    assert 20 < sum(a > 1 for a in attempts) < 80
    # Some failures came after the booking was made; retries with the same key did not book again.
    assert one.bookings_made == len(keys)


async def test_permit_status_is_answered_by_a_fresh_process_from_the_reference_alone() -> None:
    settings = quiet()
    original = SimulatedExitPermitAuthority(settings)
    ack = await original.request_exit_permit(permit_request(), "case_1-permit-1")
    assert ack.reference.startswith("EP-")
    fresh = SimulatedExitPermitAuthority(settings)
    answers = []
    for days in (0, 30, 90, 151):
        as_of = T0 + timedelta(days=days)
        answers.append(await fresh.exit_permit_status(ack.reference, as_of))
        assert answers[-1] == await original.exit_permit_status(ack.reference, as_of)
    assert answers[0].status is DecisionStatus.PENDING and answers[-1].status is not DecisionStatus.PENDING
    for bad in (ack.reference[:-1] + ("0" if ack.reference[-1] != "0" else "1"), "EP-garbage", "nonsense"):
        with pytest.raises(PartnerRejected) as rejected:
            await fresh.exit_permit_status(bad, T0)
        assert rejected.value.code == "unknown_reference"
    with pytest.raises(PartnerRejected):
        await SimulatedExitPermitAuthority(quiet(seed=8)).exit_permit_status(ack.reference, T0)


async def test_a_permit_is_pending_until_the_delay_has_passed_then_issued() -> None:
    settings = quiet(permit_delay_min=timedelta(days=30), permit_delay_max=timedelta(days=30), permit_refusal_rate=0)
    authority = SimulatedExitPermitAuthority(settings)
    ack = await authority.request_exit_permit(permit_request(), "case_1-permit-1")
    assert ack.received_at == T0
    before = await authority.exit_permit_status(ack.reference, T0 + timedelta(days=30) - timedelta(seconds=1))
    assert before.status is DecisionStatus.PENDING and before.valid_from is None
    issued = await authority.exit_permit_status(ack.reference, T0 + timedelta(days=30))
    assert issued.status is DecisionStatus.ISSUED
    assert issued.decided_at == T0 + timedelta(days=30)
    assert issued.valid_from == date(2026, 4, 1)
    assert issued.valid_until == date(2026, 4, 1) + timedelta(days=365)
    assert issued.document_number and issued.document_number.startswith("EP")


async def test_the_refusal_rate_is_roughly_honoured() -> None:
    authority = SimulatedExitPermitAuthority(quiet(permit_refusal_rate=0.2))
    refused = []
    for i in range(500):
        ack = await authority.request_exit_permit(permit_request(f"case_{i}"), f"case_{i}-permit-1")
        decision = await authority.exit_permit_status(ack.reference, T0 + timedelta(days=151))
        if decision.status is DecisionStatus.REFUSED:
            refused.append(decision)
    assert 70 <= len(refused) <= 130
    assert all(d.reason and d.valid_until is None and d.document_number is None for d in refused)
    assert "security clearance not granted" in {d.reason for d in refused}


async def test_a_repeated_permit_request_keeps_its_reference() -> None:
    authority = SimulatedExitPermitAuthority(quiet())
    first = await authority.request_exit_permit(permit_request(), "case_1-permit-1")
    again = await authority.request_exit_permit(permit_request(requested_at=T0 + timedelta(days=3)), "case_1-permit-1")
    assert again == first and authority.requests_made == 1
    other = await authority.request_exit_permit(permit_request(), "case_1-permit-2")
    assert other.reference != first.reference


async def test_callbacks_are_handed_out_once_when_the_decision_falls_due() -> None:
    settings = quiet(permit_delay_min=timedelta(days=10), permit_delay_max=timedelta(days=20))
    authority = SimulatedExitPermitAuthority(settings)
    acks = [await authority.request_exit_permit(permit_request(f"case_{i}"), f"case_{i}-permit-1") for i in range(20)]
    assert authority.due_callbacks(T0 + timedelta(days=10) - timedelta(seconds=1)) == []
    halfway = authority.due_callbacks(T0 + timedelta(days=15))
    rest = authority.due_callbacks(T0 + timedelta(days=20))
    assert 0 < len(halfway) < 20 and len(halfway) + len(rest) == 20
    assert authority.due_callbacks(T0 + timedelta(days=400)) == []
    by_reference = {ack.reference: ack for ack in acks}
    for due in halfway + rest:
        assert due.case_id == f"case_{list(by_reference).index(due.reference)}"
        assert due.decision == await authority.exit_permit_status(due.reference, T0 + timedelta(days=400))
        assert due.decision.status is not DecisionStatus.PENDING


async def test_a_boarding_letter_keeps_the_validity_the_request_asked_for() -> None:
    settings = quiet(document_delay_min=timedelta(days=5), document_delay_max=timedelta(days=5))
    issuer = SimulatedTravelDocumentIssuer(settings)
    asked = TravelDocumentRequest(
        case_id="case_1",
        traveller=traveller("per_1"),
        kind="boarding_letter",
        destination_country="US",
        requested_at=T0,
        valid_for_days=180,
    )
    letter = await issuer.request_travel_document(asked, "case_1-doc-per_1-1")
    etd = await issuer.request_travel_document(
        asked.model_copy(update={"kind": "emergency_travel_document", "valid_for_days": None}), "case_1-doc-per_1-2"
    )
    fresh = SimulatedTravelDocumentIssuer(settings)
    letter_decision = await fresh.travel_document_status(letter.reference, T0 + timedelta(days=6))
    etd_decision = await fresh.travel_document_status(etd.reference, T0 + timedelta(days=6))
    assert letter.reference.startswith("BL-") and etd.reference.startswith("ETD-")
    assert letter_decision.valid_until == date(2026, 3, 7) + timedelta(days=180)
    assert etd_decision.valid_until == date(2026, 3, 7) + timedelta(days=365)
    [due] = [d for d in issuer.due_callbacks(T0 + timedelta(days=6)) if d.reference == letter.reference]
    assert due.person_id == "per_1"


async def test_a_sold_out_date_stays_sold_out_and_a_later_date_eventually_works() -> None:
    travel = SimulatedTravelPartner(quiet(no_seats_rate=0.5, flight_spread_days=0))
    sold_out = [day for day in (date(2026, 4, 1) + timedelta(days=i) for i in range(30)) if not travel.has_seats(day)]
    assert 5 < len(sold_out) < 25
    day = sold_out[0]
    for attempt in range(3):
        with pytest.raises(PartnerRejected) as rejected:
            await travel.book_flight(flight_request(earliest=day), f"case_1-flight-{attempt}")
        assert rejected.value.code == "no_seats" and day.isoformat() in rejected.value.reason
    assert travel.bookings_made == 0
    earliest = day
    while True:
        earliest += timedelta(days=1)
        try:
            booking = await travel.book_flight(flight_request(earliest=earliest), "case_1-flight-9")
            break
        except PartnerRejected:
            assert earliest - day < timedelta(days=30)
    assert booking.departs_at.date() == earliest and travel.has_seats(earliest)


async def test_a_booking_respects_the_window_and_asks_for_what_travellers_need() -> None:
    travel = SimulatedTravelPartner(quiet(no_seats_rate=0, flight_spread_days=6, flight_min_lead=timedelta(days=3)))
    family = [
        traveller("per_1", FunctionalNeed.WHEELCHAIR, FunctionalNeed.FOLLOW_UP),
        traveller("per_2", FunctionalNeed.OXYGEN),
        traveller("per_3", FunctionalNeed.UNACCOMPANIED_MINOR),
        traveller("per_4"),
    ]
    for i in range(40):
        request = flight_request(earliest=date(2026, 3, 3), travellers=family)
        booking = await travel.book_flight(request, f"case_1-flight-{i}")
        assert booking.departs_at >= T0 + timedelta(days=3)
        assert booking.departs_at.date() <= date(2026, 3, 3) + timedelta(days=6)
        assert booking.departs_at + timedelta(hours=4) < booking.arrives_at < booking.departs_at + timedelta(hours=20)
        assert booking.special_service_requests == ["WCHR", "OXYG", "UMNR"]
        assert booking.seats == 4 and booking.destination == "Toronto"
    with pytest.raises(PartnerRejected) as rejected:
        await travel.book_flight(flight_request(earliest=date(2026, 3, 3), latest=date(2026, 3, 4)), "case_2-flight-1")
    assert rejected.value.code == "no_seats"


async def test_flight_status_and_cancellation() -> None:
    travel = SimulatedTravelPartner(quiet(no_seats_rate=0))
    booking = await travel.book_flight(flight_request(), "case_1-flight-1")
    fresh = SimulatedTravelPartner(quiet())
    before = await fresh.flight_status(booking.booking_ref, booking.departs_at - timedelta(minutes=1))
    after = await fresh.flight_status(booking.booking_ref, booking.departs_at)
    assert not before.departed and before.departed_at is None
    assert after.departed and after.departed_at == booking.departs_at
    await travel.cancel_booking("case_1-flight-1")
    await travel.cancel_booking("case_1-flight-1")
    await travel.cancel_booking("case_9-flight-1")  # never booked: nothing to do
    assert travel.cancelled_keys == {"case_1-flight-1"}
    with pytest.raises(PartnerRejected) as rejected:
        await travel.flight_status(booking.booking_ref, booking.departs_at)
    assert rejected.value.code == "booking_cancelled"


async def test_orientation_seats_families_together_up_to_capacity_and_release_frees_seats() -> None:
    orientation = SimulatedOrientationPartner(quiet())
    first = await orientation.reserve_seat(seat_request(10), "case_1-pdo-1")
    second = await orientation.reserve_seat(seat_request(10), "case_2-pdo-1")
    third = await orientation.reserve_seat(seat_request(10), "case_3-pdo-1")
    small = await orientation.reserve_seat(seat_request(5), "case_4-pdo-1")
    assert first.session_id == second.session_id == small.session_id != third.session_id
    assert first.starts_at >= T0 and first.starts_at - T0 < timedelta(days=7)
    assert third.starts_at == first.starts_at + timedelta(days=7)
    assert first.ends_at == first.starts_at + timedelta(days=3)
    assert orientation.seats_taken[first.session_id] == 25
    await orientation.release_seat("case_1-pdo-1")
    await orientation.release_seat("case_1-pdo-1")
    await orientation.release_seat("case_9-pdo-1")  # never reserved: nothing to do
    assert orientation.released_keys == {"case_1-pdo-1"}
    assert orientation.seats_taken[first.session_id] == 15
    fourth = await orientation.reserve_seat(seat_request(10), "case_5-pdo-1")
    assert fourth.session_id == first.session_id
    assert orientation.reservations_made == 5
    with pytest.raises(PartnerRejected) as rejected:
        await orientation.reserve_seat(seat_request(6, latest=first.starts_at.date()), "case_6-pdo-1")
    assert rejected.value.code == "no_session"


async def test_attendance_is_known_only_after_the_session_ends() -> None:
    orientation = SimulatedOrientationPartner(quiet(orientation_no_show_rate=0))
    reservation = await orientation.reserve_seat(seat_request(3), "case_1-pdo-1")
    during = await orientation.attendance(reservation.reservation_id, reservation.ends_at - timedelta(seconds=1))
    assert during.attended is None and during.completed_on is None
    fresh = SimulatedOrientationPartner(quiet(orientation_no_show_rate=0))
    done = await fresh.attendance(reservation.reservation_id, reservation.ends_at)
    assert done.attended is True and done.completed_on == reservation.ends_at.date()
    no_shows = SimulatedOrientationPartner(quiet(orientation_no_show_rate=1))
    missed = await no_shows.attendance(reservation.reservation_id, reservation.ends_at)
    assert missed.attended is False and missed.completed_on is None
    with pytest.raises(PartnerRejected) as rejected:
        await orientation.attendance("PDO-nothing", reservation.ends_at)
    assert rejected.value.code == "unknown_reference"


async def test_appointments_come_after_the_lead_time_and_before_a_deadline() -> None:
    medical = SimulatedMedicalPartner(quiet(appointment_lead=timedelta(days=2)))
    request = AppointmentRequest(
        case_id="case_1",
        person_id="per_1",
        kind=AppointmentKind.HEALTH_ASSESSMENT,
        clinic_id="clinic_1",
        not_before=T0 + timedelta(minutes=7),
    )
    appointment = await medical.schedule_appointment(request, "case_1-assessment-per_1-1")
    assert T0 + timedelta(days=2, minutes=7) <= appointment.at <= T0 + timedelta(days=2, hours=2)
    assert appointment.at.minute in (0, 30) and appointment.at.second == 0
    assert await medical.schedule_appointment(request, "case_1-assessment-per_1-1") == appointment
    assert medical.appointments_made == 1
    urgent = request.model_copy(update={"deadline": T0 + timedelta(hours=20)})
    squeezed = await medical.schedule_appointment(urgent, "case_1-fitness-per_1-1")
    assert request.not_before <= squeezed.at < urgent.deadline
    impossible = request.model_copy(update={"deadline": T0})
    with pytest.raises(PartnerRejected) as rejected:
        await medical.schedule_appointment(impossible, "case_1-fitness-per_1-2")
    assert rejected.value.code == "no_slot_before_deadline"
    await medical.cancel_appointment("case_1-assessment-per_1-1")
    await medical.cancel_appointment("case_1-assessment-per_1-1")
    await medical.cancel_appointment("case_9-assessment-per_1-1")
    assert medical.cancelled_keys == {"case_1-assessment-per_1-1"}


async def test_the_demo_profile_books_appointments_seconds_ahead() -> None:
    medical = SimulatedMedicalPartner(quiet_demo())
    request = AppointmentRequest(
        case_id="case_1", person_id="per_1", kind=AppointmentKind.FITNESS_TO_TRAVEL, clinic_id="c", not_before=T0
    )
    appointment = await medical.schedule_appointment(request, "k")
    assert T0 < appointment.at <= T0 + timedelta(seconds=10)


async def test_the_demo_profile_flies_minutes_after_booking_for_today() -> None:
    travel = SimulatedTravelPartner(quiet_demo(no_seats_rate=0))
    for i in range(20):
        booking = await travel.book_flight(flight_request(earliest=T0.date()), f"case_{i}-flight-1")
        assert T0 + timedelta(seconds=60) <= booking.departs_at <= T0 + timedelta(seconds=180)


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_zero_latency_never_sleeps_and_latency_has_deterministic_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = RecordingSleep()
    monkeypatch.setattr(gate_module, "asyncio", types.SimpleNamespace(sleep=recorder.sleep))
    fast = SimulatedTravelPartner(quiet(no_seats_rate=0))
    for i in range(20):
        await fast.book_flight(flight_request(), f"case_{i}-flight-1")
        await fast.cancel_booking(f"case_{i}-flight-1")
    assert recorder.delays == []
    for i in range(200):
        await SimulatedTravelPartner(quiet(latency_ms=20, no_seats_rate=0)).cancel_booking(f"case_{i}-flight-1")
    first_run = list(recorder.delays)
    assert len(set(first_run)) > 100 and all(0.01 <= d < 0.03 for d in first_run)
    assert 0.018 < sum(first_run) / len(first_run) < 0.022
    recorder.delays.clear()
    for i in range(200):
        await SimulatedTravelPartner(quiet(latency_ms=20, no_seats_rate=0)).cancel_booking(f"case_{i}-flight-1")
    assert recorder.delays == first_run


def test_the_simulated_clinicians_find_what_real_ones_would_in_the_usual_shares() -> None:
    clinician = SimulatedClinician(seed=7)
    people = [f"per_{i}" for i in range(3000)]
    first = [clinician.assessment(p, date(2026, 3, 2)) for p in people]
    assert first == [SimulatedClinician(seed=7).assessment(p, date(2026, 3, 2)) for p in people]
    share = {tb: sum(r.tb_class is tb for r in first) / len(first) for tb in TbClass}
    assert 0.015 < share[TbClass.A] < 0.045 and 0.06 < share[TbClass.B1] < 0.10
    assert share[TbClass.NONE] + share[TbClass.B0] > 0.8
    assert all(r.examined_by and r.findings for r in first)
    assert any(FunctionalNeed.WHEELCHAIR in r.functional_needs for r in first)
    re_exams = [clinician.assessment(r.person_id, date(2026, 6, 1), attempt=2) for r in first if not r.cleared]
    assert re_exams and all(r.cleared for r in re_exams)
    assert clinician.screening("per_1", date(2026, 3, 2)).cleared
    unfit = [p for p in people if not clinician.fitness(p, T0).fit]
    assert 0.02 < len(unfit) / len(people) < 0.06
    assert all(clinician.fitness(p, T0, attempt=2).fit for p in unfit)


async def test_the_factory_builds_simulators_that_share_one_fault_plan() -> None:
    partners = build_partners(PartnerAdapters(), quiet())
    assert isinstance(partners.travel, SimulatedTravelPartner)
    assert isinstance(partners.medical, SimulatedMedicalPartner)
    assert {type(p) for p in partners.callback_sources()} == {
        SimulatedExitPermitAuthority,
        SimulatedTravelDocumentIssuer,
    }
    partners.faults.fail_next("orientation.reserve_seat", times=1)
    with pytest.raises(PartnerUnavailable):
        await partners.orientation.reserve_seat(seat_request(2), "case_1-pdo-1")
    assert (await partners.orientation.reserve_seat(seat_request(2), "case_1-pdo-1")).seats == 2
    assert partners.faults.injected["orientation.reserve_seat"] == 1

