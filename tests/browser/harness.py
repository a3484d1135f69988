"""What the browser tests share: Debian's chromium driven by Playwright (never a downloaded browser), the real app
served by uvicorn on a free port inside the test's own event loop (so it shares the store and the time-skipping
Temporal server with the worker), an axe-core check run in the page, and screenshots kept as PNG files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Without the background-networking flags chromium keeps trying to reach Google's hosts, which this closed network
# refuses; --headless and --no-sandbox let it run as root without a screen.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None. Only a missing browser skips them: axe-core missing is a
    failure (make install runs npm ci), so a run without the accessibility check never passes unnoticed."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install Debian's chromium (make install does)"
    return None


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower()).strip('-')}.png"


async def screenshot(page: Any, name: str) -> Path:
    """The whole page as PNG in test-artifacts/screenshots/ (overwritten by the next run)."""
    path = screenshot_path(name)
    await page.screenshot(path=str(path), full_page=True)
    return path


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = [", ".join(node.get("target", [])) for node in violation.get("nodes", [])][:5]
        lines.append(f"{violation['impact']}: {violation['id']} ({violation['help']}) at {targets}")
    return "\n".join(lines)


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2 A/AA rules and best practice)."""
    assert AXE.exists(), f"{AXE.relative_to(ROOT)} is missing: run npm ci (make install does)"
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))")
    violations: list[dict[str, Any]] = json.loads(result)["violations"]
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


async def assert_accessible(page: Any, name: str) -> None:
    found = await axe_violations(page)
    assert not found, f"axe-core found serious or critical violations on {name} ({page.url}):\n" \
                      f"{describe_violations(found)}"


async def look(page: Any, name: str) -> None:
    """What every page of a journey gets: a screenshot, then the accessibility check."""
    await screenshot(page, name)
    await assert_accessible(page, name)
