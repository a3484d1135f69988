"""Manifests by webhook: signatures a receiver can trust, deliveries whose failures coordinators can see, a
reference receiver that keeps each delivery once, and bodies that carry functional needs, never diagnoses."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.webhooks import DeliveryActivities
from domain.case import FunctionalNeed, Relationship, Sex
from domain.documents import (
    DocumentHeader,
    DocumentKind,
    DocumentToRender,
    FlightLeg,
    Issuer,
    ManifestContent,
    ManifestPassenger,
    content_fingerprint,
    document_reference,
    document_subject,
)
from domain.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Delivery,
    DeliveryStatus,
    ManifestDelivery,
    ManifestEvent,
    ReceptionEndpoint,
    SignatureError,
    delivery_id,
    manifest_notice,
    sign,
    verify,
)
from predeparture.receiver import MANIFEST_PATH, build_receiver
from store.documents import DocumentArchive
from store.repository import Store
from store.webhooks import SecretSealer, SecretUnreadable, WebhookStore

SECRET = b"reception-team-shared-secret-0001"
NOW = 1_780_000_000
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
RECEIVER_URL = "http://reception.test" + MANIFEST_PATH


# -- fixtures shared with test_webhook_delivery_workflow ---------------------------------------------------------


def manifest_document(movement: str, organisation: str, version: int = 1) -> DocumentToRender:
    subject = document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=movement, organisation_id=organisation)
    leg = FlightLeg(flight_number="QR8701", origin="KBL", destination="YYZ",
                    departs_at=T0 + timedelta(days=10), arrives_at=T0 + timedelta(days=10, hours=16))
    passenger = ManifestPassenger(
        case_id="case_w1", case_reference="KBL-2026-0042", person_id="per_w1", given_name="Mariam",
        family_name="Haidari", date_of_birth=date(1988, 4, 2), sex=Sex.FEMALE, nationality="AFG",
        relationship=Relationship.PRINCIPAL, functional_needs=[FunctionalNeed.WHEELCHAIR],
    )
    header = DocumentHeader(reference=document_reference(subject, version), kind=DocumentKind.ARRIVAL_MANIFEST,
                            version=version, issued_at=T0, issuer=Issuer(organisation_id="iom_kbl", name="IOM Kabul"),
                            verify_url="https://verify.example/doc", languages=["en"])
    content = ManifestContent(movement_id=movement, organisation_id=organisation, flight=leg,
                              destination_city="Toronto", passengers=[passenger])
    return DocumentToRender(header=header, content=content)


async def archived_manifest(archive: DocumentArchive, movement: str, organisation: str) -> ManifestDelivery:
    document = manifest_document(movement, organisation)
    pdf = b"%PDF-1.7 stand-in"
    subject = document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=movement, organisation_id=organisation)
    await archive.add_version(document, hashlib.sha256(pdf).hexdigest(), pdf, subject=subject,
                              fingerprint=content_fingerprint(document.content), generated_by="test",
                              movement_id=movement, organisation_id=organisation)
    return ManifestDelivery(organisation_id=organisation, movement_id=movement, version=1,
                            document_reference=document.header.reference, event=ManifestEvent.ISSUED)


def fresh_ids() -> tuple[str, str]:
    """The session's database is shared: every test its own movement and reception team."""
    return f"mov_{uuid.uuid4().hex[:16]}", f"org_rcpt_{uuid.uuid4().hex[:8]}"


# -- signatures ------------------------------------------------------------------------------------------------


def test_a_signed_body_verifies_and_names_its_time() -> None:
    body = b'{"delivery_id": "dlv_1"}'
    assert verify(SECRET, sign(SECRET, NOW, body), body, now=NOW + 10) == NOW


@pytest.mark.parametrize("case", ["tampered body", "wrong secret", "too old", "from the future", "missing",
                                  "malformed"])
def test_a_receiver_refuses_what_the_sender_did_not_sign_just_now(case: str) -> None:
    body = b'{"passengers": 3}'
    header: str | None = sign(SECRET, NOW, body)
    secret, seen_body, now = SECRET, body, NOW
    if case == "tampered body":
        seen_body = b'{"passengers": 4}'
    elif case == "wrong secret":
        secret = b"another-team-secret-000000000000"
    elif case == "too old":
        now = NOW + 301
    elif case == "from the future":
        now = NOW - 301
    elif case == "missing":
        header = None
    else:
        header = f"v1={hashlib.sha256(body).hexdigest()}"
    with pytest.raises(SignatureError):
        verify(secret, header, seen_body, now=now)


