"""A 350-seat charter with 100 families, on the time-skipping server: the notice at the cutoff, amendments as
families drop out, the final manifest after boarding, and the reception teams' confirmations that close it.
Reception teams are the reference receiver, in process; one team has no endpoint at all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.messages import flight_key
from activities.movements import (
    MOVEMENT_CLOSED,
    JoinMovementCall,
    LeaveMovementCall,
    MovementActivities,
)
from domain.case import Case, FunctionalNeed
from domain.departure import BookingRecord, BookingStatus, Phase, ProgressUpdate
from domain.documents import ChangeKind, FlightLeg, ManifestContent, movement_id
from domain.movement import (
    ArrivalConfirmation,
    BoardingRecord,
    LeaveMovement,
    MovementInput,
    MovementKind,
    MovementPhase,
    MovementState,
    SpecialService,
    movement_workflow_id,
    notice_cutoff,
    party_of,
    validate_join,
)
from domain.partner_messages import FlightBooking
from domain.webhooks import DeliveryStatus, ReceptionEndpoint
from partners.factory import build_partners
from predeparture.receiver import MANIFEST_PATH, ReceivedManifests, build_receiver
from predeparture.settings import PartnerAdapters
from predeparture.temporal import data_converter
from predeparture.worker import build_worker
from store.documents import DocumentArchive
from store.repository import Store
from store.webhooks import SecretSealer, WebhookStore
from tests.conftest import venv_binary
from tests.departure_harness import quiet_simulator
from tests.factories import family
from workflows.movement import GATHER_CHANGES, MovementWorkflow

KEY = bytes(range(32))
SECRET = b"reception-team-shared-secret-0001"


class ReceptionTeams(httpx.AsyncBaseTransport):
    """One reference receiver per team, told apart by host."""

    def __init__(self) -> None:
        self._apps: dict[str, httpx.ASGITransport] = {}
        self.received: dict[str, ReceivedManifests] = {}

    def url_for(self, organisation: str) -> str:
        kept = self.received[organisation] = ReceivedManifests()
        self._apps[f"{organisation}.test"] = httpx.ASGITransport(app=build_receiver(SECRET, kept))
        return f"http://{organisation}.test{MANIFEST_PATH}"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._apps[request.url.host].handle_async_request(request)


@dataclass
class Charter:
    env: WorkflowEnvironment
    client: Client
    store: Store
    teams: ReceptionTeams
    movements: MovementActivities

    async def handle(self, movement: str) -> WorkflowHandle[MovementWorkflow, MovementState]:
        return self.client.get_workflow_handle_for(MovementWorkflow.run, movement_workflow_id(movement))  # type: ignore[arg-type]

    async def until(self, movement: str, predicate: Callable[[MovementState], bool]) -> MovementState:
        """Polls in real time: the test server's clock only jumps while the test sleeps on it."""
        handle = await self.handle(movement)
        state: MovementState | None = None
        for _ in range(1200):
            try:
                state = await handle.query(MovementWorkflow.get_state)
            except RPCError as busy:
                # A worker replaying a long history on a loaded CI machine can miss the query deadline; the
                # movement is still there, so ask again rather than fail on the machine's speed.
                # (the server says "deadline exceeded"; the client, when its own timeout runs out, "Timeout expired").
                timed_out = busy.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
                if not (timed_out or "deadline" in busy.message or "Timeout expired" in busy.message):
                    raise
                continue
            if predicate(state):
                return state
            await asyncio.sleep(0.05)
        shown = state.model_dump_json(exclude={"parties"})[:2000] if state else "no answer to any query"
        raise AssertionError(f"movement never got there: {shown}")

    async def sleep_until(self, moment: datetime) -> None:
        await self.env.sleep((moment - await self.env.get_current_time()).total_seconds())


