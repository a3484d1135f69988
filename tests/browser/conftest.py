"""Fixtures of the browser tests. They run on SQLite only (the pages read through the same services the API tests
already run on PostgreSQL), and are skipped, saying why, only where chromium is not installed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, missing_browser


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = __file__.rsplit("/", 1)[0]
    mine = [item for item in items if str(item.fspath).startswith(here)]
    for item in mine:
        item.add_marker(pytest.mark.browser)
    if config.getoption("--db") == "postgresql":
        skip = pytest.mark.skip(reason="browser tests run on SQLite only; the pages' services are tested on both")
        for item in mine:
            item.add_marker(skip)


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    """One browser for the session; each test opens its own contexts (cookies are per context)."""
    missing = missing_browser()
    if missing:
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
