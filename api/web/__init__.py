"""Server-rendered pages for coordinators, medical partners and reception teams, under /ui.

Pages call the same services as the JSON routes (api/<area>/service.py) with the principal of the session, so the
same authorisation holds; only the way in (a cookie, CSRF-checked forms) and the way out (HTML) differ."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web.errors import install_error_pages
from api.web.router import web_router
from api.web.session import PREFIX
from documents.html import TEMPLATES

STATIC = TEMPLATES / "web" / "static"


def install_web(app: FastAPI) -> None:
    """After the problem handlers: the page errors wrap them."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web-static")
    app.include_router(web_router())
    install_error_pages(app)
