"""Manifest acknowledgements in the store, on both databases: the first one of a version stands, a repeat writes
neither a second row nor a second audit entry, and each organisation reads only what it asks for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from store.acknowledgements import ACTION, ManifestAcknowledgement, acknowledge, acknowledgements
from store.repository import Store
from tests.test_api_coordinator import store  # noqa: F401


def ack(movement: str, org: str, version: int, by: str, at: datetime) -> ManifestAcknowledgement:
    return ManifestAcknowledgement(movement, org, version, f"doc_{uuid.uuid4().hex[:20]}", by, at)


async def test_an_acknowledgement_is_recorded_once_and_audited_once(store: Store) -> None:
    movement, team, other = (f"{p}_{uuid.uuid4().hex[:12]}" for p in ("mov", "org_a", "org_b"))
    first_at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    first = ack(movement, team, 1, f"{team}/usr_1", first_at)

    stood, created = await acknowledge(store, first, "reception_team")
    assert created and stood == first
    # A second click, or a colleague a minute later: the first acknowledgement stands.
    again, created = await acknowledge(store, ack(movement, team, 1, f"{team}/usr_2", first_at + timedelta(minutes=1)),
                                       "reception_team")
    assert not created and again == first
    audited = [e for e in await store.audit_events(first.document_reference) if e.action == ACTION]
    assert len(audited) == 1 and audited[0].actor == f"{team}/usr_1"
    assert audited[0].detail["version"] == "1" and audited[0].detail["movement_id"] == movement

    second = ack(movement, team, 2, f"{team}/usr_2", first_at + timedelta(days=1))
    theirs = ack(movement, other, 1, f"{other}/usr_9", first_at)
    await acknowledge(store, second, "reception_team")
    await acknowledge(store, theirs, "reception_team")
    assert await acknowledgements(store, movement, [team]) == [first, second]
    assert await acknowledgements(store, movement) == [first, second, theirs]
    assert await acknowledgements(store, f"mov_{uuid.uuid4().hex[:12]}") == []