@pytest_asyncio.fixture
async def charter(database_url: str, task_queue: str, document_renderer) -> AsyncIterator[Charter]:  # type: ignore[no-untyped-def]
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=venv_binary("temporal-test-server"))
    store = Store.from_url(database_url)
    teams = ReceptionTeams()
    try:
        await store.migrate()
        client = Client(**{**env.client.config(), "data_converter": data_converter("test", KEY)})
        async with httpx.AsyncClient(transport=teams) as http, build_worker(
                client, task_queue, store, build_partners(PartnerAdapters(), quiet_simulator()),
                renderer=document_renderer, sealer=SecretSealer("test", KEY), http=http):
            yield Charter(env, client, store, teams, MovementActivities(client, task_queue))
    finally:
        await store.close()
        await env.shutdown()


@contextmanager
def refused_because(expected: str) -> Iterator[None]:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        yield
    assert expected in str(refused.value.cause)


def delivered(state: MovementState, version: int, *organisations: str) -> bool:
    return all(state.manifests[o].published_version == version and not state.manifests[o].outbox
               for o in organisations)


async def book(store: Store, case: Case, booking: FlightBooking, status: BookingStatus = BookingStatus.BOOKED) -> None:
    record = BookingRecord(attempt=1, idempotency_key=flight_key(case.case_id, 1), status=status, booking=booking)
    phase = Phase.AWAITING_FLIGHT if status is BookingStatus.BOOKED else Phase.DEFERRED
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=phase, bookings=[record]))


