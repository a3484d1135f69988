"""The reception team's pages, on both databases: arrivals by flight with the manifest's state, a manifest with its
versions and what changed (functional needs, never a diagnosis), downloads of any version, and an acknowledgement
recorded once however often it is sent."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from fastapi import FastAPI

from api.app import create_app
from api.context import ApiContext
from api.principal import Role
from domain.case import Case
from domain.partner_messages import FlightBooking
from store.acknowledgements import acknowledgements
from store.documents import DocumentArchive, StoredDocument
from store.repository import Store
from tests import papers
from tests.api_harness import harness_settings
from tests.test_api_coordinator import store  # noqa: F401
from tests.test_api_documents import Party, booked_case
from tests.web_harness import Account, browser, enrol, visible_text

DIAGNOSES = ("tb_class", "latent", "tuberculosis", "findings")


@pytest_asyncio.fixture
async def app(store: Store, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = harness_settings(tmp_path, "unused", rate_limits_enabled=False)
    yield create_app(context=ApiContext(settings, store, None))  # type: ignore[arg-type]  # no page here reaches Temporal


@dataclass
class Flight:
    team: Account
    ours: Case
    theirs: Case  # another office's family on the same flight, added by version 2
    booking: FlightBooking
    v1: StoredDocument
    v2: StoredDocument

    @property
    def movement(self) -> str:
        return papers.movement_of(self.booking)

    @property
    def page(self) -> str:
        return f"/ui/manifests/{self.movement}"


@pytest_asyncio.fixture
async def flight(store: Store) -> Flight:
    a, b = Party.new("a"), Party.new("b")
    team = await enrol(store, Role.RECEPTION_TEAM, a.reception)
    departs = datetime.now(UTC).replace(microsecond=0) + timedelta(days=12)
    booking = FlightBooking(booking_ref="FL-web", flight_number=f"QW{uuid.uuid4().int % 10000:04d}",
                            departs_at=departs, arrives_at=departs + timedelta(hours=14), origin="Nairobi",
                            destination="Winnipeg", seats=3)
    ours = await booked_case(store, a, a.reception, booking)
    theirs = await booked_case(store, b, a.reception, booking)
    v1 = await papers.manifest(store, booking, a.reception, papers.passengers(ours), issuer_id=a.office)
    v2 = await papers.manifest(store, booking, a.reception, papers.passengers(ours) + papers.passengers(theirs),
                               issuer_id=a.office)
    return Flight(team, ours, theirs, booking, v1, v2)


def names(case: Case) -> list[str]:
    """As the pages write a traveller; the factory's families share their names, so with the case reference."""
    return [f"{p.family_name}, {p.given_name} ({case.reference})" for p in case.people]


async def test_arrivals_list_each_flight_with_its_manifest_to_acknowledge(store: Store, app: FastAPI,
                                                                         flight: Flight) -> None:
    async with browser(app) as team:
        await team.sign_in(flight.team)
        home = await team.get("/ui/")
        assert home.headers["location"] == "/ui/arrivals"
        page = await team.get("/ui/arrivals")
        assert page.status_code == 200, page.text
        text = visible_text(page)
        assert flight.booking.flight_number in text and "Nairobi → Winnipeg" in text
        assert "wheelchair: 2" in text and "Version 2" in text and "to acknowledge" in text
        assert f'href="{flight.page}"' in page.text
        live = await team.get("/ui/arrivals/live")
        assert live.status_code == 200 and flight.booking.flight_number in live.text and "<html" not in live.text
    async with browser(app) as stranger:
        await stranger.sign_in(await enrol(store, Role.RECEPTION_TEAM))
        page = await stranger.get("/ui/arrivals")
        assert flight.booking.flight_number not in page.text
        assert "No family is on its way to your organisation." in visible_text(page)
        assert (await stranger.get(flight.page)).status_code == 404


