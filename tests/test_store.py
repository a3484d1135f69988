"""The store on a real database (SQLite or PostgreSQL, per --db): migrations, cases, idempotent progress, audit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg
import pytest
import pytest_asyncio
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.store import StoreActivities
from domain.audit import AuditEvent
from domain.case import Case, Destination, FunctionalNeed, Passport, Person, Relationship, Sex
from domain.departure import BookingRecord, BookingStatus, Phase, ProgressUpdate
from domain.medical import AssessmentResult, MedicalFile, TbClass
from domain.partner_messages import FlightBooking
from domain.steps import Step, StepRecord, StepState
from store import CaseNotFound, Store
from store.engine import make_engine
from store.migrate import alembic_config, current_revision, downgrade, upgrade
from store.models import Base

APP_TABLES = {"cases", "people", "step_results", "medical_results", "bookings", "documents", "audit_log"}
CASE_TABLES = ("people", "step_results", "medical_results", "bookings")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    await store.migrate()
    yield store
    await store.close()


@pytest_asyncio.fixture(scope="module")
async def engine(store: Store, database_url: str) -> AsyncIterator[AsyncEngine]:
    """A connection of our own, to look at rows and to try what the Store API would never do."""
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def empty_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own, so taking the schema down does not disturb the session's shared database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield str(url.set(database=str(tmp_path_factory.mktemp("empty") / "store.db")))
        return
    name = f"{url.database}_m{uuid.uuid4().hex[:6]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield str(url.set(database=name))
    finally:
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def family(case_id: str | None = None) -> Case:
    """A principal with a passport, a spouse who needs a new travel document, a child and a grandmother."""
    return Case(
        case_id=case_id or f"case_{uuid.uuid4().hex[:16]}",
        reference="RSC-NBO-2026-00417",
        office_id="office_nairobi",
        medical_partner_id="clinic_nbo_1",
        destination=Destination(country="CA", city="Winnipeg", receiving_organisation="org_wpg_reception"),
        priority=2,
        approved_on=date(2026, 1, 15),
        people=[
            Person(
                given_name="Amina",
                family_name="Yusuf",
                date_of_birth=date(1988, 4, 3),
                sex=Sex.FEMALE,
                nationality="SOM",
                languages=["so", "sw", "en"],
                relationship=Relationship.PRINCIPAL,
                passport=Passport(number="P1234567", issuing_country="SOM", expires_on=date(2029, 8, 31)),
            ),
            Person(
                given_name="Abdi",
                family_name="Yusuf",
                date_of_birth=date(1985, 12, 24),
                sex=Sex.MALE,
                nationality="SOM",
                languages=["so"],
                relationship=Relationship.SPOUSE,
            ),
            Person(
                given_name="Hodan",
                family_name="Yusuf",
                date_of_birth=date(2019, 2, 28),
                sex=Sex.FEMALE,
                nationality="KEN",
                languages=["so", "sw"],
                relationship=Relationship.CHILD,
                functional_needs=[FunctionalNeed.WHEELCHAIR, FunctionalNeed.FOLLOW_UP],
            ),
            Person(
                given_name="Faduma",
                family_name="Warsame",
                date_of_birth=date(1950, 7, 1),
                sex=Sex.FEMALE,
                nationality="SOM",
                languages=["so"],
                relationship=Relationship.PARENT,
                functional_needs=[FunctionalNeed.OXYGEN],
            ),
        ],
    )


def progress(case: Case, *, phase: Phase = Phase.PREPARING, permit: StepState = StepState.REQUESTED) -> ProgressUpdate:
    principal, child = case.people[0], case.people[2]
    permit_done = permit is StepState.DONE
    return ProgressUpdate(
        case_id=case.case_id,
        phase=phase,
        reason="waiting for the exit permit" if not permit_done else None,
        steps=[
            StepRecord(
                step=Step.EXIT_PERMIT,
                state=permit,
                reference="EXP-7781",
                valid_from=date(2026, 3, 10) if permit_done else None,
                valid_until=date(2027, 3, 10) if permit_done else None,
                due_by=datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=3))),
                updated_at=T0,
            ),
            StepRecord(step=Step.HEALTH_ASSESSMENT, person_id=child.person_id, state=StepState.DONE, updated_at=T0),
            StepRecord(step=Step.TRAVEL_DOCUMENT, person_id=principal.person_id, state=StepState.NOT_REQUIRED),
        ],
        medical=[
            MedicalFile(
                person_id=child.person_id,
                assessment=AssessmentResult(
                    person_id=child.person_id,
                    exam_date=date(2026, 2, 20),
                    tb_class=TbClass.B1,
                    findings="latent TB, treated",
                    functional_needs=[FunctionalNeed.WHEELCHAIR],
                    examined_by="panel_phys_12",
                ),
            )
        ],
        bookings=[
            BookingRecord(
                attempt=1,
                idempotency_key=f"{case.case_id}-flight-1",
                status=BookingStatus.BOOKED,
                booking=FlightBooking(
                    booking_ref="QX7P2L",
                    flight_number="KQ310",
                    departs_at=datetime(2026, 6, 1, 23, 55, tzinfo=timezone(timedelta(hours=3))),
                    arrives_at=datetime(2026, 6, 2, 14, 10, tzinfo=timezone(timedelta(hours=-5))),
                    origin="NBO",
                    destination="YWG",
                    seats=4,
                    special_service_requests=["WCHR", "OXYG"],
                ),
            )
        ],
        audit=[
            AuditEvent(
                event_key=f"{case.case_id}:departure.started",
                at=T0,
                actor="system:worker",
                action="departure.started",
                object_type="case",
                object_id=case.case_id,
            ),
            AuditEvent(
                event_key=f"{case.case_id}:step.{permit.value}:exit_permit",
                at=T0 + timedelta(minutes=5),
                actor="system:worker",
                action=f"step.{permit.value}",
                object_type="case",
                object_id=case.case_id,
                detail={"step": "exit_permit"},
            ),
        ],
    )


async def rows_of(engine: AsyncEngine, case_id: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row the case owns, as stored, including ids and updated_at."""
    snapshot: dict[str, list[tuple[object, ...]]] = {}
    async with engine.connect() as conn:
        for name in ("cases", *CASE_TABLES, "audit_log"):
            table = Base.metadata.tables[name]
            where = table.c.object_id == case_id if name == "audit_log" else table.c.case_id == case_id
            result = await conn.execute(sa.select(table).where(where).order_by(*table.primary_key.columns))
            snapshot[name] = [tuple(row) for row in result]
    return snapshot


