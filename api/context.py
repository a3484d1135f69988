"""What every request needs: settings, the store and the Temporal client. Built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from predeparture.settings import Settings
from store.repository import Store


@dataclass
class ApiContext:
    settings: Settings
    store: Store
    temporal: Client
