"""What the page suites share: accounts that sign in through the sign-in form, and a browser-like client that keeps
the session cookie and reads the CSRF token out of each page, as a browser's form would send it back."""

from __future__ import annotations

import html
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from api.app import create_app
from api.auth import service as auth
from api.context import ApiContext
from api.principal import Role
from store.repository import Store
from tests.test_api_coordinator import settings_for, store  # noqa: F401  (the web suites' store too)

CSRF = re.compile(r'name="csrf[_-]token" (?:value|content)="([^"]+)"')


@pytest_asyncio.fixture
async def app(store: Store, tmp_path: Path) -> FastAPI:
    """The pages over the store alone: suites that never reach a departure need no Temporal."""
    return create_app(context=ApiContext(settings_for(tmp_path), store, None))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Account:
    role: Role
    org_id: str
    username: str
    password: str


async def enrol(store: Store, role: Role, org_id: str | None = None) -> Account:
    """A person of a new organisation (or of `org_id`, created if new) who can sign in."""
    run = uuid.uuid4().hex[:8]
    org_id = org_id or f"{role.value.replace('_', '-')}-{run}"
    try:
        await auth.create_organisation(store, name=f"{role.value} {run}", role=role, org_id=org_id)
    except Exception:  # noqa: BLE001 - the organisation is already there: add a person to it
        pass
    password = secrets.token_urlsafe(18)
    user = await auth.create_user(store, org_id=org_id, username=f"{role.value}.{run}", password=password)
    return Account(role, org_id, user.username, password)


def csrf_of(page: httpx.Response | str) -> str:
    text = page if isinstance(page, str) else page.text
    found = CSRF.search(text)
    assert found, "the page carries no CSRF token"
    return html.unescape(found.group(1))


def visible_text(page: httpx.Response | str) -> str:
    """The page's text as a reader sees it: tags dropped, entities decoded, whitespace folded."""
    text = page if isinstance(page, str) else page.text
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


class Browser:
    """One person's browser: its own cookie jar."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.http.get(url, **kw)

    async def submit(self, url: str, data: dict[str, Any], *, form_page: str | None = None,
                     **kw: Any) -> httpx.Response:
        """Posts a form as the page at `form_page` (default: `url`) would, with that page's CSRF token."""
        page = await self.http.get(form_page or url)
        return await self.http.post(url, data={"csrf_token": csrf_of(page), **data}, **kw)

    async def sign_in(self, account: Account) -> httpx.Response:
        response = await self.submit("/ui/sign-in", {"username": account.username, "password": account.password})
        assert response.status_code == 303, response.text
        return response


@asynccontextmanager
async def browser(app: FastAPI, base_url: str = "http://test") -> AsyncIterator[Browser]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as http:
        yield Browser(http)