async def test_migrations_build_the_schema_on_an_empty_database_and_take_it_down_again(
    empty_database_url: str,
) -> None:
    store = Store.from_url(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        await store.migrate()
        await store.migrate()  # a second start of the worker finds nothing to do
        async with engine.begin() as conn:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert head is not None and await conn.run_sync(current_revision) == head
            assert APP_TABLES <= set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            # The hand-written migration builds exactly what the models describe.
            drift = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata)
            )
            assert drift == []

            await conn.run_sync(downgrade)
            assert await conn.run_sync(current_revision) is None
            assert not APP_TABLES & set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))

            await conn.run_sync(upgrade)
            assert APP_TABLES <= set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))

        # The append-only guard came back with the tables.
        event = AuditEvent(
            event_key="k1", at=T0, actor="user_1", action="case.opened", object_type="case", object_id="case_1"
        )
        await store.append_audit([event])
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.delete(Base.metadata.tables["audit_log"]))
    finally:
        await engine.dispose()
        await store.close()


async def test_a_family_round_trips_with_dates_passports_languages_and_needs(store: Store) -> None:
    case = family()
    await store.save_case(case)

    loaded = await store.load_case(case.case_id)

    assert loaded == case
    assert loaded is not None and [p.person_id for p in loaded.people] == [p.person_id for p in case.people]
    assert loaded.people[0].passport == Passport(number="P1234567", issuing_country="SOM", expires_on=date(2029, 8, 31))
    assert loaded.people[2].functional_needs == [FunctionalNeed.WHEELCHAIR, FunctionalNeed.FOLLOW_UP]
    assert loaded.orientation_language() == "so"
    assert case.case_id in await store.list_case_ids()
    assert await store.load_case("case_does_not_exist") is None


