"""What every request needs: settings, the store and the Temporal client. Built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from predeparture.keys import load_or_create_key
from predeparture.settings import Settings
from predeparture.telemetry import Tracing
from store.repository import Store
from store.webhooks import SecretSealer, WebhookStore


@dataclass
class ApiContext:
    settings: Settings
    store: Store
    temporal: Client
    # Seals reception teams' webhook secrets under the key the worker opens them with. Made from the settings'
    # payload encryption key when first needed, for contexts built without one.
    sealer: SecretSealer | None = None
    # When traces are on: the API's request spans are made by its tracer (api.observability), and the Temporal
    # client above carries its interceptor, so the workflow's spans join the request's trace.
    tracing: Tracing | None = None

    def webhooks(self) -> WebhookStore:
        if self.sealer is None:
            self.sealer = SecretSealer(*load_or_create_key(self.settings))
        return WebhookStore(self.store, self.sealer)
