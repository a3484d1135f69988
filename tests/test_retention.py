"""Data retention on the time-skipping server, on SQLite and PostgreSQL: the RetentionWorkflow anonymises the
families that arrived longer ago than their destination's period, and only them, audits each, keeps what the
charts read, and changes nothing when run again."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest_asyncio

from domain.departure import Phase
from domain.retention import ACTOR, ANONYMISED_ACTION, ANONYMISED_NAME, RetentionBatch, RetentionInput
from store.documents import DocumentArchive
from store.retention import anonymise_case, due_cases
from store.statistics import departures_per_week, step_waits
from tests.departure_harness import World, open_world, quiet_simulator
from tests.retention_fixtures import FINDINGS, Seeded, seed_case, snapshot
from workflows.retention import RetentionWorkflow

YEAR = timedelta(days=365)


@pytest_asyncio.fixture
async def world(database_url: str, task_queue: str, document_renderer: object) -> AsyncIterator[World]:
    async with open_world(database_url, task_queue, quiet_simulator(), document_renderer) as world:  # type: ignore[arg-type]
        yield world


async def run_retention(world: World, request: RetentionInput) -> int:
    # The clock stays where the test put it: left to skip, the test server jumps years ahead once a run is over,
    # and the families that arrived lately would then be due as well.
    with world.env.auto_time_skipping_disabled():
        outcome = await world.client.execute_workflow(RetentionWorkflow.run, request, task_queue=world.task_queue,
                                                      id=f"retention-{uuid.uuid4().hex}")
    return outcome.anonymised


async def charts(world: World, office: str, now: datetime) -> tuple[object, object]:
    since, until = now - 3 * YEAR, now + timedelta(days=1)
    return (await step_waits(world.store, office, since, until),
            await departures_per_week(world.store, office, since, until))


def personal_data(seeded: Seeded) -> list[str]:
    """What must not survive anonymisation anywhere in the case's rows."""
    found = [seeded.case.reference, FINDINGS, "EXIT-2231-889"]
    for person in seeded.case.people:
        found += [person.given_name, person.family_name, person.date_of_birth.isoformat()]
        found += [person.passport.number] if person.passport else []
    return found


async def test_families_that_arrived_long_ago_are_anonymised_and_no_one_else(world: World) -> None:
    now = await world.env.get_current_time()
    office = f"office_{uuid.uuid4().hex[:8]}"
    arrived_long_ago = await seed_case(world.store, office=office, country="CA",
                                       arrives_at=now - YEAR - timedelta(days=35))
    arrived_lately = await seed_case(world.store, office=office, country="CA", arrives_at=now - timedelta(days=30))
    # Its flight landed long ago, but the departure never reported it departed (deferred at the gate).
    not_departed = await seed_case(world.store, office=office, country="CA", arrives_at=now - 2 * YEAR,
                                   phase=Phase.DEFERRED)
    # Per destination: France keeps 90 days, the United States two years.
    short_period = await seed_case(world.store, office=office, country="FR", arrives_at=now - timedelta(days=200))
    long_period = await seed_case(world.store, office=office, country="US", arrives_at=now - YEAR - timedelta(days=35))
    untouched = [arrived_lately, not_departed, long_period]
    before = {s.case.case_id: await snapshot(world.store, s)
              for s in (arrived_long_ago, short_period, *untouched)}
    charts_before = await charts(world, office, now)

    request = RetentionInput(overrides={"fr": timedelta(days=90), "US": 2 * YEAR}, batch_size=1)
    assert await run_retention(world, request) >= 2

    for seeded in (arrived_long_ago, short_period):
        await assert_anonymised(world, seeded, before[seeded.case.case_id])
    for seeded in untouched:
        assert await snapshot(world.store, seeded) == before[seeded.case.case_id]
    assert await charts(world, office, now) == charts_before

    # A second run finds nothing left to do and writes nothing.
    done = {s.case.case_id: await snapshot(world.store, s) for s in (arrived_long_ago, short_period, *untouched)}
    assert await run_retention(world, request) == 0
    for seeded in (arrived_long_ago, short_period, *untouched):
        assert await snapshot(world.store, seeded) == done[seeded.case.case_id]