async def test_saving_a_case_again_updates_people_and_removes_those_no_longer_in_it(
    store: Store, engine: AsyncEngine
) -> None:
    case = family()
    await store.save_case(case)
    grandmother = case.people[3]
    spouse = case.people[1].model_copy(
        update={"passport": Passport(number="P7654321", issuing_country="SOM", expires_on=date(2030, 1, 1))}
    )
    changed = case.model_copy(update={"people": [case.people[0], spouse, case.people[2]], "priority": 1})

    await store.save_case(changed)

    assert await store.load_case(case.case_id) == changed
    people = Base.metadata.tables["people"]
    async with engine.connect() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).where(people.c.case_id == case.case_id))
        gone = await conn.scalar(sa.select(sa.func.count()).where(people.c.person_id == grandmother.person_id))
    assert (count, gone) == (3, 0)


async def test_applying_the_same_progress_twice_leaves_exactly_the_same_rows(
    store: Store, engine: AsyncEngine
) -> None:
    case = family()
    await store.save_case(case)
    update = progress(case)

    await store.apply_progress(update)
    first = await rows_of(engine, case.case_id)
    await asyncio.sleep(0.01)  # a retry comes later: nothing may be stamped with the new time
    await store.apply_progress(update)
    second = await rows_of(engine, case.case_id)

    assert second == first
    assert {name: len(rows) for name, rows in second.items()} == {
        "cases": 1,
        "people": 4,
        "step_results": 3,
        "medical_results": 1,
        "bookings": 1,
        "audit_log": 2,
    }
    assert await store.step_records(case.case_id) == update.steps
    assert await store.medical_files(case.case_id) == update.medical
    assert await store.bookings(case.case_id) == update.bookings
    assert await store.departure_phase(case.case_id) == (Phase.PREPARING, "waiting for the exit permit")


async def test_a_changed_step_state_updates_its_row_in_place(store: Store, engine: AsyncEngine) -> None:
    case = family()
    await store.save_case(case)
    await store.apply_progress(progress(case))
    steps = Base.metadata.tables["step_results"]
    of_case = sa.select(steps).where(steps.c.case_id == case.case_id)
    async with engine.connect() as conn:
        before = {row.step_key: row.id for row in await conn.execute(of_case)}

    await store.apply_progress(progress(case, phase=Phase.BOOKING, permit=StepState.DONE))

    async with engine.connect() as conn:
        after = {row.step_key: row for row in await conn.execute(of_case)}
    assert {key: row.id for key, row in after.items()} == before
    permit = after["exit_permit"]
    assert (permit.state, permit.valid_until) == ("done", date(2027, 3, 10))
    assert await store.departure_phase(case.case_id) == (Phase.BOOKING, None)
    assert len(await store.audit_events(case.case_id)) == 3  # started, requested, done


async def test_a_save_retried_after_a_newer_one_does_not_take_a_step_back(store: Store) -> None:
    """A worker killed while saving "requested" retries that save after the permit's "done" was saved."""
    case = family()
    await store.save_case(case)
    stale = progress(case)
    newer = progress(case, phase=Phase.BOOKING, permit=StepState.DONE)
    newer.steps[0] = newer.steps[0].model_copy(update={"updated_at": T0 + timedelta(hours=1)})

    await store.apply_progress(newer)
    await store.apply_progress(stale)

    permit = next(r for r in await store.step_records(case.case_id) if r.step is Step.EXIT_PERMIT)
    assert (permit.state, permit.valid_until) == (StepState.DONE, date(2027, 3, 10))


