"""Documents over the API, on both databases: who may list and download which paper, the arrival manifests of a
movement, and the audit trail every disclosure leaves. Documents are stored straight into the archive."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from api.principal import Principal, Role
from domain.case import Case, FunctionalNeed
from domain.departure import BookingRecord, BookingStatus, Phase, ProgressUpdate
from domain.partner_messages import FlightBooking
from store.documents import DocumentArchive, StoredDocument
from store.repository import Store
from tests import papers
from tests.api_harness import harness_settings, serving
from tests.factories import family
from tests.test_api_coordinator import Api, api, member, problem, store  # noqa: F401

MEDICAL_KEYS = ("findings", "tb_class", "diagnosis", "examined_by", "fit")


@dataclass
class Party:
    office: str
    clinic: str
    reception: str

    @classmethod
    def new(cls, label: str) -> Party:
        run = uuid.uuid4().hex[:8]
        return cls(f"office_{label}_{run}", f"clinic_{label}_{run}", f"org_reception_{label}_{run}")

    def coordinator(self) -> Principal:
        return member(Role.COORDINATOR, self.office)

    def doctor(self) -> Principal:
        return member(Role.MEDICAL_PARTNER, self.clinic)

    def team(self) -> Principal:
        return member(Role.RECEPTION_TEAM, self.reception)


@dataclass
class Papers:
    a: Party
    b: Party
    case: Case  # office A's, clinic A's, bound for reception A
    other: Case  # office B's, clinic B's, on the same flight to reception A
    flight: FlightBooking
    pack_v1: StoredDocument
    pack_v2: StoredDocument
    itinerary: StoredDocument
    fitness: StoredDocument
    medical: StoredDocument
    manifest_v1: StoredDocument  # office A's family
    manifest_v2: StoredDocument  # and office B's

    @property
    def manifest_url(self) -> str:
        return f"/movements/{papers.movement_of(self.flight)}/manifests/{self.a.reception}"


async def booked_case(store: Store, party: Party, reception: str, flight: FlightBooking) -> Case:
    case = family(date.today(), office=party.office, needs=[FunctionalNeed.WHEELCHAIR])
    case.medical_partner_id = party.clinic
    case.destination.receiving_organisation = reception
    await store.save_case(case)
    seat = flight.model_copy(update={"booking_ref": f"FL-{uuid.uuid4().hex[:10]}"})
    await store.apply_progress(ProgressUpdate(case_id=case.case_id, phase=Phase.AWAITING_FLIGHT, bookings=[
        BookingRecord(attempt=1, idempotency_key=f"{case.case_id}:flight:1", status=BookingStatus.BOOKED,
                      booking=seat)]))
    return case


@pytest_asyncio.fixture
async def filed(store: Store) -> Papers:
    a, b = Party.new("a"), Party.new("b")
    departs = datetime.now(UTC).replace(microsecond=0) + timedelta(days=12)
    flight = FlightBooking(booking_ref="FL-shared", flight_number=f"QA{uuid.uuid4().int % 10000:04d}",
                           departs_at=departs, arrives_at=departs + timedelta(hours=14), origin="Nairobi",
                           destination="Winnipeg", seats=3)
    case = await booked_case(store, a, a.reception, flight)
    other = await booked_case(store, b, a.reception, flight)
    pack_v1 = await papers.travel_pack(store, case, flight)
    pack_v2 = await papers.travel_pack(store, case, flight, version=2)
    manifest_v1 = await papers.manifest(store, flight, a.reception, papers.passengers(case), issuer_id=a.office)
    manifest_v2 = await papers.manifest(store, flight, a.reception,
                                        papers.passengers(case) + papers.passengers(other), issuer_id=a.office)
    return Papers(a, b, case, other, flight, pack_v1, pack_v2, await papers.itinerary(store, case, flight),
                  await papers.fitness_certificate(store, case, case.people[0], flight),
                  await papers.medical_summary(store, case), manifest_v1, manifest_v2)


def personal_data(case: Case) -> list[str]:
    return [case.reference, *(p.given_name for p in case.people), case.people[0].family_name,
            *(p.date_of_birth.isoformat() for p in case.people)]


async def downloads(store: Store, document_id: str) -> list[Any]:
    return [e for e in await store.audit_events(document_id) if e.action.endswith(".downloaded")]


# -- listing ---------------------------------------------------------------------------------------------------------

async def test_the_office_lists_its_case_papers_and_the_clinic_only_the_medical_ones(api: Api, filed: Papers) -> None:
    case_id = filed.case.case_id
    listed = await api.call(filed.a.coordinator(), "GET", f"/cases/{case_id}/documents")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(i["kind"], i["version"], i["status"]) for i in items] == [
        ("travel_pack", 2, "valid"), ("travel_pack", 1, "superseded"), ("flight_itinerary", 1, "valid"),
        ("fit_to_travel_certificate", 1, "valid")]
    assert items[1]["superseded_by"] == items[0]["reference"] == filed.pack_v2.document_id
    assert items[0]["download_url"] == f"/documents/{filed.pack_v2.document_id}/pdf"
    assert items[0]["sha256"] == filed.pack_v2.sha256 and items[0]["size"] == filed.pack_v2.size
    assert items[3]["person_id"] == filed.case.people[0].person_id
    assert not [word for word in personal_data(filed.case) if word in listed.text]

    clinic = await api.call(filed.a.doctor(), "GET", f"/cases/{case_id}/documents")
    assert clinic.status_code == 200, clinic.text
    assert [i["kind"] for i in clinic.json()["items"]] == ["fit_to_travel_certificate", "medical_summary"]

    unknown = problem(await api.call(filed.a.coordinator(), "GET", "/cases/case_0000000000000000/documents"), 404)
    for outsider in (filed.b.coordinator(), filed.b.doctor()):
        refused = problem(await api.call(outsider, "GET", f"/cases/{case_id}/documents"), 404)
        assert refused["detail"] == unknown["detail"], "another organisation's case looks like an unknown one"
    problem(await api.call(filed.a.team(), "GET", f"/cases/{case_id}/documents"), 403)


# -- downloads -------------------------------------------------------------------------------------------------------

async def test_a_download_is_the_stored_pdf_named_without_names_and_audited(api: Api, store: Store,
                                                                            filed: Papers) -> None:
    coordinator = filed.a.coordinator()
    pack = filed.pack_v2
    response = await api.call(coordinator, "GET", f"/documents/{pack.document_id}/pdf")
    assert response.status_code == 200, response.text
    assert response.content == await DocumentArchive(store).pdf(pack.document_id)
    assert response.content.startswith(b"%PDF-")
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == \
        f'attachment; filename="travel_pack_{pack.document_id}_v2.pdf"'
    assert response.headers["etag"] == f'"{pack.sha256}"' and response.headers["cache-control"] == "no-store"

    [event] = await downloads(store, pack.document_id)
    assert event.action == "document.downloaded" and event.object_type == "document"
    assert event.actor == f"{coordinator.org_id}/{coordinator.subject}"
    assert event.detail["kind"] == "travel_pack" and event.detail["version"] == "2"
    assert event.detail["case_id"] == filed.case.case_id
    assert not [word for word in personal_data(filed.case) if word in str(event.detail)]

    metadata = await api.call(coordinator, "GET", f"/documents/{pack.document_id}")
    assert metadata.status_code == 200 and metadata.json()["status"] == "valid"
    assert len(await downloads(store, pack.document_id)) == 1, "metadata is not a download"


async def test_the_medical_summary_goes_to_the_clinic_of_the_case_and_no_one_else(api: Api, store: Store,
                                                                                  filed: Papers) -> None:
    medical = filed.medical.document_id
    doctor = filed.a.doctor()
    response = await api.call(doctor, "GET", f"/documents/{medical}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith(f'filename="medical_summary_{medical}_v1.pdf"')
    [event] = await downloads(store, medical)
    assert event.actor == f"{doctor.org_id}/{doctor.subject}" and event.detail["role"] == "medical_partner"

    for outsider in (filed.a.coordinator(), filed.a.team(), filed.b.doctor(), filed.b.coordinator()):
        problem(await api.call(outsider, "GET", f"/documents/{medical}/pdf"), 404)
        problem(await api.call(outsider, "GET", f"/documents/{medical}"), 404)
    assert len(await downloads(store, medical)) == 1, "a refusal is not a download"

    # The clinic reads the certificates it issued, and none of the family's travel papers.
    fitness = await api.call(doctor, "GET", f"/documents/{filed.fitness.document_id}/pdf")
    assert fitness.status_code == 200, fitness.text
    problem(await api.call(doctor, "GET", f"/documents/{filed.pack_v2.document_id}/pdf"), 404)


async def test_travel_papers_stay_with_the_office_of_the_case(api: Api, store: Store, filed: Papers) -> None:
    pack = filed.pack_v1.document_id
    for outsider in (filed.b.coordinator(), filed.a.team()):
        problem(await api.call(outsider, "GET", f"/documents/{pack}/pdf"), 404)
    unknown = problem(await api.call(filed.a.coordinator(), "GET", "/documents/doc_00000000000000000000/pdf"), 404)
    assert unknown["detail"] == problem(await api.call(filed.b.coordinator(), "GET", f"/documents/{pack}"),
                                        404)["detail"]
    problem(await api.call(member(Role.TRAVEL_PARTNER, filed.a.office), "GET", f"/documents/{pack}"), 403)
    old = await api.call(filed.a.coordinator(), "GET", f"/documents/{pack}")
    assert old.json()["status"] == "superseded" and old.json()["superseded_by"] == filed.pack_v2.document_id
    assert await downloads(store, pack) == []


# -- manifests -------------------------------------------------------------------------------------------------------

async def test_the_reception_team_reads_each_version_of_its_manifest(api: Api, store: Store, filed: Papers) -> None:
    team = filed.a.team()
    latest = await api.call(team, "GET", filed.manifest_url)
    assert latest.status_code == 200, latest.text
    body = latest.json()
    assert (body["version"], body["status"], body["latest_version"], body["final"]) == (2, "valid", 2, False)
    assert body["reference"] == filed.manifest_v2.document_id and body["flight"]["flight_number"] == \
        filed.flight.flight_number
    everyone = filed.case.people + filed.other.people
    assert [p["person_id"] for p in body["passengers"]] == [p.person_id for p in everyone]
    assert body["passengers"][0]["functional_needs"] == ["wheelchair"]
    assert {(c["change"], c["case_id"]) for c in body["changes"]} == {("added", filed.other.case_id)}
    assert not [key for key in MEDICAL_KEYS if f'"{key}"' in latest.text]

    first = (await api.call(team, "GET", f"{filed.manifest_url}?version=1")).json()
    assert (first["version"], first["status"], first["superseded_by"], first["changes"]) == (
        1, "superseded", filed.manifest_v2.document_id, [])
    assert len(first["passengers"]) == len(filed.case.people)
    problem(await api.call(team, "GET", f"{filed.manifest_url}?version=3"), 404)

    pdf = await api.call(team, "GET", f"{filed.manifest_url}/manifest.pdf?version=1")
    assert pdf.status_code == 200 and pdf.content == await DocumentArchive(store).pdf(filed.manifest_v1.document_id)
    assert pdf.headers["content-disposition"].endswith(
        f'filename="arrival_manifest_{filed.manifest_v1.document_id}_v1.pdf"')

    versions = (await api.call(team, "GET", f"{filed.manifest_url}/versions")).json()["items"]
    assert [(v["version"], v["status"], v["passengers"], v["changes"]["added"]) for v in versions] == [
        (2, "valid", len(everyone), len(filed.other.people)), (1, "superseded", len(filed.case.people), 0)]

    reads = {(e.object_id, e.detail["format"], e.detail["version"]) for e in await store.audit_events()
             if e.action == "manifest.downloaded" and e.actor.startswith(f"{team.org_id}/")}
    assert reads == {(filed.manifest_v2.document_id, "json", "2"), (filed.manifest_v1.document_id, "json", "1"),
                     (filed.manifest_v1.document_id, "pdf", "1")}


async def test_the_manifest_as_csv_is_audited(api: Api, store: Store, filed: Papers) -> None:
    team = filed.a.team()
    response = await api.call(team, "GET", f"{filed.manifest_url}/manifest.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].endswith(
        f'filename="arrival_manifest_{filed.manifest_v2.document_id}_v2.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["person_id"] for row in rows] == [p.person_id for p in filed.case.people + filed.other.people]
    assert {row["document_reference"] for row in rows} == {filed.manifest_v2.document_id}
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    [event] = [e for e in await store.audit_events(filed.manifest_v2.document_id) if e.detail.get("format") == "csv"]
    assert event.actor == f"{team.org_id}/{team.subject}"


async def test_a_manifest_is_read_by_its_organisation_and_the_offices_with_a_family_on_it(
        api: Api, filed: Papers) -> None:
    for reader in (filed.a.coordinator(), filed.b.coordinator()):
        response = await api.call(reader, "GET", f"{filed.manifest_url}?version=1")
        assert response.status_code == 200, response.text
    for suffix in ("", "/manifest.pdf", "/versions"):
        for outsider in (filed.b.team(), member(Role.COORDINATOR, f"office_{uuid.uuid4().hex[:8]}")):
            problem(await api.call(outsider, "GET", f"{filed.manifest_url}{suffix}"), 404)
        problem(await api.call(filed.a.doctor(), "GET", f"{filed.manifest_url}{suffix}"), 403)
    # Through its document id the manifest follows the same rules.
    assert (await api.call(filed.a.team(), "GET", f"/documents/{filed.manifest_v2.document_id}")).status_code == 200
    problem(await api.call(filed.b.team(), "GET", f"/documents/{filed.manifest_v2.document_id}/pdf"), 404)
    elsewhere = f"/movements/mov_0123456789abcdef/manifests/{filed.a.reception}"
    problem(await api.call(filed.a.team(), "GET", elsewhere), 404)


# -- input and authentication ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "field"), [
    ("/documents/doc_NOT-A-REFERENCE", "path.document_id"),
    ("/documents/doc_0123/pdf", "path.document_id"),
    ("/movements/flight-7/manifests/org_reception_mb", "path.movement_id"),
    ("/movements/mov_0123456789abcdef/manifests/org%20reception", "path.organisation_id"),
    ("/movements/mov_0123456789abcdef/manifests/org_reception_mb?version=0", "query.version"),
    ("/cases/case%3Bdrop/documents", "path.case_id"),
])
async def test_path_parameters_are_checked_by_name(api: Api, url: str, field: str) -> None:
    body = problem(await api.call(member(Role.COORDINATOR, "office_x"), "GET", url), 422)
    assert [error["field"] for error in body["errors"]] == [field]


async def test_without_a_token_no_document_is_served(store: Store, tmp_path: Path, filed: Papers) -> None:
    async with serving(harness_settings(tmp_path, "unused"), store, None) as (_, http):  # type: ignore[arg-type]
        for url in (f"/documents/{filed.pack_v2.document_id}/pdf", f"/cases/{filed.case.case_id}/documents",
                    filed.manifest_url, f"{filed.manifest_url}/manifest.pdf"):
            refused = await http.get(url)
            assert refused.status_code == 401, url
            assert refused.headers["content-type"].startswith("application/problem+json")
            expired = await http.get(url, headers={"Authorization": "Bearer not-a-token"})
            assert expired.status_code == 401, url