def kept(rows: dict[str, Any]) -> dict[str, Any]:
    """What statistics and accountability need: ids, step states and dates, bookings, the earlier audit trail."""
    return {
        "case": [{k: v for k, v in row.items() if k not in ("reference", "departure_reason", "updated_at")}
                 for row in rows["case"]],
        "people": [(p["person_id"], p["sex"], p["nationality"], p["relationship"], p["languages"])
                   for p in rows["people"]],
        "steps": [{k: v for k, v in row.items() if k not in ("document_number", "reason")} for row in rows["steps"]],
        "bookings": rows["bookings"],
        "documents": [{k: v for k, v in row.items() if k != "content"} for row in rows["documents"]],
        "audit": [row for row in rows["audit"] if row["action"] != ANONYMISED_ACTION],
    }


async def assert_anonymised(world: World, seeded: Seeded, before: dict[str, Any]) -> None:
    store, case_id = world.store, seeded.case.case_id
    case = await store.load_case(case_id)
    assert case is not None and case.reference == case_id
    for person, was in zip(case.people, seeded.case.people, strict=True):
        assert (person.person_id, person.given_name, person.family_name) == (was.person_id, ANONYMISED_NAME,
                                                                             ANONYMISED_NAME)
        assert person.date_of_birth == date(was.date_of_birth.year, 1, 1)  # the age band stays
        assert person.passport is None and person.functional_needs == []
    assert await store.medical_files(case_id) == []
    steps = {record.key: record for record in await store.step_records(case_id)}
    assert all(record.document_number is None for record in steps.values())
    assert all(record.reason is None for key, record in steps.items() if key.startswith("health_assessment"))
    assert [b.booking for b in await store.bookings(case_id)] == [seeded.booking]

    archive = DocumentArchive(store)
    for document_id in seeded.document_ids:
        stored = await archive.get(document_id)
        assert stored is not None and stored.sha256  # /verify still answers for the paper the family holds
        assert await archive.content(document_id) is None
        assert await archive.pdf(document_id) is None

    rows = await snapshot(store, seeded)
    assert kept(rows) == kept(before)
    assert rows["pdfs"] == [] and before["pdfs"]
    written = json.dumps(rows, default=str)
    assert not [value for value in personal_data(seeded) if value in written]
    [record] = [e for e in await store.audit_events(case_id) if e.action == ANONYMISED_ACTION]
    assert record.actor == ACTOR and record.object_type == "case"
    assert record.detail == {"people": "3", "medical_files": "3", "documents": "5"}


async def test_a_run_that_stopped_half_way_is_finished_by_the_next(world: World) -> None:
    now = await world.env.get_current_time()
    office = f"office_{uuid.uuid4().hex[:8]}"
    first, second = [await seed_case(world.store, office=office, country="CA", arrives_at=now - 2 * YEAR)
                     for _ in range(2)]
    mine = {first.case.case_id, second.case.case_id}
    before = {s.case.case_id: await snapshot(world.store, s) for s in (first, second)}
    batch = RetentionInput().batch(now)
    # The worker died after committing the first case of its batch: that case is done, audit row and all.
    due = [case_id for case_id in await due_cases(world.store, batch.model_copy(update={"limit": 10_000}))
           if case_id in mine]
    assert sorted(due) == sorted(mine)
    assert await anonymise_case(world.store, due[0], batch) is not None

    await run_retention(world, RetentionInput(batch_size=1))

    for seeded in (first, second):
        await assert_anonymised(world, seeded, before[seeded.case.case_id])
    assert await anonymise_case(world.store, due[0], RetentionBatch(at=now, default_cutoff=now, limit=1)) is None