async def test_a_save_landing_late_does_not_undo_the_departures_ending(store: Store) -> None:
    """A refused departure's last save, then a "preparing" save from before it, retried after a worker kill."""
    case = family()
    await store.save_case(case)
    refused = progress(case, phase=Phase.REFUSED).model_copy(update={"reason": "exit_permit refused", "sequence": 7})
    late = progress(case, phase=Phase.PREPARING).model_copy(update={"sequence": 4})

    await store.apply_progress(refused)
    await store.apply_progress(late)
    assert await store.departure_phase(case.case_id) == (Phase.REFUSED, "exit_permit refused")

    await store.apply_progress(progress(case, phase=Phase.CANCELLED).model_copy(update={"sequence": 8}))
    assert (await store.departure_phase(case.case_id) or (None,))[0] is Phase.CANCELLED


async def test_a_late_save_of_an_earlier_result_leaves_the_travellers_newer_result(store: Store) -> None:
    """The clinic's first assessment is saved late (retried after a worker kill), after the re-examination's."""
    case = family()
    await store.save_case(case)
    first = progress(case).model_copy(update={"sequence": 5})
    file = first.medical[0]
    assert file.assessment is not None
    again = file.assessment.model_copy(update={"exam_date": date(2026, 4, 20), "findings": "re-examined, clear"})
    newer = first.model_copy(update={"sequence": 9, "medical": [file.model_copy(update={"assessment": again})]})

    await store.apply_progress(newer)
    await store.apply_progress(first)
    assert await store.medical_files(case.case_id) == newer.medical

    unchanged = newer.model_copy(update={"sequence": 11})  # a later save carrying the same file moves the mark on
    await store.apply_progress(unchanged)
    await store.apply_progress(first.model_copy(update={"sequence": 10}))
    assert await store.medical_files(case.case_id) == newer.medical


async def test_progress_for_an_unknown_case_writes_nothing(store: Store) -> None:
    ghost = family()

    with pytest.raises(CaseNotFound):
        await store.apply_progress(progress(ghost))

    assert await store.audit_events(ghost.case_id) == []
    assert await store.step_records(ghost.case_id) == []


async def test_an_audit_event_recorded_twice_is_stored_once_and_events_come_back_in_time_order(
    store: Store,
) -> None:
    object_id = f"doc_{uuid.uuid4().hex[:12]}"
    later = AuditEvent(
        event_key=f"{object_id}:read:2", at=T0 + timedelta(hours=1), actor="org_wpg_reception",
        action="manifest.read", object_type="document", object_id=object_id, detail={"version": "2"},
    )
    earlier = later.model_copy(update={"event_key": f"{object_id}:sent:1", "at": T0, "action": "manifest.sent"})

    await store.append_audit([later, earlier])
    await store.append_audit([later])
    await store.append_audit([later.model_copy(update={"actor": "someone_else"})])  # same key: the first stands

    assert await store.audit_events(object_id) == [earlier, later]
    assert all(event.object_id == object_id for event in await store.audit_events(object_id))
    everything = await store.audit_events()
    assert [e.event_key for e in everything].count(later.event_key) == 1


