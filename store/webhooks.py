"""Reception teams' webhook endpoints and the status of every manifest delivery to them.

Every write is idempotent and monotonic: it names the attempt it reports, a repeat changes nothing, a late report
from an older attempt (one Temporal already gave up on) changes nothing, and an acknowledged delivery stays so."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Table, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.audit import AuditEvent
from domain.webhooks import LAST_ERROR_LENGTH, Delivery, DeliveryStatus, ReceptionEndpoint
from store import convert
from store.repository import AUDIT, Store
from store.upsert import insert_new, upsert
from store.webhook_models import ReceptionEndpointRow, WebhookDeliveryRow

ENDPOINTS = cast(Table, ReceptionEndpointRow.__table__)
DELIVERIES = cast(Table, WebhookDeliveryRow.__table__)
ACKNOWLEDGED = DeliveryStatus.ACKNOWLEDGED.value
NONCE_BYTES = 12


class SecretUnreadable(ValueError):
    """A sealed secret names a key this process lacks, or does not open under it."""


class SecretSealer:
    """AES-256-GCM for secrets kept in the store, under keys derived from the payload encryption keys
    (predeparture.keys), so rotating those keys covers these too without one key serving two purposes."""

    PURPOSE = b"predeparture/reception-endpoint-secret/v1"

    def __init__(self, key_id: str, key: bytes, previous_keys: Mapping[str, bytes] | None = None) -> None:
        self.key_id = key_id
        self._by_id = {each: AESGCM(self._derive(k)) for each, k in {**(previous_keys or {}), key_id: key}.items()}

    def _derive(self, key: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self.PURPOSE).derive(key)

    def seal(self, secret: bytes, bound_to: str) -> str:
        """`bound_to` (the row's key) is authenticated with it: a sealed secret copied to another row won't open."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._by_id[self.key_id].encrypt(nonce, secret, bound_to.encode())
        return f"{self.key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def open(self, sealed: str, bound_to: str) -> bytes:
        key_id, _, text = sealed.partition(":")
        cipher = self._by_id.get(key_id)
        if cipher is None:
            raise SecretUnreadable(f"sealed under key id {key_id!r}, which this process does not have")
        try:
            raw = base64.b64decode(text, validate=True)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode())
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretUnreadable(f"the secret under key id {key_id!r} does not open: altered or moved") from None


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery.model_validate(row, from_attributes=True)


def _at_least(attempt: int) -> Any:
    return case((DELIVERIES.c.attempts < attempt, attempt), else_=DELIVERIES.c.attempts)