def test_every_retry_of_a_manifest_version_carries_one_delivery_id() -> None:
    first = delivery_id("mov_1", "org_a", 2)
    assert first == delivery_id("mov_1", "org_a", 2)
    assert first.startswith("dlv_") and len(first) == 24
    assert len({first, delivery_id("mov_1", "org_a", 3), delivery_id("mov_1", "org_b", 2)}) == 3


# -- the store -------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture
def webhooks(store: Store) -> WebhookStore:
    return WebhookStore(store, SecretSealer("k1", bytes(range(32))))


async def test_an_endpoint_secret_is_sealed_at_rest_and_opens_only_with_the_key(
    store: Store, webhooks: WebhookStore
) -> None:
    _, organisation = fresh_ids()
    await webhooks.set_endpoint(ReceptionEndpoint(organisation_id=organisation, url=RECEIVER_URL, secret=SECRET), T0)

    endpoint = await webhooks.endpoint(organisation)
    assert endpoint is not None and endpoint.secret.get_secret_value() == SECRET
    async with store.session() as session:
        raw = await session.scalar(sa.text("SELECT sealed_secret FROM reception_endpoints WHERE organisation_id = :o"),
                                   {"o": organisation})
    assert SECRET.decode() not in raw and SECRET.hex() not in raw
    with pytest.raises(SecretUnreadable):
        await WebhookStore(store, SecretSealer("k1", bytes(32))).endpoint(organisation)
    rotated = WebhookStore(store, SecretSealer("k2", bytes(32), previous_keys={"k1": bytes(range(32))}))
    assert (await rotated.endpoint(organisation)).secret.get_secret_value() == SECRET  # type: ignore[union-attr]


# -- the activity ----------------------------------------------------------------------------------------------


