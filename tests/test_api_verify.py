"""Public verification of a printed reference: anyone may ask, without a token; the answer says whether the paper
is genuine and current and nothing about whom it is for. On both databases."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest_asyncio
from limits import parse
from sqlalchemy import delete

from api.limits import VERIFY_RATE
from domain.case import Case
from domain.partner_messages import FlightBooking
from store.documents import DocumentArchive
from store.models import CaseRow
from store.repository import Store
from tests import papers
from tests.factories import family
from tests.test_api_coordinator import Api, api, problem, store  # noqa: F401


@pytest_asyncio.fixture
async def case(store: Store) -> Case:
    case = family(date.today(), office=f"office_{uuid.uuid4().hex[:8]}")
    await store.save_case(case)
    return case


def flight() -> FlightBooking:
    departs = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
    return FlightBooking(booking_ref=f"FL-{uuid.uuid4().hex[:8]}", flight_number=f"QV{uuid.uuid4().int % 9999:04d}",
                         departs_at=departs, arrives_at=departs + timedelta(hours=14), origin="Kabul",
                         destination="Toronto", seats=3)


async def verify(api: Api, reference: str, query: str = "") -> httpx.Response:
    return await api.http.get(f"/verify/{reference}{query}")  # no token, no test principal


async def test_a_current_paper_is_valid_and_its_answer_names_no_one(api: Api, case: Case) -> None:
    booking = flight()
    pack = await papers.travel_pack(api.store, case, booking)
    response = await verify(api, pack.document_id)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "reference": pack.document_id, "kind": "travel_pack", "version": 1, "status": "valid",
        "issued_at": pack.issued_at.isoformat().replace("+00:00", "Z"), "issuer": papers.ISSUER_NAME,
        "sha256": pack.sha256, "superseded_by": None, "latest_version": 1, "matches": None,
    }
    private = [case.case_id, case.reference, case.office_id, booking.booking_ref, papers.movement_of(booking),
               *(p.person_id for p in case.people), *(p.given_name for p in case.people),
               case.people[0].family_name]
    assert not [value for value in private if value in response.text]


async def test_a_paper_replaced_by_a_newer_version_is_superseded(api: Api, case: Case) -> None:
    booking = flight()
    first = await papers.travel_pack(api.store, case, booking)
    assert (await verify(api, first.document_id)).json()["status"] == "valid"
    second = await papers.travel_pack(api.store, case, booking, version=2)
    old = (await verify(api, first.document_id)).json()
    assert (old["status"], old["superseded_by"], old["latest_version"]) == ("superseded", second.document_id, 2)
    new = (await verify(api, second.document_id)).json()
    assert (new["status"], new["superseded_by"], new["version"]) == ("valid", None, 2)


async def test_the_holder_checks_the_file_it_holds(api: Api, case: Case) -> None:
    pack = await papers.travel_pack(api.store, case, flight())
    pdf = await DocumentArchive(api.store).pdf(pack.document_id)
    assert pdf is not None
    held = hashlib.sha256(pdf).hexdigest()
    assert (await verify(api, pack.document_id, f"?sha256={held.upper()}")).json()["matches"] is True
    altered = hashlib.sha256(pdf + b"\n% edited").hexdigest()
    assert (await verify(api, pack.document_id, f"?sha256={altered}")).json()["matches"] is False
    body = problem(await verify(api, pack.document_id, "?sha256=not-hex"), 422)
    assert [e["field"] for e in body["errors"]] == ["query.sha256"]


async def test_an_unknown_reference_and_a_deleted_cases_paper_are_unknown(api: Api, case: Case) -> None:
    never = problem(await verify(api, "doc_" + uuid.uuid4().hex[:20]), 404)
    assert never["document_status"] == "unknown"
    pack = await papers.travel_pack(api.store, case, flight())
    assert (await verify(api, pack.document_id)).status_code == 200
    async with api.store.session() as session, session.begin():
        await session.execute(delete(CaseRow).where(CaseRow.case_id == case.case_id))
    gone = await verify(api, pack.document_id, f"?sha256={pack.sha256}")
    assert problem(gone, 404)["document_status"] == "unknown"
    assert gone.headers["cache-control"] == "no-store" and pack.sha256 not in gone.text
    assert [e["field"] for e in problem(await verify(api, "DOC-1"), 422)["errors"]] == ["path.reference"]


async def test_head_answers_the_status_alone(api: Api, case: Case) -> None:
    pack = await papers.travel_pack(api.store, case, flight())
    known = await api.http.head(f"/verify/{pack.document_id}")
    assert (known.status_code, known.content, known.headers["cache-control"]) == (200, b"", "no-store")
    unknown = await api.http.head("/verify/doc_00000000000000000000")
    assert (unknown.status_code, unknown.content) == (404, b"")


async def test_verification_is_rate_limited_per_client_address(api: Api) -> None:
    unknown = "/verify/doc_ffffffffffffffffffff"
    allowed = parse(VERIFY_RATE).amount
    assert [(await api.http.get(unknown)).status_code for _ in range(allowed)] == [404] * allowed
    refused = await api.http.get(unknown)
    assert "requests per" in problem(refused, 429)["detail"] and int(refused.headers["retry-after"]) >= 1
    transport = httpx.ASGITransport(app=api.app, client=("192.0.2.7", 40123))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as elsewhere:
        assert (await elsewhere.get(unknown)).status_code == 404, "another address has its own count"
