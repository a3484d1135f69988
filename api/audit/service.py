"""Writing and reading the audit trail from the API: who (organisation/subject), what, when, which object.

Other areas record through `record`, so every row the API writes names its actor the same way and a coordinator's
query can find its own organisation's actions by the actor's prefix."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from api.context import ApiContext
from api.principal import Principal
from domain.audit import AuditEvent

ACTOR_MAX = 128  # audit_log.actor


def actor_of(principal: Principal) -> str:
    """`<org_id>/<subject>`: both opaque ids, never a name."""
    return f"{principal.org_id}/{principal.subject}"[:ACTOR_MAX]


def actor_prefix(org_id: str) -> str:
    return f"{org_id}/"


def event(principal: Principal, action: str, object_type: str, object_id: str, *, key: str | None = None,
          **detail: str) -> AuditEvent:
    """`key` makes a repeat of the same business event write nothing new; without one every call is its own row."""
    return AuditEvent(
        event_key=key or f"api:{uuid.uuid4().hex}",
        at=datetime.now(UTC),
        actor=actor_of(principal),
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail={"org_id": principal.org_id, "role": principal.role.value, **detail},
    )


async def record(context: ApiContext, principal: Principal, action: str, object_type: str, object_id: str, *,
                 key: str | None = None, **detail: str) -> AuditEvent:
    written = event(principal, action, object_type, object_id, key=key, **detail)
    await context.store.append_audit([written])
    return written