class Receiver:
    """A reception team's server, scripted: each request gets the next answer (a status, or an exception)."""

    def __init__(self, *answers: int | type[httpx.HTTPError]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, int):
            return httpx.Response(answer)
        raise answer("scripted", request=request)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def attempt(activities: DeliveryActivities, call: ManifestDelivery, number: int) -> Delivery:
    """One try, as Temporal's retry number `number` would run it."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return await env.run(activities.deliver_manifest, call)


@pytest_asyncio.fixture
async def delivery(store: Store, webhooks: WebhookStore) -> ManifestDelivery:
    """A manifest in the archive, for a reception team whose endpoint is registered."""
    movement, organisation = fresh_ids()
    await webhooks.set_endpoint(ReceptionEndpoint(organisation_id=organisation, url=RECEIVER_URL, secret=SECRET), T0)
    return await archived_manifest(DocumentArchive(store), movement, organisation)


def delivering(store: Store, webhooks: WebhookStore, receiver: Receiver, clock: Clock) -> DeliveryActivities:
    http = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    return DeliveryActivities(webhooks, DocumentArchive(store), http, clock=clock)


async def test_a_receiver_answering_200_acknowledges_a_signed_manifest_with_functional_needs_only(
    store: Store, webhooks: WebhookStore, delivery: ManifestDelivery
) -> None:
    receiver, clock = Receiver(200), Clock()
    acknowledged = await attempt(delivering(store, webhooks, receiver, clock), delivery, 1)

    assert acknowledged.status is DeliveryStatus.ACKNOWLEDGED and acknowledged.acknowledged_at == T0
    assert acknowledged.attempts == 1 and acknowledged.first_failure_at is None
    assert await webhooks.deliveries(delivery.movement_id) == [acknowledged]
    [request] = receiver.requests
    assert request.headers[DELIVERY_HEADER] == delivery.delivery_id
    assert request.headers[EVENT_HEADER] == "manifest.issued"
    verify(SECRET, request.headers[SIGNATURE_HEADER], request.content, now=T0.timestamp())
    body = json.loads(request.content)
    assert (body["delivery_id"], body["version"], body["final"]) == (delivery.delivery_id, 1, False)
    [passenger] = body["passengers"]
    assert passenger["given_name"] == "Mariam" and passenger["functional_needs"] == ["wheelchair"]
    assert set(passenger) == set(ManifestPassenger.model_fields)  # nothing a medical file holds
    [disclosure] = await store.audit_events(delivery.movement_id)
    assert disclosure.action == "manifest.delivered"
    assert disclosure.detail["organisation_id"] == delivery.organisation_id


async def test_a_failing_receiver_is_recorded_failing_since_its_first_failure_until_it_acknowledges(
    store: Store, webhooks: WebhookStore, delivery: ManifestDelivery
) -> None:
    receiver, clock = Receiver(500, httpx.ConnectError, 204), Clock()
    activities = delivering(store, webhooks, receiver, clock)

    with pytest.raises(ApplicationError) as first:
        await attempt(activities, delivery, 1)
    assert not first.value.non_retryable
    failing = await webhooks.delivery(delivery.delivery_id)
    assert failing is not None and failing.status is DeliveryStatus.FAILING
    assert (failing.attempts, failing.first_failure_at, failing.last_error) == (1, T0, "HTTP 500")

    clock.now = T0 + timedelta(seconds=30)
    with pytest.raises(ApplicationError):
        await attempt(activities, delivery, 2)
    failing = await webhooks.delivery(delivery.delivery_id)
    assert failing is not None and failing.status is DeliveryStatus.FAILING
    assert (failing.attempts, failing.first_failure_at, failing.last_error) == (2, T0, "ConnectError")
    # A late report from the first try, which Temporal had given up on, changes nothing.
    await webhooks.record_failure(Delivery.of(delivery), 1, clock.now, "HTTP 500")
    assert await webhooks.delivery(delivery.delivery_id) == failing

    clock.now = T0 + timedelta(seconds=90)
    done = await attempt(activities, delivery, 3)
    assert done.status is DeliveryStatus.ACKNOWLEDGED and done.acknowledged_at == clock.now
    assert (done.attempts, done.first_failure_at) == (3, T0)
    assert len({r.headers[DELIVERY_HEADER] for r in receiver.requests}) == 1  # every try, the same delivery id

    # Acknowledged is for good: a failure reported after it changes nothing.
    await webhooks.record_failure(Delivery.of(delivery), 3, clock.now, "ReadTimeout")
    assert await webhooks.delivery(delivery.delivery_id) == done
    # Run again after its answer was lost, the delivery is not sent again.
    assert await attempt(activities, delivery, 4) == done and len(receiver.requests) == 3


async def test_a_team_without_an_endpoint_fails_for_good_and_coordinators_see_why(
    store: Store, webhooks: WebhookStore
) -> None:
    movement, organisation = fresh_ids()
    call = await archived_manifest(DocumentArchive(store), movement, organisation)
    receiver = Receiver()
    with pytest.raises(ApplicationError) as failed:
        await attempt(delivering(store, webhooks, receiver, Clock()), call, 1)
    assert failed.value.non_retryable and failed.value.type == "NoReceptionEndpoint"
    [seen] = await webhooks.deliveries(movement)
    assert (seen.status, seen.last_error, seen.first_failure_at) == (DeliveryStatus.FAILING,
                                                                      "no active reception endpoint", T0)
    assert receiver.requests == []


# -- the reference receiver ------------------------------------------------------------------------------------


def signed_request(body: bytes, delivery: str, timestamp: int, secret: bytes = SECRET) -> dict[str, object]:
    headers = {DELIVERY_HEADER: delivery, SIGNATURE_HEADER: sign(secret, timestamp, body),
               "Content-Type": "application/json"}
    return {"content": body, "headers": headers}


async def test_the_reference_receiver_keeps_one_copy_of_a_delivery_sent_twice_and_refuses_forgeries() -> None:
    app = build_receiver(SECRET, clock=lambda: NOW)
    movement, organisation = fresh_ids()
    call = ManifestDelivery(organisation_id=organisation, movement_id=movement, version=1,
                            document_reference=manifest_document(movement, organisation).header.reference,
                            event=ManifestEvent.ISSUED)
    body = manifest_notice(call, manifest_document(movement, organisation)).model_dump_json().encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reception.test") as http:
        first = await http.post(MANIFEST_PATH, **signed_request(body, call.delivery_id, NOW))  # type: ignore[arg-type]
        again = await http.post(MANIFEST_PATH, **signed_request(body, call.delivery_id, NOW + 60))  # type: ignore[arg-type]
        forged = await http.post(MANIFEST_PATH, **signed_request(body, call.delivery_id, NOW,  # type: ignore[arg-type]
                                                                  secret=b"not-the-team-secret-000000000000"))
        relabelled = await http.post(MANIFEST_PATH, **signed_request(body, "dlv_other", NOW))  # type: ignore[arg-type]
        received = (await http.get("/received")).json()

    assert (first.status_code, first.json()["duplicate"]) == (200, False)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert (forged.status_code, relabelled.status_code) == (401, 400)
    assert [(r["delivery_id"], r["version"], r["passengers"]) for r in received] == [(call.delivery_id, 1, 1)]
    assert "Mariam" not in json.dumps(received)
