"""The document activities called directly on a real store (SQLite or PostgreSQL, per --db): what gets stored,
when a new version is issued, and what a reception team reads in an amendment."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError

from activities.document_messages import CaseDocumentsCall, ManifestCall
from activities.documents import VERSION_TAKEN, DocumentActivities
from activities.messages import flight_key
from domain.case import Case, FunctionalNeed
from domain.departure import BookingRecord, BookingStatus, Phase, ProgressUpdate
from domain.documents import (
    ChangeKind,
    DocumentKind,
    FitnessCertificateContent,
    ManifestContent,
    TravelPackContent,
    document_subject,
    movement_id,
)
from domain.medical import AssessmentResult, FitnessResult, MedicalFile, TbClass
from domain.partner_messages import FlightBooking
from domain.steps import Step, StepRecord, StepState
from predeparture.settings import DocumentSettings
from store.documents import DocumentArchive
from store.repository import Store
from tests.factories import family

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SETTINGS = DocumentSettings(public_base_url="https://papers.example.org/")


@pytest_asyncio.fixture(scope="module")
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture
def activities(store: Store, document_renderer) -> DocumentActivities:  # type: ignore[no-untyped-def]
    return DocumentActivities(store, document_renderer, SETTINGS)


def flight(number: str, day: date = date(2026, 5, 20)) -> FlightBooking:
    departs = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=22)
    return FlightBooking(booking_ref=f"BK{uuid.uuid4().hex[:6].upper()}", flight_number=number, departs_at=departs,
                         arrives_at=departs + timedelta(hours=14), origin="NBO", destination="YWG", seats=4,
                         special_service_requests=["WCHR"])


def a_flight_number() -> str:
    """A flight of its own per test: the session's database is shared, and so would be a movement's manifest."""
    return f"QX{uuid.uuid4().int % 10000:04d}"


async def booked_family(store: Store, booking: FlightBooking, organisation: str = "org_reception_mb",
                        needs: dict[int, list[FunctionalNeed]] | None = None) -> Case:
    case = family(date(2026, 4, 1), children=1)
    case = case.model_copy(update={"destination": case.destination.model_copy(
        update={"receiving_organisation": organisation})})
    await store.save_case(case)
    steps = [StepRecord(step=Step.EXIT_PERMIT, state=StepState.DONE, document_number="EP-1", updated_at=T0),
             StepRecord(step=Step.ORIENTATION, state=StepState.DONE, reference="pdo_1", valid_from=date(2026, 5, 1),
                        valid_until=date(2026, 5, 31), updated_at=T0),
             *(StepRecord(step=Step.TRAVEL_DOCUMENT, person_id=p.person_id, state=StepState.DONE,
                          document_number=f"ETD-{n}", updated_at=T0) for n, p in enumerate(case.people))]
    medical = [MedicalFile(person_id=p.person_id, assessment=AssessmentResult(
        person_id=p.person_id, exam_date=date(2026, 4, 10), tb_class=TbClass.NONE, findings="mild anaemia",
        functional_needs=(needs or {}).get(n, []), examined_by="clinic_default")) for n, p in enumerate(case.people)]
    record = BookingRecord(attempt=1, idempotency_key=flight_key(case.case_id, 1), status=BookingStatus.BOOKED,
                           booking=booking)
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.AWAITING_FLIGHT, steps=steps,
                                              medical=medical, bookings=[record]))
    return case


def manifest_call(booking: FlightBooking, organisation: str = "org_reception_mb", at: datetime = T0) -> ManifestCall:
    return ManifestCall(movement_id=movement_id(booking.flight_number, booking.departs_at.date()),
                        organisation_id=organisation, issued_at=at, official_language="en")


async def test_issuing_the_booking_papers_twice_stores_each_once(store: Store, activities: DocumentActivities) -> None:
    case = await booked_family(store, flight(a_flight_number()), needs={0: [FunctionalNeed.MEDICAL_ESCORT]})
    call = CaseDocumentsCall(case_id=case.case_id, issued_at=T0, official_language="en")

    first = await activities.issue_booking_documents(call)
    again = await activities.issue_booking_documents(call)
    later = await activities.issue_booking_documents(call.model_copy(update={"issued_at": T0 + timedelta(hours=1)}))

    assert [d.kind for d in first] == [DocumentKind.TRAVEL_PACK, DocumentKind.FLIGHT_ITINERARY]
    assert again == first and later == first
    archive = DocumentArchive(store)
    stored = await archive.for_case(case.case_id)
    assert sorted((s.kind, s.version) for s in stored) == [(DocumentKind.FLIGHT_ITINERARY, 1),
                                                          (DocumentKind.TRAVEL_PACK, 1)]
    for document in stored:
        pdf = await archive.pdf(document.document_id)
        assert pdf is not None and pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == document.sha256
    pack = await archive.content(next(s.document_id for s in stored if s.kind is DocumentKind.TRAVEL_PACK))
    assert pack is not None and isinstance(pack.content, TravelPackContent)
    assert pack.header.verify_url == f"https://papers.example.org/verify/{pack.header.reference}"
    assert pack.header.languages == ["prs", "en"], "the family reads Dari; the destination's officials English"
    assert [t.travel_document_number for t in pack.content.travellers] == ["ETD-0", "ETD-1", "ETD-2"]
    assert [e.for_person_id for e in pack.content.journey.escorts] == [case.principal.person_id]
    assert pack.content.orientation.completed_on == date(2026, 5, 1)
    issued = [e for e in await store.audit_events(case.case_id) if e.action == "document.issued"]
    assert sorted(e.detail["reference"] for e in issued) == sorted(s.document_id for s in stored)


async def test_a_paper_is_audited_with_its_storing_even_if_the_worker_stops_right_after(
        store: Store, activities: DocumentActivities, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed after storing, and a call then cancelled rather than retried: no paper without its row."""
    case = await booked_family(store, flight(a_flight_number()))
    call = CaseDocumentsCall(case_id=case.case_id, issued_at=T0, official_language="en")

    async def killed(events: list[object]) -> None:
        raise ConnectionError("the worker stopped here")

    monkeypatch.setattr(store, "append_audit", killed)
    with pytest.raises(ConnectionError):
        await activities.issue_booking_documents(call)

    stored = await DocumentArchive(store).for_case(case.case_id)
    issued = [e for e in await store.audit_events(case.case_id) if e.action == "document.issued"]
    assert len(stored) == 2
    assert sorted(e.detail["reference"] for e in issued) == sorted(s.document_id for s in stored)