async def test_the_database_refuses_to_rewrite_or_erase_the_audit_log(store: Store, engine: AsyncEngine) -> None:
    object_id = f"case_{uuid.uuid4().hex[:12]}"
    event = AuditEvent(
        event_key=f"{object_id}:opened", at=T0, actor="user_7", action="case.opened", object_type="case",
        object_id=object_id,
    )
    await store.append_audit([event])
    audit = Base.metadata.tables["audit_log"]

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(sa.update(audit).where(audit.c.object_id == object_id).values(actor="user_8"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(sa.delete(audit).where(audit.c.object_id == object_id))

    assert await store.audit_events(object_id) == [event]


async def test_deleting_a_case_takes_its_people_and_progress_with_it(store: Store, engine: AsyncEngine) -> None:
    case = family()
    await store.save_case(case)
    await store.apply_progress(progress(case))

    async with engine.begin() as conn:
        await conn.execute(sa.delete(Base.metadata.tables["cases"]).where(sa.column("case_id") == case.case_id))

    remaining = await rows_of(engine, case.case_id)
    assert [remaining[name] for name in CASE_TABLES] == [[], [], [], []]
    assert len(remaining["audit_log"]) == 2  # the trail outlives the case


async def test_timestamps_come_back_timezone_aware_in_utc(store: Store, engine: AsyncEngine) -> None:
    case = family()
    await store.save_case(case)
    update = progress(case)
    await store.apply_progress(update)

    due_by = (await store.step_records(case.case_id))[0].due_by
    flight = (await store.bookings(case.case_id))[0].booking
    at = (await store.audit_events(case.case_id))[0].at
    cases = Base.metadata.tables["cases"]
    async with engine.connect() as conn:
        created_at = await conn.scalar(sa.select(cases.c.created_at).where(cases.c.case_id == case.case_id))

    for value in (due_by, flight.departs_at, flight.arrives_at, at, created_at):
        assert value is not None and value.utcoffset() == timedelta(0)
    assert due_by == datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # 12:00 at +03:00, the same instant
    assert flight.arrives_at == datetime(2026, 6, 2, 19, 10, tzinfo=UTC)

    naive_step = update.steps[0].model_copy(update={"due_by": datetime(2026, 5, 1)})  # noqa: DTZ001 - the case under test
    naive = update.model_copy(update={"steps": [naive_step]})
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
        await store.apply_progress(naive)


async def test_phase_counts_follow_departures_as_they_move(store: Store) -> None:
    cases = [family(), family()]
    for case in cases:
        await store.save_case(case)
    before = await store.phase_counts()

    await store.apply_progress(progress(cases[0], phase=Phase.AWAITING_FLIGHT))
    await store.apply_progress(progress(cases[1], phase=Phase.AWAITING_FLIGHT))
    await store.apply_progress(progress(cases[1], phase=Phase.DEFERRED))

    after = await store.phase_counts()
    assert after.get("awaiting_flight", 0) - before.get("awaiting_flight", 0) == 1
    assert after.get("deferred", 0) - before.get("deferred", 0) == 1
    assert await store.departure_phase(family().case_id) is None


async def test_a_worker_and_an_api_can_write_to_the_same_database_at_once(store: Store, database_url: str) -> None:
    other = Store.from_url(database_url)  # a second process's store, with its own connections
    try:
        cases = [family() for _ in range(12)]
        for case in cases:
            await store.save_case(case)
        await asyncio.gather(
            *(target.apply_progress(progress(case)) for case in cases for target in (store, other))
        )
        assert [len(await other.step_records(case.case_id)) for case in cases] == [3] * len(cases)
    finally:
        await other.close()


async def test_store_activities_load_cases_and_save_progress(store: Store) -> None:
    activities = StoreActivities(store)
    env = ActivityEnvironment()
    case = family()
    await store.save_case(case)

    assert await env.run(activities.load_case, case.case_id) == case
    await env.run(activities.save_progress, progress(case, phase=Phase.BOOKING))
    assert await store.departure_phase(case.case_id) == (Phase.BOOKING, "waiting for the exit permit")

    missing = f"case_{uuid.uuid4().hex[:16]}"
    with pytest.raises(ApplicationError) as refused:
        await env.run(activities.load_case, missing)
    assert (refused.value.type, refused.value.non_retryable) == ("CaseNotFound", True)
    assert missing in refused.value.message

    with pytest.raises(ApplicationError) as unsaved:
        await env.run(activities.save_progress, progress(family(missing)))
    assert (unsaved.value.type, unsaved.value.non_retryable) == ("CaseNotFound", True)
    assert "Yusuf" not in unsaved.value.message
