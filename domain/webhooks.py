"""Arrival manifests pushed to reception teams by webhook: what a delivery says, how it is signed, how it is known.

Pure: the activity does the sending, the store keeps the delivery's status, a receiver verifies with `verify`."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, SecretBytes

from domain.documents import DocumentToRender, FlightLeg, Issuer, ManifestChange, ManifestContent, ManifestPassenger

DELIVERY_HEADER = "X-Predeparture-Delivery"
SIGNATURE_HEADER = "X-Predeparture-Signature"
EVENT_HEADER = "X-Predeparture-Event"
SIGNATURE_TOLERANCE_SECONDS = 300  # how old a signed request may be before a receiver refuses it as a replay
LAST_ERROR_LENGTH = 200


class ManifestEvent(StrEnum):
    ISSUED = "manifest.issued"  # the first version the reception team hears of
    AMENDED = "manifest.amended"  # a later version: someone added, removed or changed
    FINAL = "manifest.final"  # re-validated against who boarded


def manifest_event(version: int, final: bool) -> ManifestEvent:
    if final:
        return ManifestEvent.FINAL
    return ManifestEvent.ISSUED if version == 1 else ManifestEvent.AMENDED


def delivery_id(movement_id: str, organisation_id: str, version: int) -> str:
    """Derived from business keys, so every retry of the same manifest version carries the same id and a
    receiver can drop the copies; it says nothing about who travels."""
    digest = hashlib.sha256(f"{movement_id}|{organisation_id}|{version}".encode()).hexdigest()[:20]
    return f"dlv_{digest}"


# -- signatures ------------------------------------------------------------------------------------------------


class SignatureError(ValueError):
    """A request whose signature is missing, malformed, too old or wrong: refuse it."""


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    # The timestamp is signed with the body, so a captured request cannot be replayed later under a new time.
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The X-Predeparture-Signature value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: bytes, header: str | None, body: bytes, now: float,
           tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> int:
    """The signed timestamp, if `header` signs `body` with `secret` within `tolerance` seconds of `now`.

    Several v1 entries are accepted, so a sender can sign with an old and a new secret while they are rotated."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header: expected t=<seconds>,v1=<hex>")
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} seconds away from now")
    expected = _mac(secret, timestamp, body)
    # Every candidate is compared, in constant time each, so timing says nothing about which one came close.
    matched = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    if not any(matched):
        raise SignatureError("signature does not match the body")
    return timestamp


# -- what is sent ----------------------------------------------------------------------------------------------


class ReceptionEndpoint(BaseModel):
    """Where a reception team takes its manifests, and the secret both sides sign with."""

    organisation_id: str
    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret: SecretBytes
    active: bool = True


class ManifestDelivery(BaseModel):
    """What a workflow asks to deliver: opaque ids only; the activity reads the manifest from the archive."""

    organisation_id: str
    movement_id: str
    version: int = Field(ge=1)
    document_reference: str
    event: ManifestEvent

    @property
    def delivery_id(self) -> str:
        return delivery_id(self.movement_id, self.organisation_id, self.version)


class ManifestNotice(BaseModel):
    """The webhook body. Passengers carry the functional needs the reception team prepares for, never a diagnosis:
    a manifest's content has no place for one."""

    delivery_id: str
    event: ManifestEvent
    document_reference: str
    movement_id: str
    organisation_id: str
    version: int
    final: bool
    issued_at: datetime
    issuer: Issuer
    flight: FlightLeg
    destination_city: str
    passengers: list[ManifestPassenger]
    changes: list[ManifestChange] = Field(description="since the previous version the receiver was sent")


class NotAManifest(ValueError):
    """The document named is not the arrival manifest the delivery says it is."""


def manifest_notice(call: ManifestDelivery, document: DocumentToRender) -> ManifestNotice:
    content = document.content
    if not isinstance(content, ManifestContent):
        raise NotAManifest(f"{call.document_reference} is a {document.header.kind.value}, not an arrival manifest")
    if (content.movement_id, content.organisation_id, document.header.version) != (
        call.movement_id, call.organisation_id, call.version
    ):
        raise NotAManifest(f"{call.document_reference} is another movement's, organisation's or version's manifest")
    return ManifestNotice(
        delivery_id=call.delivery_id, event=call.event, document_reference=document.header.reference,
        movement_id=content.movement_id, organisation_id=content.organisation_id, version=document.header.version,
        final=content.final, issued_at=document.header.issued_at, issuer=document.header.issuer,
        flight=content.flight, destination_city=content.destination_city, passengers=content.passengers,
        changes=content.changes,
    )


# -- how a delivery stands -------------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # known, not yet sent
    SENT = "sent"  # on its way, no answer yet
    ACKNOWLEDGED = "acknowledged"  # the receiver answered 2xx: done for good
    FAILING = "failing"  # the last try failed; retried with backoff until acknowledged


class Delivery(BaseModel):
    """What coordinators see of one manifest version's delivery to one reception team."""

    delivery_id: str
    organisation_id: str
    movement_id: str
    version: int
    document_reference: str
    event: ManifestEvent
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    first_failure_at: datetime | None = Field(default=None, description="failing since; kept once acknowledged")
    last_error: str | None = Field(default=None, max_length=LAST_ERROR_LENGTH,
                                   description="an HTTP status or error type: never a response body")
    sent_at: datetime | None = Field(default=None, description="of the latest try")
    acknowledged_at: datetime | None = None

    @classmethod
    def of(cls, call: ManifestDelivery) -> Delivery:
        return cls(delivery_id=call.delivery_id, organisation_id=call.organisation_id, movement_id=call.movement_id,
                   version=call.version, document_reference=call.document_reference, event=call.event)
