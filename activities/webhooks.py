"""Push an arrival manifest version to its reception team's webhook, signed, until the receiver acknowledges.

A failed try is recorded (failing since when, why in a word) and raised as a retryable error, so Temporal tries again
with DELIVERY_RETRY's backoff for as long as it takes; every try carries the same delivery id, so the receiver keeps
one copy. Only a delivery that no retry can make succeed (no endpoint, no such manifest) fails for good."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import httpx
from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from domain.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Delivery,
    DeliveryStatus,
    ManifestDelivery,
    NotAManifest,
    manifest_notice,
    sign,
)
from store.documents import DocumentArchive
from store.webhooks import WebhookStore

# A reception team's server can be down for hours (maintenance, a weekend): no attempt limit, tries ten minutes
# apart at most. The workflow passes these to execute_activity.
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=30), backoff_coefficient=2.0,
                             maximum_interval=timedelta(minutes=10))
DELIVERY_TIMEOUT = timedelta(seconds=30)  # start_to_close: a try lost with its worker is tried again after this
REQUEST_TIMEOUT = httpx.Timeout(20.0, connect=10.0)  # inside DELIVERY_TIMEOUT, so the failure gets recorded

NO_ENDPOINT = "NoReceptionEndpoint"
MANIFEST_NOT_FOUND = "ManifestNotFound"
RECEIVER_UNAVAILABLE = "ReceiverUnavailable"


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryActivities:
    def __init__(self, webhooks: WebhookStore, archive: DocumentArchive, http: httpx.AsyncClient,
                 clock: Callable[[], datetime] = _now) -> None:
        self._webhooks = webhooks
        self._archive = archive
        self._http = http
        self._clock = clock

    @activity.defn
    async def deliver_manifest(self, call: ManifestDelivery) -> Delivery:
        """The delivery once acknowledged; raises ReceiverUnavailable (retryable) while the receiver does not
        answer 2xx, NoReceptionEndpoint or ManifestNotFound (non-retryable) when retrying cannot help."""
        delivery = Delivery.of(call)
        attempt = activity.info().attempt
        done = await self._webhooks.delivery(delivery.delivery_id)
        if done is not None and done.status is DeliveryStatus.ACKNOWLEDGED:
            return done  # a rerun after the answer was lost: the receiver already has it

        endpoint = await self._webhooks.endpoint(call.organisation_id)
        if endpoint is None or not endpoint.active:
            await self._webhooks.record_failure(delivery, attempt, self._clock(), "no active reception endpoint")
            raise ApplicationError(f"{call.organisation_id} has no active reception endpoint", type=NO_ENDPOINT,
                                   non_retryable=True)
        document = await self._archive.content(call.document_reference)
        try:
            if document is None:
                raise NotAManifest(f"no document {call.document_reference} in the archive")
            body = manifest_notice(call, document).model_dump_json().encode()
        except NotAManifest as wrong:
            await self._webhooks.record_failure(delivery, attempt, self._clock(), "manifest not found")
            raise ApplicationError(str(wrong), type=MANIFEST_NOT_FOUND, non_retryable=True) from None

        sent_at = self._clock()
        await self._webhooks.record_sent(delivery, attempt, sent_at)
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: delivery.delivery_id,
            EVENT_HEADER: call.event.value,
            SIGNATURE_HEADER: sign(endpoint.secret.get_secret_value(), int(sent_at.timestamp()), body),
        }
        try:
            answer = await self._http.post(endpoint.url, content=body, headers=headers, timeout=REQUEST_TIMEOUT)
        except httpx.HTTPError as error:
            # The error's type only: its message can quote the URL, and nothing the receiver said is kept.
            await self._failed(delivery, attempt, type(error).__name__)
        if not answer.is_success:
            await self._failed(delivery, attempt, f"HTTP {answer.status_code}")
        return await self._webhooks.record_acknowledged(delivery, attempt, self._clock())

    async def _failed(self, delivery: Delivery, attempt: int, error: str) -> NoReturn:
        await self._webhooks.record_failure(delivery, attempt, self._clock(), error)
        raise ApplicationError(f"delivery {delivery.delivery_id} not acknowledged: {error}", type=RECEIVER_UNAVAILABLE)