async def test_fitness_papers_are_one_certificate_per_traveller_and_a_medical_summary(
        store: Store, activities: DocumentActivities) -> None:
    case = await booked_family(store, flight(a_flight_number()))
    files = [MedicalFile(person_id=p.person_id, fitness=FitnessResult(
        person_id=p.person_id, checked_at=T0, fit=True, findings="slight fever, resolved",
        functional_needs=[FunctionalNeed.WHEELCHAIR] if n == 0 else [], examined_by="clinic_default"))
        for n, p in enumerate(case.people)]
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.AWAITING_FLIGHT, medical=files))

    issued = await activities.issue_fitness_documents(
        CaseDocumentsCall(case_id=case.case_id, issued_at=T0, official_language="fr"))

    kinds = [d.kind for d in issued]
    assert kinds == [DocumentKind.FIT_TO_TRAVEL] * 3 + [DocumentKind.MEDICAL_SUMMARY]
    archive = DocumentArchive(store)
    certificates = [await archive.content(d.reference) for d in issued[:3]]
    assert all(c is not None and isinstance(c.content, FitnessCertificateContent) for c in certificates)
    principal = certificates[0]
    assert principal is not None and principal.header.issuer.organisation_id == case.medical_partner_id
    assert principal.header.languages == ["fr", "prs"]
    assert principal.content.traveller.functional_needs == [FunctionalNeed.WHEELCHAIR]  # type: ignore[union-attr]
    assert "slight fever" not in principal.model_dump_json(), "a certificate shows functional needs, no findings"
    summary = await archive.content(issued[3].reference)
    assert summary is not None and summary.header.languages == ["fr"]
    assert "slight fever" in summary.model_dump_json()


