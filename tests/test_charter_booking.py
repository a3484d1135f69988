"""The travel partner seats a family on a chartered flight: that flight and no other, only inside the family's
window, once per idempotency key, and its status answers like any booking's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.partner_messages import CharterFlight
from partners.errors import PartnerRejected
from partners.simulators.travel import SimulatedTravelPartner
from tests.test_simulators import T0, flight_request, quiet

CHARTER = CharterFlight(flight_number="CH0412", departs_at=datetime(2026, 4, 20, 22, tzinfo=UTC),
                        arrives_at=datetime(2026, 4, 21, 12, tzinfo=UTC), origin="NBO")


async def test_a_family_is_seated_on_the_charter_it_was_allocated_to() -> None:
    travel = SimulatedTravelPartner(quiet())
    booking = await travel.book_flight(flight_request(charter=CHARTER, latest=date(2026, 5, 1)), "case_1-flight-1")
    assert (booking.flight_number, booking.departs_at, booking.arrives_at, booking.origin, booking.seats) == (
        "CH0412", CHARTER.departs_at, CHARTER.arrives_at, "NBO", 2)
    again = await travel.book_flight(flight_request(charter=CHARTER, latest=date(2026, 5, 1)), "case_1-flight-1")
    assert again == booking and travel.bookings_made == 1
    status = await travel.flight_status(booking.booking_ref, CHARTER.departs_at + timedelta(minutes=1))
    assert status.departed and status.departed_at == CHARTER.departs_at


@pytest.mark.parametrize("earliest, latest", [(date(2026, 4, 21), None), (date(2026, 4, 1), date(2026, 4, 19))])
async def test_a_charter_outside_the_family_window_is_refused_and_nothing_is_booked(earliest: date,
                                                                                   latest: date | None) -> None:
    travel = SimulatedTravelPartner(quiet())
    with pytest.raises(PartnerRejected) as refused:
        await travel.book_flight(flight_request(earliest=earliest, latest=latest, charter=CHARTER), "case_1-flight-1")
    assert refused.value.code == "outside_window"
    assert travel.bookings_made == 0


async def test_a_charter_that_has_left_is_refused() -> None:
    travel = SimulatedTravelPartner(quiet())
    gone = CHARTER.model_copy(update={"departs_at": T0 - timedelta(hours=1), "arrives_at": T0 + timedelta(hours=9)})
    with pytest.raises(PartnerRejected) as refused:
        await travel.book_flight(flight_request(earliest=T0.date() - timedelta(days=1), charter=gone),
                                 "case_1-flight-1")
    assert refused.value.code == "flight_departed"
