"""The orientation partner: pre-departure orientation sessions per language on a fixed weekly grid, with a
fixed number of seats each. Families sit together, so a family takes the first session with room for all."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from domain.partner_messages import Attendance, SeatRequest, SeatReservation
from partners.errors import PartnerRejected
from partners.simulators.draws import Draws
from partners.simulators.faults import FaultPlan
from partners.simulators.gate import CallGate
from partners.simulators.references import as_utc, make_reference, parse, render
from predeparture.settings import SimulatorSettings

GRID_EPOCH = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)  # a Monday morning; sessions start every `every` after it
PREFIX = "PDO"


class SimulatedOrientationPartner:
    role = "orientation"

    def __init__(self, settings: SimulatorSettings, faults: FaultPlan | None = None) -> None:
        if settings.orientation_session_every.total_seconds() <= 0:
            raise ValueError("orientation_session_every must be positive")
        self.settings = settings
        self.draws = Draws(settings.seed)
        self.faults = faults or FaultPlan()
        self._gate = CallGate(self.role, settings, self.faults, self.draws)
        self.reservations: dict[str, SeatReservation] = {}
        self.released_keys: set[str] = set()
        self._released_ids: set[str] = set()
        self.reservations_made = 0
        self.seats_taken: Counter[str] = Counter()  # session_id -> seats

    async def reserve_seat(self, request: SeatRequest, idempotency_key: str) -> SeatReservation:
        call = await self._gate.enter("reserve_seat", idempotency_key)
        reservation = self.reservations.get(idempotency_key)
        if reservation is None:
            reservation = self._reserve(request, idempotency_key)
            self.reservations[idempotency_key] = reservation
            self.seats_taken[reservation.session_id] += reservation.seats
            self.reservations_made += 1
        self._gate.leave(call)
        return reservation

    async def release_seat(self, idempotency_key: str) -> None:
        call = await self._gate.enter("release_seat", idempotency_key)
        reservation = self.reservations.get(idempotency_key)
        if reservation is not None and idempotency_key not in self.released_keys:
            self.seats_taken[reservation.session_id] -= reservation.seats
            self.released_keys.add(idempotency_key)
            self._released_ids.add(reservation.reservation_id)
        self._gate.leave(call)

    async def attendance(self, reservation_id: str, as_of: datetime) -> Attendance:
        call = await self._gate.enter("attendance", reservation_id)
        reference = parse(self.draws, reservation_id, frozenset({PREFIX}))
        if reference is None:
            raise PartnerRejected(self.role, "unknown_reference", "no reservation with this id")
        if reservation_id in self._released_ids:
            raise PartnerRejected(self.role, "reservation_released", "the seats were given back before the session")
        ends_at = reference.at + self.settings.orientation_session_length
        if as_utc(as_of) < ends_at:
            answer = Attendance(reservation_id=reservation_id, attended=None)
        elif self.draws.chance(self.settings.orientation_no_show_rate, "no_show", reservation_id):
            answer = Attendance(reservation_id=reservation_id, attended=False)
        else:
            answer = Attendance(reservation_id=reservation_id, attended=True, completed_on=ends_at.date())
        self._gate.leave(call)
        return answer

    def session_start(self, index: int) -> datetime:
        return GRID_EPOCH + self.settings.orientation_session_every * index

    def _reserve(self, request: SeatRequest, key: str) -> SeatReservation:
        seats = self.settings.orientation_session_seats
        if request.seats > seats:
            raise PartnerRejected(self.role, "family_too_large", f"a session seats {seats}")
        every = self.settings.orientation_session_every
        index = max(0, -((GRID_EPOCH - as_utc(request.not_before)) // every))  # first start at or after not_before
        while True:
            starts_at = self.session_start(index)
            if request.latest is not None and starts_at.date() > request.latest:
                raise PartnerRejected(self.role, "no_session", f"no {request.language} session with room by then")
            session_id = f"{PREFIX}-{request.language}-{starts_at:%Y%m%dT%H%M%SZ}"
            if self.seats_taken[session_id] + request.seats <= seats:
                break
            index += 1
        reference = render(self.draws, make_reference(self.draws, PREFIX, starts_at, key))
        return SeatReservation(
            reservation_id=reference,
            session_id=session_id,
            language=request.language,
            seats=request.seats,
            starts_at=starts_at,
            ends_at=starts_at + self.settings.orientation_session_length,
        )