async def test_a_charter_of_100_families_from_notice_to_arrival(charter: Charter) -> None:
    now = await charter.env.get_current_time()
    departs = datetime.combine(now.date() + timedelta(days=30), time(22), tzinfo=UTC)
    booking = FlightBooking(booking_ref="CH1", flight_number=f"CH{uuid.uuid4().int % 10000:04d}", departs_at=departs,
                            arrives_at=departs + timedelta(hours=14), origin="NBO", destination="YWG", seats=3)
    movement = movement_id(booking.flight_number, departs.date())
    suffix = uuid.uuid4().hex[:6]
    team_a, team_b, team_c = f"org_a_{suffix}", f"org_b_{suffix}", f"org_c_{suffix}"  # team_c has no endpoint
    webhooks = WebhookStore(charter.store, SecretSealer("test", KEY))
    for team in (team_a, team_b):
        await webhooks.set_endpoint(ReceptionEndpoint(organisation_id=team, url=charter.teams.url_for(team),
                                                      secret=SECRET), now)
    leg = FlightLeg(flight_number=booking.flight_number, origin="NBO", destination="YWG", departs_at=departs,
                    arrives_at=booking.arrives_at)
    # A short history limit, so the movement continues as new on the way and must carry everything over.
    first = MovementInput(movement_id=movement, flight=leg, kind=MovementKind.CHARTER, capacity=350,
                          destination_country="CA", history_limit=100)

    cases: list[Case] = []
    for n in range(100):
        team = team_a if n < 60 else team_b if n < 99 else team_c
        needs = [FunctionalNeed.WHEELCHAIR] if n % 10 == 0 else [FunctionalNeed.MEDICAL_ESCORT] if n % 25 == 1 else []
        case = family(now.date(), children=1, needs=needs)
        case = case.model_copy(update={"destination": case.destination.model_copy(
            update={"receiving_organisation": team})})
        await charter.store.save_case(case)
        await book(charter.store, case, booking)
        cases.append(case)

    def join_of(case: Case) -> JoinMovementCall:
        needs = {p.person_id: list(p.functional_needs) for p in case.people}
        return JoinMovementCall(movement=first, join=party_of(case.case_id, case.destination.receiving_organisation,
                                                               len(case.people), needs))

    for case in cases:
        await charter.movements.join_movement(join_of(case))
    await charter.movements.join_movement(join_of(cases[0]))  # a repeat changes nothing
    state = await charter.until(movement, lambda s: len(s.parties) == 100)
    assert state.phase is MovementPhase.OPEN and state.manifests[team_a].published_version is None
    assert (state.escorts.operational, state.escorts.medical) == (6, 4)  # 300 travellers; families 1, 26, 51, 76
    assert state.seats_taken == 300 + 6 + 4
    assert state.special_services == {SpecialService.WHEELCHAIR: 10}

    # Over capacity: 40 more seats do not fit in the 40 left once one more operational escort is counted.
    crowd = party_of("case_crowd", team_a, 40, {f"per_crowd_{n}": [] for n in range(40)})
    await charter.movements.join_movement(JoinMovementCall(movement=first, join=crowd))
    refused = await charter.until(movement, lambda s: bool(s.refused))
    assert refused.refused[0].reason == (
        "seats: the movement has 350 seats; with this family on board it would need 351, escorts included")
    assert refused.model_dump(exclude={"refused"}) == state.model_dump(exclude={"refused"})
    handle = await charter.handle(movement)
    with refused_because("not departed"):
        await handle.execute_update(MovementWorkflow.confirm_arrival, ArrivalConfirmation(
            organisation_id=team_a, confirmed_by="reception_a"))
    with refused_because("departs at"):
        await handle.execute_update(MovementWorkflow.record_boarding, BoardingRecord(
            boarded_person_ids=[cases[0].principal.person_id], recorded_by="coordinator"))

    # At the cutoff: version 1 for every team on board; the team without an endpoint holds up nobody.
    cutoff = notice_cutoff(booking.arrives_at.date(), 10, [])
    await charter.sleep_until(datetime.combine(cutoff, time(1), tzinfo=UTC))
    state = await charter.until(movement, lambda s: delivered(s, 1, team_a, team_b, team_c))
    assert state.phase is MovementPhase.NOTICE_SENT
    assert [(r.version, r.event.value, r.passengers) for r in charter.teams.received[team_a].listing()] == [
        (1, "manifest.issued", 180)]
    assert [(r.version, r.passengers) for r in charter.teams.received[team_b].listing()] == [(1, 117)]
    assert (state.manifests[team_a].delivery, state.manifests[team_a].delivered_version) == (
        DeliveryStatus.ACKNOWLEDGED, 1)
    assert (state.manifests[team_c].delivery, state.manifests[team_c].last_error) == (
        DeliveryStatus.FAILING, "no reception endpoint")

    # Three families drop out after an unfit check: one amendment per team, naming exactly their people.
    dropped = [cases[0], cases[1], cases[60]]
    for case in dropped:
        await book(charter.store, case, booking, BookingStatus.CANCELLED)
        await charter.movements.leave_movement(LeaveMovementCall(movement_id=movement, leave=LeaveMovement(
            case_id=case.case_id, reason="unfit to travel at the pre-embarkation check")))
    await charter.movements.leave_movement(LeaveMovementCall(movement_id=movement, leave=LeaveMovement(
        case_id=cases[0].case_id, reason="again")))  # a repeat changes nothing
    await charter.env.sleep(GATHER_CHANGES + timedelta(minutes=1))
    state = await charter.until(movement, lambda s: delivered(s, 2, team_a, team_b))
    assert state.manifests[team_c].published_version == 1 and len(state.parties) == 97
    archive = DocumentArchive(charter.store)

    async def content(team: str, version: int) -> ManifestContent:
        [stored] = [m for m in await archive.manifests(movement, team) if m.version == version]
        found = await archive.content(stored.document_id)
        assert found is not None and isinstance(found.content, ManifestContent)
        return found.content

    for team, gone in ((team_a, dropped[:2]), (team_b, dropped[2:])):
        amendment = await content(team, 2)
        assert sorted((c.change, c.person_id) for c in amendment.changes) == sorted(
            (ChangeKind.REMOVED, p.person_id) for case in gone for p in case.people)
        assert [r.event.value for r in charter.teams.received[team].listing()] == [
            "manifest.issued", "manifest.amended"]

    # Boarding: one child of family 61 did not show up. An unknown traveller is refused and changes nothing.
    await charter.sleep_until(departs + timedelta(hours=1))
    no_show = cases[61].people[2].person_id
    boarded = [pid for case in cases if case not in dropped for pid in (p.person_id for p in case.people)
               if pid != no_show]
    before = await handle.query(MovementWorkflow.get_state)
    with refused_because("per_stowaway is not on this movement"):
        await handle.execute_update(MovementWorkflow.record_boarding, BoardingRecord(
            boarded_person_ids=[*boarded, "per_stowaway"], recorded_by="coordinator"))
    with refused_because("empty"):
        await handle.execute_update(MovementWorkflow.record_boarding, BoardingRecord(
            boarded_person_ids=[], recorded_by="coordinator"))
    assert await handle.query(MovementWorkflow.get_state) == before
    recorded = await handle.execute_update(MovementWorkflow.record_boarding, BoardingRecord(
        boarded_person_ids=boarded, recorded_by="coordinator"))
    assert recorded.phase is MovementPhase.DEPARTED and all(
        recorded.manifests[t].published_version == 3 and recorded.manifests[t].final for t in (team_a, team_b))
    final_b = await content(team_b, 3)
    assert final_b.final and [(c.change, c.person_id) for c in final_b.changes] == [(ChangeKind.REMOVED, no_show)]
    final_a = await content(team_a, 3)
    assert final_a.final and final_a.changes == [] and len(final_a.passengers) == 58 * 3
    await charter.until(movement, lambda s: delivered(s, 3, team_a, team_b))
    assert [(r.version, r.event.value, r.final) for r in charter.teams.received[team_b].listing()][-1] == (
        3, "manifest.final", True)

    # Arrival: a team with nobody on board cannot confirm; the last team on board to confirm closes the movement.
    with refused_because("nobody on board"):
        await handle.execute_update(MovementWorkflow.confirm_arrival, ArrivalConfirmation(
            organisation_id="org_elsewhere", confirmed_by="reception_x"))
    for team in (team_a, team_b):
        confirmed = await handle.execute_update(MovementWorkflow.confirm_arrival, ArrivalConfirmation(
            organisation_id=team, confirmed_by=f"reception_{team}"))
        assert confirmed.phase is MovementPhase.DEPARTED
    await handle.execute_update(MovementWorkflow.confirm_arrival, ArrivalConfirmation(
        organisation_id=team_c, confirmed_by="reception_c"))
    closed = await handle.result()
    assert closed.phase is MovementPhase.CLOSED and sorted(closed.confirmations) == sorted([team_a, team_b, team_c])
    assert closed.runs > 1

    # The flight has flown: nobody can join it any more, and leaving it is nothing to do.
    with pytest.raises(ApplicationError) as late:
        await charter.movements.join_movement(join_of(cases[2]))
    assert late.value.type == MOVEMENT_CLOSED and late.value.non_retryable
    await charter.movements.leave_movement(LeaveMovementCall(movement_id=movement, leave=LeaveMovement(
        case_id=cases[2].case_id, reason="replanned")))


