"""Every page under /ui, from each audience's module, in the order their routes are matched."""

from __future__ import annotations

from fastapi import APIRouter

from api.web import board, case_pages, charts, medical, movements, planning, reception, signin
from api.web.session import PREFIX

PAGES = (signin, board, case_pages, medical, reception, movements, planning, charts)


def web_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for module in PAGES:
        router.include_router(module.router)
    return router
