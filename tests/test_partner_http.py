"""Our HTTP adapters against the partner simulator service over real HTTP: the same answers as the in-process
simulators, one side effect per idempotency key however often a request is resent, and each network failure
classified the way the activities retry it (or not)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError

from activities.partners import _partner_call
from domain.case import FunctionalNeed
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
from partners.http.client import PartnerHttpClient, retry_after_seconds
from predeparture.settings import AdapterKind, PartnerAdapters, SimulatorSettings
from tests.partner_harness import ALL_HTTP, SimService, serving_sim

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SIM = SimulatorSettings(seed=5, latency_ms=0, transient_failure_rate=0, no_seats_rate=0, permit_refusal_rate=0)
AMINA = TravellerRef(person_id="p-1", given_name="Amina", family_name="Haddad", date_of_birth=date(1990, 4, 1),
                     nationality="SY", functional_needs=[FunctionalNeed.WHEELCHAIR])


def flight_request(case_id: str = "case-1") -> FlightRequest:
    return FlightRequest(case_id=case_id, travellers=[AMINA], destination_country="CA", destination_city="Winnipeg",
                         earliest=date(2026, 4, 1), requested_at=T0)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimService]:
    async with serving_sim(SIM) as service:
        yield service


@pytest_asyncio.fixture
async def partners(sim: SimService) -> AsyncIterator[PartnerSet]:
    built = build_partners(ALL_HTTP, SIM, sim.network(timeout=2.0))
    yield built
    await built.aclose()


async def test_every_role_answers_over_http_as_the_in_process_simulator_does(partners: PartnerSet) -> None:
    local = build_partners(PartnerAdapters(), SIM)
    permit = ExitPermitRequest(case_id="case-1", travellers=[AMINA], destination_country="CA", requested_at=T0)
    document = TravelDocumentRequest(case_id="case-1", traveller=AMINA, kind="boarding_letter",
                                     destination_country="CA", requested_at=T0, valid_for_days=30)
    appointment = AppointmentRequest(case_id="case-1", person_id="p-1", kind=AppointmentKind.HEALTH_ASSESSMENT,
                                     clinic_id="clinic-1", not_before=T0)
    seat = SeatRequest(case_id="case-1", language="ar", seats=3, not_before=T0)
    for side in (partners, local):
        ack = await side.exit_permits.request_exit_permit(permit, "case-1-exit_permit-1")
        assert (await side.exit_permits.exit_permit_status(ack.reference, T0 + timedelta(days=400))).status \
            is DecisionStatus.ISSUED
        doc = await side.travel_documents.request_travel_document(document, "case-1-td-p-1-1")
        decided = await side.travel_documents.travel_document_status(doc.reference, T0 + timedelta(days=100))
        seen = await side.medical.schedule_appointment(appointment, "case-1-apt-1")
        reservation = await side.orientation.reserve_seat(seat, "case-1-orientation-1")
        attended = await side.orientation.attendance(reservation.reservation_id, T0 + timedelta(days=60))
        booking = await side.travel.book_flight(flight_request(), "case-1-flight-1")
        status = await side.travel.flight_status(booking.booking_ref, booking.departs_at + timedelta(hours=1))
        if side is partners:
            over_http = (ack, decided, seen, reservation, attended, booking, status)
        else:
            assert (ack, decided, seen, reservation, attended, booking, status) == over_http
    assert over_http[5].special_service_requests == ["WCHR"]
    assert over_http[6].departed is True


async def test_a_resent_request_acts_once_and_gets_the_first_answer(partners: PartnerSet, sim: SimService) -> None:
    first = await partners.travel.book_flight(flight_request(), "case-1-flight-1")
    again = await partners.travel.book_flight(flight_request(), "case-1-flight-1")
    await partners.travel.cancel_booking("case-1-flight-1")
    await partners.travel.cancel_booking("case-1-flight-1")
    assert again == first
    stats = await sim.stats()
    assert stats["side_effects"]["travel.book_flight"] == 1
    assert stats["side_effects"]["travel.cancel_booking"] == 1
    with pytest.raises(PartnerRejected) as cancelled:
        await partners.travel.flight_status(first.booking_ref, T0)
    assert cancelled.value.code == "booking_cancelled"


async def test_a_business_rejection_is_final_and_carries_the_partners_reason(partners: PartnerSet) -> None:
    too_many = SeatRequest(case_id="case-2", language="ar", seats=40, not_before=T0)
    with pytest.raises(PartnerRejected) as rejected:
        await partners.orientation.reserve_seat(too_many, "case-2-orientation-1")
    assert rejected.value.code == "family_too_large"
    with pytest.raises(ApplicationError) as error:
        await _partner_call(partners.orientation.reserve_seat(too_many, "case-2-orientation-1"))
    assert error.value.non_retryable and "a session seats 25" in error.value.message


@pytest.mark.parametrize(("fault", "status"), [("error_rate", 503), ("throttle_rate", 429)])
async def test_503_and_429_are_retried_after_the_partners_retry_after(partners: PartnerSet, sim: SimService,
                                                                      fault: str, status: int) -> None:
    await sim.set_faults(**{fault: 1.0}, retry_after_seconds=7)
    with pytest.raises(ApplicationError) as error:
        await _partner_call(partners.travel.book_flight(flight_request(), "case-1-flight-1"))
    assert not error.value.non_retryable
    assert error.value.next_retry_delay == timedelta(seconds=7)
    assert f"HTTP {status}" in error.value.message
    assert (await sim.stats())["side_effects"]["travel.book_flight"] == 0


async def test_a_partner_down_for_a_while_is_retried_then_answers(partners: PartnerSet, sim: SimService) -> None:
    await sim.set_faults(down_for_seconds=600)
    with pytest.raises(PartnerUnavailable) as down:
        await partners.medical.cancel_appointment("case-1-apt-1")
    assert down.value.retry_after_seconds is not None and down.value.retry_after_seconds > 500
    await sim.set_faults()  # back up
    await partners.medical.cancel_appointment("case-1-apt-1")


async def test_an_answer_lost_to_a_dropped_connection_is_recovered_by_resending(partners: PartnerSet,
                                                                                sim: SimService) -> None:
    await sim.set_faults(drop_rate=1.0, roles=["travel"])
    with pytest.raises(PartnerUnavailable) as dropped:
        await partners.travel.book_flight(flight_request(), "case-1-flight-1")
    assert "connection failed" in str(dropped.value)
    await sim.set_faults()
    booking = await partners.travel.book_flight(flight_request(), "case-1-flight-1")
    assert booking.seats == 1
    assert (await sim.stats())["side_effects"]["travel.book_flight"] == 1


async def test_a_slow_partner_times_out_as_retryable(sim: SimService) -> None:
    slow = build_partners(ALL_HTTP, SIM, sim.network(timeout=0.2))
    await sim.set_faults(latency="uniform", latency_ms_min=600, latency_ms_max=600)
    try:
        with pytest.raises(PartnerUnavailable, match="timed out"):
            await slow.exit_permits.exit_permit_status("EP-unknown-0000000000", T0)
    finally:
        await slow.aclose()


async def test_a_refused_credential_is_retryable_and_says_so(sim: SimService) -> None:
    wrong = build_partners(ALL_HTTP, SIM, sim.network(keys={role: "not-the-key" for role in
                                                            ("exit_permits", "travel_documents", "medical",
                                                             "orientation", "travel")}))
    try:
        with pytest.raises(PartnerUnavailable, match="credential"):
            await wrong.travel.book_flight(flight_request(), "case-1-flight-1")
    finally:
        await wrong.aclose()
    assert (await sim.stats())["side_effects"]["travel.book_flight"] == 0


async def test_urls_carry_no_personal_data(sim: SimService) -> None:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(str(request.url))

    built = build_partners(ALL_HTTP, SIM, sim.network())
    try:
        for partner in (built.travel, built.exit_permits):
            partner.client._http.event_hooks["request"].append(record)
        booking = await built.travel.book_flight(flight_request(), "case-1-flight-1")
        await built.travel.flight_status(booking.booking_ref, T0)
        await built.exit_permits.request_exit_permit(
            ExitPermitRequest(case_id="case-1", travellers=[AMINA], destination_country="CA", requested_at=T0), "k-1")
    finally:
        await built.aclose()
    assert len(seen) == 3
    for url in seen:
        for personal in ("Amina", "Haddad", "1990", "SY", "p-1"):
            assert personal not in url


async def test_a_reference_cannot_reach_another_path(partners: PartnerSet) -> None:
    with pytest.raises(PartnerRejected) as unknown:
        await partners.travel.flight_status("../exit-permits", T0)
    assert unknown.value.code in ("invalid_reference", "http_404")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert retry_after_seconds("12") == 12
    assert retry_after_seconds("Mon, 02 Mar 2026 08:00:30 GMT", now) == 30
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_an_http_role_without_an_endpoint_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="PARTNER_NETWORK__TRAVEL"):
        build_partners(PartnerAdapters(travel=AdapterKind.HTTP), SIM, None)


async def test_a_side_effect_without_an_idempotency_key_is_never_sent(sim: SimService) -> None:
    from partners.contract.routes import operation

    client = PartnerHttpClient("travel", sim.network().travel)  # type: ignore[arg-type]
    try:
        with pytest.raises(ValueError, match="idempotency key"):
            await client.call(operation("travel", "book_flight"), body=flight_request())
    finally:
        await client.aclose()
