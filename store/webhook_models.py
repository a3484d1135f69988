"""Where reception teams take their manifests, and how each delivery to them stands. Opaque ids only; the
endpoint's signing secret is kept sealed (store.webhooks.SecretSealer), never in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import ID, Base

URL = 2000


class ReceptionEndpointRow(Base):
    """No foreign key to organisations: a reception team can take deliveries without an account on the API."""

    __tablename__ = "reception_endpoints"

    organisation_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    url: Mapped[str] = mapped_column(String(URL))
    sealed_secret: Mapped[str] = mapped_column(Text, doc="<key id>:<base64 of nonce || AES-256-GCM ciphertext>")
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """One manifest version's delivery to one reception team; domain.webhooks.Delivery."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(ID))
    movement_id: Mapped[str] = mapped_column(String(ID), index=True)
    version: Mapped[int] = mapped_column(Integer)
    document_reference: Mapped[str] = mapped_column(String(ID))
    event: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True, doc="coordinators look for the failing ones")
    attempts: Mapped[int] = mapped_column(Integer)
    first_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200), doc="an HTTP status or error type, no body")
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