async def test_a_manifest_shows_its_travellers_versions_and_what_changed(store: Store, app: FastAPI,
                                                                         flight: Flight) -> None:
    async with browser(app) as team:
        await team.sign_in(flight.team)
        latest = await team.get(flight.page)
        assert latest.status_code == 200, latest.text
        text = visible_text(latest)
        for case in (flight.ours, flight.theirs):
            assert all(f"{p.family_name}, {p.given_name} {case.reference}" in text for p in case.people)
        assert "2 of 2" in text and "current" in text and "wheelchair" in text
        changed = text[text.index("What changed"):text.index("Travellers")]
        assert all(f"added {name}" in changed for name in names(flight.theirs)), changed
        assert flight.ours.reference not in changed
        assert 'name="csrf_token" value=""' not in latest.text, "the acknowledgement form carries the CSRF token"
        assert not any(word in latest.text.lower() for word in DIAGNOSES)
        assert f'href="{flight.page}?version=1"' in latest.text

        first = await team.get(f"{flight.page}?version=1")
        text = visible_text(first)
        assert "1 of 2" in text and "superseded" in text and "This is the first version." in text
        assert flight.theirs.reference not in text

        # Version 3 takes the other family off again: the page names who was removed, from version 2.
        await papers.manifest(store, flight.booking, flight.team.org_id, papers.passengers(flight.ours),
                              issuer_id=flight.ours.office_id)
        third = visible_text(await team.get(flight.page))
        changed = third[third.index("What changed"):third.index("Travellers")]
        assert all(f"removed {name}" in changed for name in names(flight.theirs)), changed
    reads = [e for e in await store.audit_events(flight.v2.document_id) if e.action == "manifest.downloaded"]
    assert reads and all(e.detail["org_id"] == flight.team.org_id for e in reads), "each read is audited"


async def test_each_version_downloads_as_the_stored_pdf_and_as_csv(store: Store, app: FastAPI,
                                                                  flight: Flight) -> None:
    archive = DocumentArchive(store)
    async with browser(app) as team:
        await team.sign_in(flight.team)
        page = await team.get(f"{flight.page}?version=1")
        pdf_link = f"/ui/manifests/{flight.movement}/manifest.pdf?version=1"
        assert f'href="{pdf_link}"' in page.text
        pdf = await team.get(pdf_link)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content == await archive.pdf(flight.v1.document_id)
        assert pdf.headers["content-disposition"].startswith("attachment;")
        spreadsheet = await team.get(f"/ui/manifests/{flight.movement}/manifest.csv?version=2")
        assert spreadsheet.status_code == 200 and spreadsheet.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(spreadsheet.content.decode("utf-8-sig"))))
        assert len([r for r in rows if flight.theirs.reference in r]) == len(flight.theirs.people)
    downloads = {e.detail.get("format") for e in await store.audit_events(flight.v1.document_id)
                 if e.action == "manifest.downloaded"}
    assert "pdf" in downloads
    async with browser(app) as clinic:
        await clinic.sign_in(await enrol(store, Role.MEDICAL_PARTNER))
        assert (await clinic.get(f"/ui/manifests/{flight.movement}/manifest.pdf?version=1")).status_code == 403


async def test_an_acknowledgement_is_recorded_once_and_shown(store: Store, app: FastAPI, flight: Flight) -> None:
    async with browser(app) as team:
        await team.sign_in(flight.team)
        url = f"{flight.page}/acknowledgement"
        forged = await team.http.post(url, data={"csrf_token": "forged", "version": "2"})
        assert forged.status_code == 403
        assert await acknowledgements(store, flight.movement) == []

        done = await team.submit(url, {"version": "2"}, form_page=flight.page)
        assert done.status_code == 303
        shown = await team.get(done.headers["location"])
        text = visible_text(shown)
        assert "Acknowledged. The office that sent the families sees it." in text
        assert "Version 2 was acknowledged on" in text and "Acknowledge version 2" not in text
        again = await team.submit(url, {"version": "2"}, form_page=f"{flight.page}?version=1")
        assert "already acknowledged; nothing changed" in visible_text(await team.get(again.headers["location"]))
        assert "acknowledged" in visible_text(await team.get("/ui/arrivals"))
        assert "to acknowledge" not in visible_text(await team.get("/ui/arrivals"))
        missing = await team.submit(url, {"version": "9"}, form_page=flight.page)
        assert missing.status_code == 404

    stored = await acknowledgements(store, flight.movement)
    assert [(a.organisation_id, a.version, a.document_reference) for a in stored] == \
        [(flight.team.org_id, 2, flight.v2.document_id)]
    audited = [e for e in await store.audit_events(flight.v2.document_id) if e.action == "manifest.acknowledged"]
    assert len(audited) == 1 and audited[0].actor.startswith(f"{flight.team.org_id}/")

    async with browser(app) as stranger:
        await stranger.sign_in(await enrol(store, Role.RECEPTION_TEAM))
        refused = await stranger.submit(f"{flight.page}/acknowledgement", {"version": "1"}, form_page="/ui/arrivals")
        assert refused.status_code == 404
    assert len(await acknowledgements(store, flight.movement)) == 1


async def test_the_manifest_reads_right_to_left_in_arabic(store: Store, app: FastAPI, flight: Flight) -> None:
    async with browser(app) as team:
        await team.sign_in(flight.team)
        page = await team.get(f"{flight.page}?lang=ar")
        assert page.status_code == 200
        assert '<html lang="ar" dir="rtl">' in page.text
        assert "Manifest of flight" not in page.text and flight.booking.flight_number in page.text
