"""Papers issued by a departure as it goes, on the time-skipping server: at booking, when a booking is given back,
and once everyone is cleared to board. The arrival manifest is the movement's: the departure joins its flight's
movement at booking and leaves it when the booking is given back; the movement sends version 1 at the notice cutoff
and an amendment for every change after it."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta

import pytest

from domain.case import Case
from domain.departure import Phase
from domain.documents import ChangeKind, DocumentKind, ManifestContent, movement_id
from domain.movement import MovementPhase, MovementState, movement_workflow_id
from domain.partner_messages import FlightBooking
from domain.steps import Step, StepState
from store.documents import DocumentArchive, StoredDocument
from tests.departure_harness import World, quiet_simulator, simulator_settings, world  # noqa: F401
from tests.factories import family
from workflows.movement import MovementWorkflow

FAST = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                       document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))


def bound_for_a_team_of_its_own(case: Case) -> Case:
    """The session's tests share a database, and may share a flight: a receiving organisation of its own gives
    this family a manifest nobody else is on."""
    team = f"org_{uuid.uuid4().hex[:10]}"
    return case.model_copy(update={"destination": case.destination.model_copy(
        update={"receiving_organisation": team})})


def movement_of(booking: FlightBooking) -> str:
    return movement_id(booking.flight_number, booking.departs_at.date())


async def movement_state(running: World, booking: FlightBooking) -> MovementState:
    handle = running.client.get_workflow_handle_for(MovementWorkflow.run,  # type: ignore[arg-type]
                                                  movement_workflow_id(movement_of(booking)))
    return await handle.query(MovementWorkflow.get_state)


async def manifests_once_sent(running: World, booking: FlightBooking, team: str,
                              versions: int) -> list[StoredDocument]:
    """The movement publishes in its own time: wait (in real time, the test server's clock stands still) until
    it has published `versions` versions for the team and has nothing left to send."""
    archive = DocumentArchive(running.store)
    for _ in range(400):
        manifests = await archive.manifests(movement_of(booking), team)
        state = await movement_state(running, booking)
        if len(manifests) >= versions and not state.pending and not state.manifests[team].outbox:
            return manifests
        await asyncio.sleep(0.05)
    raise AssertionError(f"the movement published {len(manifests)} versions for the team, not {versions}")


async def pdf_matches(archive: DocumentArchive, document: StoredDocument) -> bool:
    pdf = await archive.pdf(document.document_id)
    return pdf is not None and pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == document.sha256


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_a_departure_leaves_with_its_papers_and_the_reception_team_has_a_manifest(world: World) -> None:
    case = bound_for_a_team_of_its_own(family(await world.today(), children=1))
    drive = await world.start(case)
    await drive.assess_everyone()
    await drive.until_step(Step.FLIGHT_BOOKING, None, StepState.DONE, every=timedelta(days=1))
    await drive.check_fitness()
    state = await drive.until(lambda s: s.phase is Phase.DEPARTED)
    assert state.booking is not None

    archive = DocumentArchive(world.store)
    papers = await archive.for_case(case.case_id)
    kinds = sorted((d.kind.value, d.person_id or "", d.version) for d in papers)
    assert kinds == sorted([(DocumentKind.TRAVEL_PACK.value, "", 1), (DocumentKind.FLIGHT_ITINERARY.value, "", 1),
                            (DocumentKind.MEDICAL_SUMMARY.value, "", 1),
                            *((DocumentKind.FIT_TO_TRAVEL.value, p.person_id, 1) for p in case.people)])
    team = case.destination.receiving_organisation
    manifests = await manifests_once_sent(world, state.booking, team, 1)
    assert [m.version for m in manifests] == [1]
    movement = await movement_state(world, state.booking)
    assert movement.phase is MovementPhase.NOTICE_SENT and list(movement.parties) == [case.case_id]
    assert movement.manifests[team].last_error == "no reception endpoint", "no team registered one in this test"
    for document in [*papers, *manifests]:
        assert await pdf_matches(archive, document), document.kind
    manifest = await archive.content(manifests[0].document_id)
    assert isinstance(manifest.content, ManifestContent)  # type: ignore[union-attr]
    assert [p.person_id for p in manifest.content.passengers] == [p.person_id for p in case.people]


@pytest.mark.parametrize("simulator_settings", [FAST])
async def test_an_unfit_traveller_takes_the_family_off_one_manifest_and_onto_another(world: World) -> None:
    case = bound_for_a_team_of_its_own(family(await world.today(), children=1))
    team = case.destination.receiving_organisation
    drive = await world.start(case)
    await drive.assess_everyone()
    first = (await drive.until_step(Step.FLIGHT_BOOKING, None, StepState.DONE, every=timedelta(days=1))).booking
    assert first is not None
    await drive.check_fitness(fit={case.people[2].person_id: False})
    await drive.until(lambda s: len(s.deferrals) == 1, every=timedelta(minutes=30))
    await drive.until(lambda s: s.booking is not None and s.booking.booking_ref != first.booking_ref,
                      every=timedelta(days=1))
    await drive.check_fitness()
    second = (await drive.until(lambda s: s.phase is Phase.DEPARTED)).booking
    assert second is not None and movement_of(second) != movement_of(first)

    archive = DocumentArchive(world.store)
    packs = [d for d in await archive.for_case(case.case_id) if d.kind is DocumentKind.TRAVEL_PACK]
    assert [p.version for p in packs] == [1, 2]
    assert packs[0].superseded_by == packs[1].document_id and packs[1].is_current
    old = await manifests_once_sent(world, first, team, 2)
    assert [m.version for m in old] == [1, 2]
    assert case.case_id in (await movement_state(world, first)).left
    amendment = (await archive.content(old[1].document_id)).content  # type: ignore[union-attr]
    assert isinstance(amendment, ManifestContent) and amendment.passengers == []
    assert {(c.change, c.person_id) for c in amendment.changes} == {(ChangeKind.REMOVED, p.person_id)
                                                                   for p in case.people}
    new = await manifests_once_sent(world, second, team, 1)
    assert [m.version for m in new] == [1]
    certificates = [d for d in await archive.for_case(case.case_id) if d.kind is DocumentKind.FIT_TO_TRAVEL]
    assert sorted((d.person_id, d.version) for d in certificates) == sorted((p.person_id, 1) for p in case.people), \
        "certificates only for the flight everyone was cleared for"
