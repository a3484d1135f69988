"""The audit trail: who did or saw what, when, to which object. Opaque ids only, never personal data."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AuditEvent(BaseModel):
    event_key: str = Field(description="business key; a retried write with the same key records nothing new")
    at: datetime
    actor: str = Field(description="user, organisation or 'system:<component>'")
    action: str = Field(description="e.g. departure.started, step.done, manifest.read")
    object_type: str
    object_id: str
    detail: dict[str, str] = Field(default_factory=dict, description="opaque ids and states only")
