"""The browser harness itself: chromium renders a page the app serves, the screenshot lands where README says, and
the axe-core check fails a page a screen-reader user could not use (so a clean result on the real pages means
something)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from predeparture.loopback import serving
from tests.browser.harness import SCREENSHOTS, axe_violations, screenshot

LABELLED = """<!doctype html><html lang="en"><head><title>Labelled</title></head><body><main>
<h1>Result</h1><form><label for="d">Exam date</label><input id="d" name="exam_date" type="date">
<button type="submit">Save</button></form></main></body></html>"""
UNLABELLED = """<!doctype html><html lang="en"><head><title>Unlabelled</title></head><body><main>
<h1>Result</h1><form><input name="exam_date" type="date"><button type="submit"></button></form></main></body></html>"""


def pages() -> FastAPI:
    app = FastAPI()
    app.get("/labelled", response_class=HTMLResponse)(lambda: LABELLED)
    app.get("/unlabelled", response_class=HTMLResponse)(lambda: UNLABELLED)
    return app


async def test_axe_passes_a_labelled_form_and_fails_an_unlabelled_one(chromium: Any) -> None:
    async with serving(pages()) as base:
        context = await chromium.new_context()
        page = await context.new_page()
        await page.goto(f"{base}/labelled")
        assert await page.get_by_label("Exam date").count() == 1
        assert await axe_violations(page) == []
        path = await screenshot(page, "harness labelled form")
        assert path.parent == SCREENSHOTS and path.read_bytes().startswith(b"\x89PNG")

        await page.goto(f"{base}/unlabelled")
        found = {v["id"] for v in await axe_violations(page)}
        assert {"label", "button-name"} <= found, found
        await context.close()
