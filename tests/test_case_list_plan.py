"""A coordinator's filtered case list must not cost cases x steps.

With the step filter as a subquery correlated with each case, SQLite looked the steps up by their state (its one
equality index there) once per case of the office: with 10,000 open departures a filtered page took minutes, held
its connection meanwhile, and the API under load (`predeparture bench --only load`) answered nothing but 500s.
What is asserted is the plan SQLite chooses for each filter the list offers, not a time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import event

from api.cases import repository
from api.cases.repository import CaseFilter
from api.context import ApiContext
from domain.steps import Step, StepState
from store.repository import Store

FILTERS = {
    "step and state": CaseFilter(step=Step.HEALTH_ASSESSMENT, state=StepState.SCHEDULED),
    "step still open": CaseFilter(step=Step.EXIT_PERMIT),
    "blocked": CaseFilter(blocked=True),
    "not blocked": CaseFilter(blocked=False),
    "expiring": CaseFilter(expiring_by=(date(2026, 5, 1), date(2026, 6, 1))),
}


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    engine = store._engine.sync_engine  # noqa: SLF001 - the one way to see the SQL the repository sends
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("name", FILTERS)
async def test_a_filtered_case_list_looks_its_steps_up_once_per_query_not_once_per_case(
        tmp_path: Path, name: str) -> None:
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'plan.db'}")
    try:
        await store.migrate()
        with statements(store) as seen:
            context = cast(ApiContext, SimpleNamespace(store=store))  # the store is all a read query uses
            await repository.office_cases(context, "office_1", FILTERS[name], None, 51)
        listing, parameters = next((sql, given) for sql, given in seen if "FROM cases" in sql)  # the page itself
        async with store.session() as session:
            connection = await session.connection()
            plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {listing}", parameters)).all()
        details = [str(row[-1]) for row in plan]
        assert not any("CORRELATED" in detail for detail in details), details
    finally:
        await store.close()
