"""What coordinators and reception teams see of a movement, and what they send it. Counts and opaque ids only:
no names, and no medical detail beyond the special service requests the airline prepares for."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from api.cases.schemas import OPAQUE_ID, printable
from domain.documents import FlightLeg
from domain.movement import Escorts, MovementKind, MovementPhase, SpecialService
from domain.webhooks import DeliveryStatus, ManifestEvent

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
SECRET_MIN = 32


class DeliveryView(BaseModel):
    """One manifest version's delivery to one reception team."""

    version: int
    event: ManifestEvent
    status: DeliveryStatus
    attempts: int
    failing_since: datetime | None = Field(description="the first failed try; kept once acknowledged")
    last_error: str | None = Field(description="an HTTP status or an error type, never what the receiver said")
    sent_at: datetime | None = Field(description="of the latest try")
    acknowledged_at: datetime | None


class OrganisationView(BaseModel):
    organisation_id: str
    families: int
    travellers: int
    published_version: int | None = Field(description="the manifest version last published for this team")
    final: bool = Field(description="whether that version is the final one, re-validated against who boarded")
    delivered_version: int | None
    arrival_confirmed: bool
    delivery: DeliveryView | None = Field(description="of the latest version delivered or being delivered")
    deliveries: list[DeliveryView] = Field(description="every version's, oldest first")


class MovementView(BaseModel):
    """A coordinator sees the whole movement; a reception team only its own families and deliveries, without the
    aircraft's figures (capacity, seats, escorts)."""

    movement_id: str
    kind: MovementKind
    phase: MovementPhase
    flight: FlightLeg | None
    capacity: int | None = Field(description="a charter's seats; none for a scheduled flight, or for a reception team")
    seats_taken: int | None = Field(description="escorts included; coordinators only")
    escorts: Escorts | None = Field(description="coordinators only")
    special_services: dict[SpecialService, int]
    families: int
    travellers: int
    boarded: int | None = Field(description="travellers recorded as boarded, once boarding is recorded")
    organisations: list[OrganisationView]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "movement_id": "mov_3e9b0c2d4f6a8b1c", "kind": "charter", "phase": "notice_sent",
        "flight": {"flight_number": "CH0412", "origin": "NBO", "destination": "YWG",
                   "departs_at": "2026-12-14T22:00:00Z", "arrives_at": "2026-12-15T12:00:00Z"},
        "capacity": 350, "seats_taken": 310, "escorts": {"operational": 6, "medical": 4},
        "special_services": {"wheelchair": 10}, "families": 100, "travellers": 300, "boarded": None,
        "organisations": [{"organisation_id": "org_reception_winnipeg", "families": 60, "travellers": 180,
                           "published_version": 1, "final": False, "delivered_version": None,
                           "arrival_confirmed": False,
                           "delivery": {"version": 1, "event": "manifest.issued", "status": "failing", "attempts": 4,
                                        "failing_since": "2026-11-30T00:01:02Z", "last_error": "HTTP 503",
                                        "sent_at": "2026-11-30T01:05:00Z", "acknowledged_at": None},
                           "deliveries": []}],
    }]})


PersonId = Annotated[str, Field(pattern=OPAQUE_ID)]


class BoardingBody(BaseModel):
    boarded_person_ids: list[PersonId] = Field(min_length=1, max_length=1000,
                                               description="every traveller who boarded, by opaque person id")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"boarded_person_ids": ["per_5b1e2c7d9a0f4e36", "per_0c9d8e7f6a5b4c3d"]}]})


def _encodable(text: str) -> None:
    # JSON can carry a lone surrogate, which neither the database nor a signature can take.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None


def _reception_url(url: str) -> str:
    _encodable(url)
    parts = urlsplit(url)
    if not url.startswith(("https://", "http://")) or not parts.hostname:
        raise ValueError("must be an absolute https URL")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise ValueError("must use https (plain http only to localhost or 127.0.0.1)")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials; the shared secret signs each delivery")
    return url


def _long_enough(secret: SecretStr) -> SecretStr:
    _encodable(secret.get_secret_value())
    if len(secret.get_secret_value()) < SECRET_MIN:
        raise ValueError(f"must be at least {SECRET_MIN} characters")
    return secret


class WebhookBody(BaseModel):
    url: Annotated[str, Field(max_length=2000, description="where manifests are posted"),
                   AfterValidator(printable), AfterValidator(_reception_url)]
    secret: Annotated[SecretStr, Field(max_length=512, description="shared secret both sides sign with; "
                                                                   f"at least {SECRET_MIN} characters"),
                      AfterValidator(_long_enough)]

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"url": "https://reception.example.org/hooks/manifests",
         "secret": "3b1f0e9c7a5d4e2f8a6c1b0d9e7f5a3c"}]})


class WebhookView(BaseModel):
    """The secret itself is never shown again, only whether one is set."""

    url: str | None
    secret_set: bool
    active: bool
    updated_at: datetime | None

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"url": "https://reception.example.org/hooks/manifests", "secret_set": True, "active": True,
         "updated_at": "2026-11-22T10:00:00Z"}]})