async def test_a_second_family_on_the_movement_is_an_amendment_adding_it(
        store: Store, activities: DocumentActivities) -> None:
    number = a_flight_number()
    first = await booked_family(store, flight(number))
    v1 = await activities.publish_manifest(manifest_call(flight(number)))
    second = await booked_family(store, flight(number))
    v2 = await activities.publish_manifest(manifest_call(flight(number), at=T0 + timedelta(hours=2)))

    assert v1 is not None and v2 is not None and (v1.version, v2.version) == (1, 2)
    archive = DocumentArchive(store)
    one, two = [await archive.content(v.reference) for v in (v1, v2)]
    assert isinstance(one.content, ManifestContent) and isinstance(two.content, ManifestContent)  # type: ignore[union-attr]
    assert {p.case_id for p in one.content.passengers} == {first.case_id} and one.content.changes == []
    assert [(c.change, c.person_id) for c in two.content.changes] == [
        (ChangeKind.ADDED, p.person_id) for p in second.people]
    assert (await archive.get(v1.reference)).superseded_by == v2.reference  # type: ignore[union-attr]
    assert await activities.publish_manifest(manifest_call(flight(number))) == v2, "nothing changed since"


async def test_a_new_functional_need_is_a_changed_entry(store: Store, activities: DocumentActivities) -> None:
    booking = flight(a_flight_number())
    case = await booked_family(store, booking)
    await activities.publish_manifest(manifest_call(booking))
    child = case.people[2].person_id
    fitness = MedicalFile(person_id=child, fitness=FitnessResult(person_id=child, checked_at=T0, fit=True,
                          functional_needs=[FunctionalNeed.WHEELCHAIR], examined_by="clinic_default"))
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.AWAITING_FLIGHT, medical=[fitness]))

    amended = await activities.publish_manifest(manifest_call(booking))

    assert amended is not None and amended.version == 2
    content = (await DocumentArchive(store).content(amended.reference)).content  # type: ignore[union-attr]
    assert [(c.change, c.person_id, c.fields) for c in content.changes] == [  # type: ignore[union-attr]
        (ChangeKind.CHANGED, child, ["functional_needs"])]


async def test_a_family_leaving_the_movement_is_removed_by_an_amendment(
        store: Store, activities: DocumentActivities) -> None:
    booking = flight(a_flight_number())
    case = await booked_family(store, booking)
    assert await activities.publish_manifest(manifest_call(booking, organisation="org_nobody")) is None
    await activities.publish_manifest(manifest_call(booking))
    cancelled = BookingRecord(attempt=1, idempotency_key=flight_key(case.case_id, 1), status=BookingStatus.CANCELLED,
                              booking=booking)
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.DEFERRED, bookings=[cancelled]))

    amended = await activities.publish_manifest(manifest_call(booking))

    assert amended is not None and amended.version == 2
    content = (await DocumentArchive(store).content(amended.reference)).content  # type: ignore[union-attr]
    assert isinstance(content, ManifestContent) and content.passengers == []
    assert content.flight.flight_number == booking.flight_number
    removed = {(ChangeKind.REMOVED, p.person_id) for p in case.people}
    assert {(c.change, c.person_id) for c in content.changes} == removed
    events = [e for e in await store.audit_events(content.movement_id) if e.action == "document.issued"]
    assert [e.detail["version"] for e in events] == ["1", "2"]
    assert all(name not in str(e.detail) for e in events for name in ("Haidari", "Mariam"))


class WriterInBetween:
    """Lets another writer store its version while ours is being rendered."""

    def __init__(self, renderer, other) -> None:  # type: ignore[no-untyped-def]
        self._renderer, self._other = renderer, other

    async def render_batch(self, documents):  # type: ignore[no-untyped-def]
        pdfs = await self._renderer.render_batch(documents)
        if self._other is not None:
            other, self._other = self._other, None
            await other()
        return pdfs


async def test_a_concurrent_writer_makes_the_activity_retry_and_find_its_version(
        store: Store, document_renderer) -> None:  # type: ignore[no-untyped-def]
    booking = flight(a_flight_number())
    await booked_family(store, booking)
    theirs = DocumentActivities(store, document_renderer, SETTINGS)
    raced = DocumentActivities(store, WriterInBetween(document_renderer, lambda: theirs.publish_manifest(
        manifest_call(booking, at=T0 + timedelta(minutes=5)))), SETTINGS)

    with pytest.raises(ApplicationError) as taken:
        await raced.publish_manifest(manifest_call(booking))
    assert taken.value.type == VERSION_TAKEN and not taken.value.non_retryable
    retried = await raced.publish_manifest(manifest_call(booking))

    assert retried is not None and retried.version == 1
    subject = document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=movement_id(
        booking.flight_number, booking.departs_at.date()), organisation_id="org_reception_mb")
    assert [v.issued_at for v in await DocumentArchive(store).versions(subject)] == [T0 + timedelta(minutes=5)]