class WebhookStore:
    def __init__(self, store: Store, sealer: SecretSealer) -> None:
        self._store = store
        self._sealer = sealer

    # Endpoints

    async def set_endpoint(self, endpoint: ReceptionEndpoint, at: datetime) -> None:
        row = {"organisation_id": endpoint.organisation_id, "url": endpoint.url, "active": endpoint.active,
               "sealed_secret": self._sealer.seal(endpoint.secret.get_secret_value(), endpoint.organisation_id),
               "updated_at": at}
        async with self._store.session() as session, session.begin():
            await session.execute(upsert(self._store.dialect, ENDPOINTS, [row], keys=["organisation_id"],
                                         update=["url", "active", "sealed_secret"], touch="updated_at"))

    async def endpoint(self, organisation_id: str) -> ReceptionEndpoint | None:
        async with self._store.session() as session:
            row = await session.get(ReceptionEndpointRow, organisation_id)
        if row is None:
            return None
        return ReceptionEndpoint(organisation_id=row.organisation_id, url=row.url, active=row.active,
                                 secret=self._sealer.open(row.sealed_secret, row.organisation_id))  # type: ignore[arg-type]

    # Deliveries

    async def record_sent(self, delivery: Delivery, attempt: int, at: datetime) -> None:
        """Before the request goes out: a delivery seen for the first time turns from pending to sent; one that is
        failing stays failing (since when it started) until the receiver acknowledges."""
        values = {"attempts": _at_least(attempt), "sent_at": at, "updated_at": at,
                  "status": case((DELIVERIES.c.status == DeliveryStatus.PENDING.value, DeliveryStatus.SENT.value),
                                 else_=DELIVERIES.c.status)}
        await self._write(delivery, attempt, at, values)

    async def record_failure(self, delivery: Delivery, attempt: int, at: datetime, error: str) -> None:
        values = {"attempts": _at_least(attempt), "status": DeliveryStatus.FAILING.value, "updated_at": at,
                  "first_failure_at": func.coalesce(DELIVERIES.c.first_failure_at, at),
                  "last_error": error[:LAST_ERROR_LENGTH]}
        await self._write(delivery, attempt, at, values)

    async def record_acknowledged(self, delivery: Delivery, attempt: int, at: datetime) -> Delivery:
        """The receiver has it: done for good, and the disclosure goes into the audit log, once."""
        async with self._store.session() as session, session.begin():
            await self._ensure(session, delivery, at)
            # An acknowledgement counts whichever attempt it came from: the receiver has the manifest either way.
            await session.execute(
                update(DELIVERIES).where(DELIVERIES.c.delivery_id == delivery.delivery_id,
                                         DELIVERIES.c.status != ACKNOWLEDGED)
                .values(status=ACKNOWLEDGED, acknowledged_at=at, attempts=_at_least(attempt), updated_at=at)
            )
            row = await session.get(WebhookDeliveryRow, delivery.delivery_id)
            assert row is not None
            stored = _delivery(row)
            event = AuditEvent(
                event_key=f"webhook:{delivery.delivery_id}", at=stored.acknowledged_at or at,
                actor="system:webhook-delivery", action="manifest.delivered", object_type="movement",
                object_id=delivery.movement_id,
                detail={"delivery_id": delivery.delivery_id, "organisation_id": delivery.organisation_id,
                        "version": str(delivery.version), "document": delivery.document_reference,
                        "event": delivery.event.value, "attempts": str(stored.attempts)},
            )
            await session.execute(insert_new(self._store.dialect, AUDIT, [convert.audit_row(event)],
                                             keys=["event_key"]))
        return stored

    async def delivery(self, delivery_id: str) -> Delivery | None:
        async with self._store.session() as session:
            row = await session.get(WebhookDeliveryRow, delivery_id)
            return _delivery(row) if row else None

    async def deliveries(self, movement_id: str, organisation_id: str | None = None) -> list[Delivery]:
        """A movement's deliveries, per organisation and version: what coordinators watch."""
        query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.movement_id == movement_id)
        if organisation_id is not None:
            query = query.where(WebhookDeliveryRow.organisation_id == organisation_id)
        async with self._store.session() as session:
            rows = await session.scalars(query.order_by(WebhookDeliveryRow.organisation_id,
                                                        WebhookDeliveryRow.version))
            return [_delivery(row) for row in rows]

    async def _write(self, delivery: Delivery, attempt: int, at: datetime, values: dict[str, Any]) -> None:
        async with self._store.session() as session, session.begin():
            await self._ensure(session, delivery, at)
            await session.execute(
                update(DELIVERIES).where(DELIVERIES.c.delivery_id == delivery.delivery_id,
                                         DELIVERIES.c.status != ACKNOWLEDGED, DELIVERIES.c.attempts <= attempt)
                .values(**values)
            )

    async def _ensure(self, session: AsyncSession, delivery: Delivery, at: datetime) -> None:
        row = {"delivery_id": delivery.delivery_id, "organisation_id": delivery.organisation_id,
               "movement_id": delivery.movement_id, "version": delivery.version,
               "document_reference": delivery.document_reference, "event": delivery.event.value,
               "status": DeliveryStatus.PENDING.value, "attempts": 0, "first_failure_at": None, "last_error": None,
               "sent_at": None, "acknowledged_at": None, "updated_at": at}
        await session.execute(insert_new(self._store.dialect, DELIVERIES, [row], keys=["delivery_id"]))
