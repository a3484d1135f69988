"""The pages' foundation as a person meets it: signing in and out, the session cookie, forms refused without their
CSRF token, the pages in English, French and Arabic (right to left), and errors shown as pages."""

from __future__ import annotations

import re
from typing import Any

import pytest_asyncio
from fastapi import FastAPI

from api.principal import Role
from api.web import STATIC
from store.repository import Store
from tests.web_harness import Account, app, browser, csrf_of, enrol, store, visible_text  # noqa: F401


@pytest_asyncio.fixture
async def coordinator(store: Store) -> Account:
    return await enrol(store, Role.COORDINATOR)


def set_cookie(response: object, name: str) -> str:
    headers = [value for key, value in response.headers.multi_items() if key == "set-cookie"]  # type: ignore[attr-defined]
    found = [value for value in headers if value.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[0]


async def test_signing_in_opens_the_coordinators_board_with_a_locked_down_cookie(app: FastAPI,
                                                                                 coordinator: Account) -> None:
    async with browser(app) as person:
        sent_away = await person.get("/ui/board")
        assert sent_away.status_code == 303
        assert sent_away.headers["location"] == "/ui/sign-in?next=%2Fui%2Fboard"

        form = await person.get(sent_away.headers["location"])
        assert form.status_code == 200 and 'name="next" value="/ui/board"' in form.text
        signed_in = await person.http.post("/ui/sign-in", data={
            "csrf_token": csrf_of(form), "username": coordinator.username.upper(), "password": coordinator.password,
            "next": "/ui/board"})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/ui/board"
        cookie = set_cookie(signed_in, "predeparture_session").lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie
        assert "secure" not in cookie  # plain http (a developer's machine): a Secure cookie would never come back

        home = await person.get("/ui/")
        assert home.status_code == 303 and home.headers["location"] == "/ui/board"


async def test_over_https_the_session_cookie_is_secure(app: FastAPI, coordinator: Account) -> None:
    async with browser(app, base_url="https://predeparture.example") as person:
        signed_in = await person.sign_in(coordinator)
        assert "secure" in set_cookie(signed_in, "predeparture_session").lower()


async def test_a_wrong_password_is_said_next_to_the_field_and_nobody_is_signed_in(app: FastAPI,
                                                                                   coordinator: Account) -> None:
    async with browser(app) as person:
        refused = await person.submit("/ui/sign-in", {"username": coordinator.username, "password": "not-it-at-all"})
        assert refused.status_code == 401
        assert "predeparture_session" not in refused.headers.get("set-cookie", "")
        text = visible_text(refused)
        assert "The username or password is not right" in text
        # The message is tied to the password field, the username is kept, the password is not sent back.
        assert 'aria-describedby="field-password-error"' in refused.text
        assert f'value="{coordinator.username}"' in refused.text and "not-it-at-all" not in refused.text
        assert (await person.get("/ui/board")).status_code == 303

        empty = await person.submit("/ui/sign-in", {"username": "", "password": ""})
        assert empty.status_code == 422
        assert visible_text(empty).count("This field is required.") == 2


async def test_sign_in_never_sends_the_browser_to_another_site(app: FastAPI, coordinator: Account) -> None:
    async with browser(app) as person:
        form = await person.get("/ui/sign-in?next=https://evil.example/ui/board")
        signed_in = await person.http.post("/ui/sign-in", data={
            "csrf_token": csrf_of(form), "username": coordinator.username, "password": coordinator.password,
            "next": "//evil.example/ui/board"})
        assert signed_in.headers["location"] == "/ui/board"


async def test_signing_out_revokes_the_token_for_the_api_too(app: FastAPI, coordinator: Account) -> None:
    async with browser(app) as person:
        await person.sign_in(coordinator)
        token = person.http.cookies["predeparture_session"]
        assert (await person.http.get("/cases", headers={"Authorization": f"Bearer {token}"})).status_code == 200

        board = await person.get("/ui/board")
        out = await person.http.post("/ui/sign-out", data={"csrf_token": csrf_of(board)})
        assert out.status_code == 303 and out.headers["location"].startswith("/ui/sign-in")
        assert "You have signed out." in visible_text(await person.get(out.headers["location"]))

        assert (await person.http.get("/cases", headers={"Authorization": f"Bearer {token}"})).status_code == 401
        person.http.cookies.set("predeparture_session", token, path="/ui")  # the old cookie, kept by someone
        assert (await person.get("/ui/board")).status_code == 303


async def test_a_form_posted_without_this_sessions_csrf_token_is_refused_and_changes_nothing(
        app: FastAPI, store: Store) -> None:
    first, second = await enrol(store, Role.COORDINATOR), await enrol(store, Role.COORDINATOR)
    async with browser(app) as person, browser(app) as other:
        await person.sign_in(first)
        await other.sign_in(second)
        others_token = csrf_of(await other.get("/ui/board"))

        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": others_token}):
            refused = await person.http.post("/ui/sign-out", data=data)
            assert refused.status_code == 403, data
            assert "text/html" in refused.headers["content-type"]
            assert "The form had expired" in visible_text(refused)
        assert (await person.get("/ui/board")).status_code == 200  # still signed in: the sign-out did not happen

        # A script may send the token as a header instead.
        out = await person.http.post("/ui/sign-out", headers={"X-CSRF-Token": csrf_of(await person.get("/ui/board"))})
        assert out.status_code == 303


async def test_the_sign_in_form_itself_needs_its_token(app: FastAPI, coordinator: Account) -> None:
    async with browser(app) as person:
        refused = await person.http.post("/ui/sign-in", data={"username": coordinator.username,
                                                               "password": coordinator.password})
        assert refused.status_code == 403
        assert "predeparture_session" not in refused.headers.get("set-cookie", "")


async def test_pages_speak_french_and_arabic_right_to_left_and_remember_the_choice(app: FastAPI) -> None:
    async with browser(app) as person:
        arabic = await person.get("/ui/sign-in?lang=ar")
        assert '<html lang="ar" dir="rtl">' in arabic.text
        assert "تسجيل الدخول" in visible_text(arabic)  # "Sign in"
        remembered = await person.get("/ui/sign-in")
        assert '<html lang="ar" dir="rtl">' in remembered.text

    async with browser(app) as person:
        french = await person.get("/ui/sign-in", headers={"Accept-Language": "de;q=0.9, fr-CA, en;q=0.5"})
        assert '<html lang="fr" dir="ltr">' in french.text
        assert "Se connecter" in visible_text(french) and "Mot de passe" in visible_text(french)
        english = await person.get("/ui/sign-in", headers={"Accept-Language": "de"})
        assert '<html lang="en" dir="ltr">' in english.text


async def test_errors_on_pages_are_pages_and_the_api_keeps_its_problem_documents(app: FastAPI,
                                                                                  coordinator: Account) -> None:
    async with browser(app) as person:
        await person.sign_in(coordinator)
        missing = await person.get("/ui/no-such-page?lang=fr")
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
        assert "Page introuvable" in visible_text(missing)
        api = await person.http.get("/cases/nothing-here", headers={"Authorization": "Bearer x"})
        assert api.headers["content-type"].startswith("application/problem+json")


async def test_a_medical_partner_signs_in_to_the_worklist_and_a_reception_team_to_arrivals(
        app: FastAPI, store: Store) -> None:
    for role, home in ((Role.MEDICAL_PARTNER, "/ui/worklist"), (Role.RECEPTION_TEAM, "/ui/arrivals")):
        async with browser(app) as person:
            signed_in = await person.sign_in(await enrol(store, role))
            assert signed_in.headers["location"] == home


async def test_the_stylesheet_and_the_live_script_are_served_from_the_project(app: FastAPI) -> None:
    async with browser(app) as person:
        page = await person.get("/ui/sign-in")
        for asset, kind in (("/ui/static/app.css", "text/css"), ("/ui/static/live.js", "javascript")):
            assert f'"{asset}"' in page.text  # linked from the layout, no CDN
            served = await person.get(asset)
            assert served.status_code == 200 and kind in served.headers["content-type"]


def contrast(foreground: str, background: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_state_colour_keeps_text_readable() -> None:
    """WCAG AA, 4.5:1, for every text colour the stylesheet puts on a state's background."""
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    pairs = re.findall(r"color:\s*var\(--([a-z-]+)\);\s*background:\s*var\(--([a-z-]+)\)", css)
    assert len(pairs) >= 6, "the state rules were not found"
    cell_backgrounds = set(re.findall(r"td\.cell-[a-z_]+[^{]*\{\s*background:\s*var\(--([a-z-]+)\)", css))
    assert len(cell_backgrounds) >= 4, "the board cell rules were not found"
    # Board cells hold plain and muted text on the state's background.
    pairs += [(text, background) for background in cell_backgrounds for text in ("ink", "muted", "accent")]
    pairs += [("ink", "paper"), ("muted", "paper"), ("accent", "paper"), ("danger", "paper"), ("paper", "accent")]
    weak = [(fg, bg, round(contrast(colours[fg], colours[bg]), 2)) for fg, bg in pairs
            if contrast(colours[fg], colours[bg]) < 4.5]
    assert not weak, weak


def web_routes(app: FastAPI) -> list[tuple[str, str, object]]:
    from fastapi.routing import iter_route_contexts
    return [(method, context.path, context.route) for context in iter_route_contexts(app.routes)
            if context.path.startswith("/ui/") and context.path != "/ui/static"
            for method in sorted(context.methods or ()) if method != "HEAD"]


def test_every_form_under_ui_checks_its_csrf_token(app: FastAPI) -> None:
    """Whoever adds a page: a POST route without `CsrfChecked` fails here."""
    from api.web.csrf import check_csrf

    def calls(dependant: Any) -> set[object]:
        found = {dependant.call}
        for sub in dependant.dependencies:
            found |= calls(sub)
        return found

    posts = [(path, route) for method, path, route in web_routes(app) if method == "POST"]
    assert len(posts) >= 6  # sign-in, sign-out and the case actions at least
    unchecked = [path for path, route in posts if check_csrf not in calls(route.dependant)]  # type: ignore[attr-defined]
    assert not unchecked, unchecked


async def test_every_page_but_sign_in_sends_a_stranger_to_sign_in(app: FastAPI) -> None:
    async with browser(app) as stranger:
        for method, path, _route in web_routes(app):
            url = re.sub(r"\{[^}]+\}", "x_1", path)
            if path in ("/ui/sign-in", "/ui/sign-out"):
                continue
            response = await stranger.http.request(method, url)
            if method == "GET":
                assert response.status_code == 303, url
                assert response.headers["location"].startswith("/ui/sign-in"), url
            else:  # a form posted without a session or a token changes nothing
                assert response.status_code in (303, 403), url


async def test_a_form_sent_after_the_session_ended_leads_back_to_its_page_after_signing_in(
        app: FastAPI, coordinator: Account) -> None:
    async with browser(app) as person:
        await person.sign_in(coordinator)
        token = csrf_of(await person.get("/ui/board?blocked=yes"))
        person.http.cookies.delete("predeparture_session")  # the session ran out while the page was open
        sent = await person.http.post("/ui/cases/case_x/cancel", data={"reason": "r", "csrf_token": token},
                                      headers={"Referer": "http://test/ui/board?blocked=yes"})
        assert sent.status_code == 303
        assert sent.headers["location"] == "/ui/sign-in?next=%2Fui%2Fboard%3Fblocked%3Dyes"
        elsewhere = await person.http.post("/ui/cases/case_x/cancel", data={"reason": "r", "csrf_token": token},
                                           headers={"Referer": "https://evil.example/ui/board"})
        assert elsewhere.headers["location"] == "/ui/sign-in"


async def test_an_api_token_narrowed_to_reading_is_no_page_session(app: FastAPI, coordinator: Account) -> None:
    async with browser(app) as person:
        issued = await person.http.post("/auth/token", data={
            "grant_type": "password", "username": coordinator.username, "password": coordinator.password,
            "scope": "cases:read"})
        person.http.cookies.set("predeparture_session", issued.json()["access_token"], path="/ui")
        assert (await person.get("/ui/board")).status_code == 303  # it could not start or cancel a departure