def test_a_join_that_would_overfill_a_charter_names_the_seats_and_a_scheduled_flight_takes_anyone() -> None:
    charter = MovementState(movement_id="mov_1", kind=MovementKind.CHARTER, capacity=10)
    charter.parties["case_1"] = party_of("case_1", "org_a", 6, {f"per_{n}": [] for n in range(6)})
    with pytest.raises(ValueError, match="seats: the movement has 10 seats"):
        validate_join(charter, party_of("case_2", "org_a", 4, {f"per_x{n}": [] for n in range(4)}))
    with pytest.raises(ValueError, match="per_0 already travels"):
        validate_join(charter, party_of("case_2", "org_a", 1, {"per_0": []}))
    scheduled = charter.model_copy(update={"kind": MovementKind.SCHEDULED, "capacity": None})
    validate_join(scheduled, party_of("case_2", "org_a", 40, {f"per_x{n}": [] for n in range(40)}))


def test_the_notice_cutoff_counts_working_days_back_from_the_arrival_skipping_holidays() -> None:
    arrival = date(2026, 12, 28)  # a Monday
    assert notice_cutoff(arrival, 10, []) == date(2026, 12, 14)
    assert notice_cutoff(arrival, 10, [date(2026, 12, 25), date(2026, 12, 24)]) == date(2026, 12, 10)
    assert notice_cutoff(arrival, 0, []) == arrival
