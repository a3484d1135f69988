"""The travel partner: books seats for a whole family on one flight, with the special service requests their
functional needs call for. Some dates are sold out; the caller asks again from a later date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from domain.case import FunctionalNeed
from domain.partner_messages import CharterFlight, FlightBooking, FlightRequest, FlightStatus
from partners.errors import PartnerRejected
from partners.simulators.draws import Draws
from partners.simulators.faults import FaultPlan
from partners.simulators.gate import CallGate
from partners.simulators.references import Reference, as_utc, make_reference, parse, render
from predeparture.settings import SimulatorSettings

PREFIX = "FL"
SERVICE_REQUESTS = {
    FunctionalNeed.WHEELCHAIR: "WCHR",
    FunctionalNeed.OXYGEN: "OXYG",
    FunctionalNeed.STRETCHER: "STCR",
    FunctionalNeed.MEDICAL_ESCORT: "MEDA",
    FunctionalNeed.UNACCOMPANIED_MINOR: "UMNR",
}
AIRLINES = ("ET", "KQ", "TK", "QR", "EK", "LH", "RJ", "TG")
ORIGINS = ("Nairobi", "Kampala", "Addis Ababa", "Amman", "Beirut", "Istanbul", "Bangkok", "Kathmandu", "Dhaka")
FIRST_HOUR, LAST_HOUR = 6, 22


def _ceil_to_minute(moment: datetime) -> datetime:
    floored = moment.replace(second=0, microsecond=0)
    return floored if floored == moment else floored + timedelta(minutes=1)


class SimulatedTravelPartner:
    role = "travel"

    def __init__(self, settings: SimulatorSettings, faults: FaultPlan | None = None) -> None:
        self.settings = settings
        self.draws = Draws(settings.seed)
        self.faults = faults or FaultPlan()
        self._gate = CallGate(self.role, settings, self.faults, self.draws)
        self.bookings: dict[str, FlightBooking] = {}
        self.cancelled_keys: set[str] = set()
        self.bookings_made = 0
        self._cancelled_refs: set[str] = set()

    async def book_flight(self, request: FlightRequest, idempotency_key: str) -> FlightBooking:
        call = await self._gate.enter("book_flight", idempotency_key)
        booking = self.bookings.get(idempotency_key)
        if booking is None:
            booking = self._book(request, idempotency_key)
            self.bookings[idempotency_key] = booking
            self.bookings_made += 1
        self._gate.leave(call)
        return booking

    async def cancel_booking(self, idempotency_key: str) -> None:
        call = await self._gate.enter("cancel_booking", idempotency_key)
        booking = self.bookings.get(idempotency_key)
        if booking is not None:
            self.cancelled_keys.add(idempotency_key)
            self._cancelled_refs.add(booking.booking_ref)
        self._gate.leave(call)

    async def flight_status(self, booking_ref: str, as_of: datetime) -> FlightStatus:
        call = await self._gate.enter("flight_status", booking_ref)
        reference = parse(self.draws, booking_ref, frozenset({PREFIX}))
        if reference is None:
            raise PartnerRejected(self.role, "unknown_reference", "no booking with this reference")
        if booking_ref in self._cancelled_refs:
            raise PartnerRejected(self.role, "booking_cancelled", "the booking was cancelled")
        departed = as_utc(as_of) >= reference.at
        self._gate.leave(call)
        return FlightStatus(booking_ref=booking_ref, departed=departed, departed_at=reference.at if departed else None)

    def has_seats(self, day: date) -> bool:
        """Sold-out dates are the same for every request, so asking again for that date gets the same no."""
        return not self.draws.chance(self.settings.no_seats_rate, "no_seats", day)

    def _book(self, request: FlightRequest, key: str) -> FlightBooking:
        if request.charter is not None:
            return self._seat_on_charter(request, request.charter, key)
        departs_at = self._departure(request, key)
        day = departs_at.date()
        if request.latest is not None and day > request.latest:
            raise PartnerRejected(self.role, "no_seats", f"no flight with seats by {request.latest.isoformat()}")
        if not self.has_seats(day):
            raise PartnerRejected(self.role, "no_seats", f"no seats left on {day.isoformat()}")
        reference = make_reference(self.draws, PREFIX, departs_at, key)
        flight_time = timedelta(hours=5 + self.draws.below(14, "flight_time", key), minutes=self._minute(key, "arr"))
        return self._booking(request, reference, flight_number=(
            f"{self.draws.pick(AIRLINES, 'airline', key)}{100 + self.draws.below(9900, 'flight', key)}"),
            arrives_at=reference.at + flight_time, origin=self.draws.pick(ORIGINS, "origin", request.case_id))

    def _seat_on_charter(self, request: FlightRequest, charter: CharterFlight, key: str) -> FlightBooking:
        """The aircraft is ours: no date is sold out, but the partner books no flight outside the family's window
        or one that has left."""
        departs_at = as_utc(charter.departs_at)
        day = departs_at.date()
        if day < request.earliest or (request.latest is not None and day > request.latest):
            raise PartnerRejected(self.role, "outside_window", f"the charter leaves on {day.isoformat()}, outside "
                                                               "the family's window")
        if departs_at <= as_utc(request.requested_at):
            raise PartnerRejected(self.role, "flight_departed", "the charter has left")
        reference = make_reference(self.draws, PREFIX, departs_at, key)
        return self._booking(request, reference, flight_number=charter.flight_number,
                             arrives_at=as_utc(charter.arrives_at), origin=charter.origin)

    def _booking(self, request: FlightRequest, reference: Reference, *, flight_number: str, arrives_at: datetime,
                 origin: str) -> FlightBooking:
        return FlightBooking(
            booking_ref=render(self.draws, reference),
            flight_number=flight_number,
            departs_at=reference.at,
            arrives_at=arrives_at,
            origin=origin,
            destination=request.destination_city,
            seats=len(request.travellers),
            special_service_requests=[
                SERVICE_REQUESTS[need]
                for traveller in request.travellers
                for need in traveller.functional_needs
                if need in SERVICE_REQUESTS
            ],
        )

    def _departure(self, request: FlightRequest, key: str) -> datetime:
        """A date up to `flight_spread_days` after the earliest, at a set hour. When that day is already under way
        by the end of the minimum lead, the family gets the next departure after the lead instead, so the demo
        profile (a lead of a minute, earliest = today) flies within minutes rather than at a far hour."""
        day = request.earliest + timedelta(days=self.draws.below(self.settings.flight_spread_days + 1, "day", key))
        hour = FIRST_HOUR + self.draws.below(LAST_HOUR - FIRST_HOUR + 1, "hour", key)
        lead_ends = as_utc(request.requested_at) + self.settings.flight_min_lead
        if day > lead_ends.date():
            return datetime.combine(day, time(hour, self._minute(key, "dep")), UTC)
        if self.settings.flight_exact_lead:
            return lead_ends
        return _ceil_to_minute(lead_ends + self.settings.flight_min_lead * self.draws.unit("next_departure", key))

    def _minute(self, key: str, leg: str) -> int:
        return 5 * self.draws.below(12, "minute", leg, key)
