"""Authentication on a real database (per --db): tokens for people and partner systems, what they carry, when they
stop working, the admin CLI and the demo seed. Temporal is not involved: auth never calls it."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, cast

import httpx
import jwt
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select
from temporalio.client import Client
from typer.testing import CliRunner

from api.app import create_app
from api.auth import service
from api.auth.seed import DemoOrganisations, seed_demo_identities
from api.context import ApiContext
from api.deps import require
from api.principal import ROLE_SCOPES, Principal, Role, Scope
from domain.case import Case, Destination, Person, Relationship, Sex
from predeparture.settings import ApiSettings, Settings
from predeparture.users_cli import users_app
from store.identity_models import ApiClientRow, OrganisationRow, UserRow
from store.repository import Store

SECRET = "test-signing-key-" + "k" * 32
OTHER_SECRET = "another-signing-key-" + "o" * 32
PASSWORD = "correct horse battery staple"
PROBLEM_JSON = "application/problem+json"
TOKEN_CLAIMS = {"iss", "aud", "sub", "org", "role", "scope", "jti", "iat", "exp"}


@pytest_asyncio.fixture(scope="module")
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(database_url)
    await store.migrate()
    yield store
    await store.close()


def settings_for(database_url: str, data_dir: Path, **api: Any) -> Settings:
    options: dict[str, Any] = {"jwt_secret": SecretStr(SECRET), "auth_cache_ttl": timedelta(0), **api}
    return Settings(database_url=database_url, data_dir=data_dir, api=ApiSettings(**options))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path)


def app_for(settings: Settings, store: Store) -> FastAPI:
    """The real application, plus routes that only check scopes, since auth is all these tests are about."""
    app = create_app(context=ApiContext(settings, store, cast(Client, None)))

    @app.get("/test/whoami")
    def whoami(principal: Annotated[Principal, Depends(require())]) -> dict[str, Any]:
        return {"subject": principal.subject, "org_id": principal.org_id, "role": principal.role.value,
                "scopes": sorted(principal.scopes), "is_client": principal.is_client}

    @app.get("/test/medical")
    def medical(principal: Annotated[Principal, Depends(require(Scope.MEDICAL_READ))]) -> dict[str, str]:
        return {"org_id": principal.org_id}

    @app.get("/test/cases/write")
    def write_cases(principal: Annotated[Principal, Depends(require(Scope.CASES_WRITE))]) -> dict[str, str]:
        return {"org_id": principal.org_id}

    return app


@asynccontextmanager
async def api(settings: Settings, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(settings, store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def person(store: Store, role: Role = Role.COORDINATOR, password: str = PASSWORD) -> tuple[str, str, str]:
    """A new organisation of `role` and one user in it: (username, user id, org id)."""
    organisation = await service.create_organisation(store, name="Operating office Nairobi", role=role)
    username = unique("amina.yusuf")
    user = await service.create_user(store, org_id=organisation.org_id, username=username, password=password)
    return username, user.user_id, organisation.org_id


async def partner_system(store: Store, role: Role = Role.TRAVEL_PARTNER) -> tuple[str, str, str]:
    """(client id, secret, org id)"""
    organisation = await service.create_organisation(store, name="Travel partner", role=role)
    client, secret = await service.create_client(store, org_id=organisation.org_id)
    return client.client_id, secret, organisation.org_id


async def password_login(client: httpx.AsyncClient, username: str, password: str = PASSWORD,
                         **form: str) -> httpx.Response:
    return await client.post("/auth/token", data={"grant_type": "password", "username": username,
                                                  "password": password, **form})


async def token_for(client: httpx.AsyncClient, username: str, password: str = PASSWORD, **form: str) -> str:
    response = await password_login(client, username, password, **form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def claims_of(token: str, key: str = SECRET) -> dict[str, Any]:
    return jwt.decode(token, key, algorithms=["HS256"], audience="predeparture-api")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status and body["title"]
    assert "Traceback" not in response.text and "File \"" not in response.text
    return cast(dict[str, Any], body)


# Logging in


async def test_a_person_logs_in_and_the_token_names_no_one(settings: Settings, store: Store) -> None:
    username, user_id, org_id = await person(store)
    async with api(settings, store) as client:
        response = await password_login(client, username)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 1800
        assert body["scope"] == "audit:read cases:read cases:write departures:write"
        assert response.headers["cache-control"] == "no-store"

        claims = claims_of(body["access_token"])
        assert set(claims) == TOKEN_CLAIMS
        assert claims["sub"] == user_id and claims["org"] == org_id and claims["role"] == "coordinator"
        assert claims["exp"] - claims["iat"] == 1800
        payload = base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "==").decode()
        assert "amina" not in payload.lower() and "nairobi" not in payload.lower()

        me = await client.get("/test/whoami", headers=bearer(body["access_token"]))
        assert me.status_code == 200
        assert me.json() == {"subject": user_id, "org_id": org_id, "role": "coordinator",
                             "scopes": sorted(s.value for s in ROLE_SCOPES[Role.COORDINATOR]), "is_client": False}


async def test_usernames_are_matched_without_regard_to_case(settings: Settings, store: Store) -> None:
    username, user_id, _ = await person(store)
    async with api(settings, store) as client:
        token = await token_for(client, f"  {username.upper()} ")
    assert claims_of(token)["sub"] == user_id


async def test_a_wrong_password_and_an_unknown_user_get_the_same_401_problem(
    settings: Settings, store: Store
) -> None:
    username, _, _ = await person(store)
    async with api(settings, store) as client:
        wrong = await password_login(client, username, "not the password at all")
        unknown = await password_login(client, unique("nobody"), PASSWORD)

    for response in (wrong, unknown):
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer realm=")
        assert "access_token" not in body
    assert wrong.json()["detail"] == unknown.json()["detail"], "the answer must not tell which usernames exist"


async def test_a_grant_type_the_api_does_not_offer_is_a_400_problem(settings: Settings, store: Store) -> None:
    async with api(settings, store) as client:
        response = await client.post("/auth/token", data={"grant_type": "authorization_code", "code": "abc"})
        missing = await client.post("/auth/token", data={"grant_type": "password", "username": "someone"})

    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "body.grant_type"
    assert_problem(missing, 400)
    assert [error["field"] for error in missing.json()["errors"]] == ["body.password"]


async def test_a_partner_system_gets_a_client_token_with_the_form_or_http_basic(
    settings: Settings, store: Store
) -> None:
    client_id, secret, org_id = await partner_system(store, Role.TRAVEL_PARTNER)
    async with api(settings, store) as client:
        by_form = await client.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                         "client_secret": secret})
        by_basic = await client.post("/auth/token", data={"grant_type": "client_credentials"},
                                     headers=basic(client_id, secret))
        wrong = await client.post("/auth/token", data={"grant_type": "client_credentials"},
                                  headers=basic(client_id, secret + "x"))
        both = await client.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                      "client_secret": secret}, headers=basic(client_id, secret))
        for response in (by_form, by_basic):
            assert response.status_code == 200, response.text
            claims = claims_of(response.json()["access_token"])
            assert set(claims) == TOKEN_CLAIMS | {"client"}
            assert claims["client"] is True and claims["sub"] == client_id and claims["org"] == org_id
            assert claims["role"] == "travel_partner" and claims["scope"] == "callbacks:write"
            me = await client.get("/test/whoami", headers=bearer(response.json()["access_token"]))
            assert me.json()["is_client"] is True

    assert_problem(wrong, 401)
    assert wrong.headers["www-authenticate"].startswith("Basic realm="), "challenge in the scheme the client used"
    assert_problem(both, 400)


async def test_a_token_can_be_narrowed_to_some_of_the_roles_scopes(settings: Settings, store: Store) -> None:
    username, _, _ = await person(store)
    async with api(settings, store) as client:
        narrowed = await password_login(client, username, scope="cases:read")
        assert narrowed.status_code == 200 and narrowed.json()["scope"] == "cases:read"
        token = narrowed.json()["access_token"]
        assert (await client.get("/test/whoami", headers=bearer(token))).status_code == 200
        refused = await client.get("/test/cases/write", headers=bearer(token))
        beyond_role = await password_login(client, username, scope="medical:read")
        unknown = await password_login(client, username, scope="everything")

    assert_problem(refused, 403)
    for response in (beyond_role, unknown):
        assert_problem(response, 400)
        assert response.json()["errors"][0]["field"] == "body.scope"


# Scopes per audience


async def test_a_coordinator_token_lacks_the_medical_scopes_a_clinic_token_has(
    settings: Settings, store: Store
) -> None:
    coordinator, _, _ = await person(store, Role.COORDINATOR)
    clinician, _, clinic_id = await person(store, Role.MEDICAL_PARTNER)
    async with api(settings, store) as client:
        coordinator_token = await token_for(client, coordinator)
        clinic_token = await token_for(client, clinician)
        refused = await client.get("/test/medical", headers=bearer(coordinator_token))
        allowed = await client.get("/test/medical", headers=bearer(clinic_token))
        clinic_writing_cases = await client.get("/test/cases/write", headers=bearer(clinic_token))

    assert not {"medical:read", "medical:write"} & set(claims_of(coordinator_token)["scope"].split())
    body = assert_problem(refused, 403)
    assert "medical:read" in body["detail"]
    assert allowed.status_code == 200 and allowed.json() == {"org_id": clinic_id}
    assert_problem(clinic_writing_cases, 403)


# When a token stops working


async def test_a_request_without_a_bearer_token_gets_a_401_challenge(settings: Settings, store: Store) -> None:
    username, _, _ = await person(store)
    async with api(settings, store) as client:
        anonymous = await client.get("/test/whoami")
        with_password = await client.get("/test/whoami", headers=basic(username, PASSWORD))
        garbage = await client.get("/test/whoami", headers=bearer("not-a-jwt"))

    for response in (anonymous, with_password):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer realm="predeparture"'
    assert_problem(garbage, 401)
    assert 'error="invalid_token"' in garbage.headers["www-authenticate"]


async def test_an_expired_token_is_refused(database_url: str, tmp_path: Path, store: Store) -> None:
    settings = settings_for(database_url, tmp_path, token_ttl=timedelta(seconds=1))
    username, _, _ = await person(store)
    async with api(settings, store) as client:
        login = await password_login(client, username)
        assert login.json()["expires_in"] == 1
        await asyncio.sleep(2.1)
        response = await client.get("/test/whoami", headers=bearer(login.json()["access_token"]))

    body = assert_problem(response, 401)
    assert "expired" in body["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_token_signed_with_another_key_is_refused(settings: Settings, store: Store) -> None:
    username, _, _ = await person(store)
    async with api(settings, store) as client:
        genuine = claims_of(await token_for(client, username))
        forged = jwt.encode(genuine, OTHER_SECRET, algorithm="HS256")
        unsigned = jwt.encode({**genuine, "role": "medical_partner", "scope": "medical:read"}, None, algorithm="none")
        elsewhere = jwt.encode({**genuine, "aud": "another-api"}, SECRET, algorithm="HS256")
        responses = [await client.get("/test/whoami", headers=bearer(token)) for token in (forged, unsigned, elsewhere)]

    for response in responses:
        body = assert_problem(response, 401)
        assert body["detail"] == "the token is not valid"


async def test_a_revoked_token_is_refused_at_once_even_with_the_check_cached(
    database_url: str, tmp_path: Path, store: Store
) -> None:
    settings = settings_for(database_url, tmp_path, auth_cache_ttl=timedelta(minutes=5))
    username, _, _ = await person(store)
    async with api(settings, store) as client:
        first, second = await token_for(client, username), await token_for(client, username)
        assert (await client.get("/test/whoami", headers=bearer(first))).status_code == 200  # now cached

        revoked = await client.post("/auth/revoke", headers=bearer(first))
        assert revoked.status_code == 200
        after = await client.get("/test/whoami", headers=bearer(first))
        # The other token of the same person, revoked by naming it (RFC 7009), from a third one.
        third = await token_for(client, username)
        assert (await client.post("/auth/revoke", headers=bearer(third), data={"token": second})).status_code == 200
        second_after = await client.get("/test/whoami", headers=bearer(second))
        still_fine = await client.get("/test/whoami", headers=bearer(third))
        again = await client.post("/auth/revoke", headers=bearer(third), data={"token": second})

    body = assert_problem(after, 401)
    assert "revoked" in body["detail"]
    assert_problem(second_after, 401)
    assert still_fine.status_code == 200
    assert again.status_code == 200, "revoking twice is not an error"


async def test_a_token_of_someone_else_cannot_be_revoked(settings: Settings, store: Store) -> None:
    mine, _, _ = await person(store)
    theirs, _, _ = await person(store)
    async with api(settings, store) as client:
        my_token, their_token = await token_for(client, mine), await token_for(client, theirs)
        refused = await client.post("/auth/revoke", headers=bearer(my_token), data={"token": their_token})
        theirs_still_works = await client.get("/test/whoami", headers=bearer(their_token))

    assert_problem(refused, 403)
    assert theirs_still_works.status_code == 200


async def test_a_deactivated_accounts_tokens_stop_working(settings: Settings, store: Store) -> None:
    username, user_id, _ = await person(store)
    client_id, secret, _ = await partner_system(store)
    async with api(settings, store) as client:
        token = await token_for(client, username)
        system = await client.post("/auth/token", data={"grant_type": "client_credentials"},
                                   headers=basic(client_id, secret))
        system_token = system.json()["access_token"]
        assert (await client.get("/test/whoami", headers=bearer(token))).status_code == 200
        assert (await client.get("/test/whoami", headers=bearer(system_token))).status_code == 200

        await service.deactivate_user(store, username)
        await service.deactivate_client(store, client_id)

        refused = await client.get("/test/whoami", headers=bearer(token))
        system_refused = await client.get("/test/whoami", headers=bearer(system_token))
        new_login = await password_login(client, username)
        new_system_login = await client.post("/auth/token", data={"grant_type": "client_credentials"},
                                             headers=basic(client_id, secret))

    for response in (refused, system_refused, new_login, new_system_login):
        assert_problem(response, 401)
    assert new_login.json()["detail"] == "the credentials are not valid", "deactivation is not disclosed"


# What the store keeps


async def test_the_store_keeps_argon2_hashes_never_the_secrets(store: Store) -> None:
    username, user_id, _ = await person(store)
    client_id, secret, _ = await partner_system(store)

    async with store.session() as session:
        password_hash = await session.scalar(select(UserRow.password_hash).where(UserRow.user_id == user_id))
        secret_hash = await session.scalar(select(ApiClientRow.secret_hash).where(ApiClientRow.client_id == client_id))

    for stored, original in ((password_hash, PASSWORD), (secret_hash, secret)):
        assert stored is not None and stored.startswith("$argon2id$")
        assert original not in stored
        assert PasswordHasher().verify(stored, original)


async def test_a_hash_made_with_older_parameters_is_replaced_at_the_next_login(
    settings: Settings, store: Store
) -> None:
    username, user_id, _ = await person(store)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    async with store.session() as session, session.begin():
        row = await session.get(UserRow, user_id)
        assert row is not None
        row.password_hash = weak

    async with api(settings, store) as client:
        await token_for(client, username)

    async with store.session() as session:
        stored = await session.scalar(select(UserRow.password_hash).where(UserRow.user_id == user_id))
    assert stored is not None and stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)
    assert PasswordHasher().verify(stored, PASSWORD)


async def test_a_signing_key_is_made_once_in_the_data_directory_when_none_is_set(
    database_url: str, tmp_path: Path, store: Store
) -> None:
    settings = settings_for(database_url, tmp_path, jwt_secret=None)
    username, _, _ = await person(store)
    async with api(settings, store) as client:
        token = await token_for(client, username)

    key_file = tmp_path / "jwt.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32 and claims_of(token, key)["sub"]
    # Another process on the same data directory (a second API worker) accepts it.
    async with api(settings_for(database_url, tmp_path, jwt_secret=None), store) as other:
        assert (await other.get("/test/whoami", headers=bearer(token))).status_code == 200


# The admin CLI


async def test_the_cli_creates_accounts_people_and_systems_log_in_with(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("PREDEPARTURE_DATABASE_URL", database_url)
    monkeypatch.setenv("PREDEPARTURE_DATA_DIR", str(tmp_path))
    runner = CliRunner()

    async def cli(*args: str, input: str | None = None) -> str:
        # The CLI runs its own event loop, so it gets a thread of its own.
        result = await asyncio.to_thread(runner.invoke, users_app, list(args), input=input)
        assert result.exit_code == 0, result.output
        return result.output

    org_id = (await cli("create-org", "--name", "Reception Winnipeg", "--role", "reception_team",
                        "--country", "ca")).strip()
    assert org_id.startswith("org_")
    username = unique("reception.lead")
    user_id = (await cli("create-user", "--org", org_id, "--username", username, "--password", PASSWORD)).strip()
    prompted = unique("reception.deputy")
    await cli("create-user", "--org", org_id, "--username", prompted, input=f"{PASSWORD}\n{PASSWORD}\n")
    printed = await cli("create-client", "--org", org_id)
    credentials = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
    listing = await cli("list")

    assert org_id in listing and username in listing and credentials["client_id"] in listing
    assert credentials["client_secret"] not in listing and "$argon2" not in listing
    async with api(settings_for(database_url, tmp_path), store) as client:
        person_token = claims_of(await token_for(client, username))
        assert claims_of(await token_for(client, prompted))["org"] == org_id
        system = await client.post("/auth/token", data={"grant_type": "client_credentials"},
                                   headers=basic(credentials["client_id"], credentials["client_secret"]))
    assert person_token["sub"] == user_id and person_token["role"] == "reception_team"
    assert person_token["scope"] == "arrivals:read"
    assert system.status_code == 200 and claims_of(system.json()["access_token"])["org"] == org_id

    await cli("deactivate-user", username)
    async with api(settings_for(database_url, tmp_path), store) as client:
        assert_problem(await password_login(client, username), 401)


def test_the_cli_refuses_what_an_administrator_must_fix(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREDEPARTURE_DATABASE_URL", database_url)
    runner = CliRunner()

    unknown_org = runner.invoke(users_app, ["create-user", "--org", "org_missing", "--username", "someone",
                                            "--password", PASSWORD])
    short = runner.invoke(users_app, ["create-user", "--org", "org_missing", "--username", "someone",
                                      "--password", "Zq9-short"])
    bad_role = runner.invoke(users_app, ["create-org", "--name", "X", "--role", "admin"])

    assert unknown_org.exit_code == 1 and "not found" in unknown_org.output
    assert short.exit_code == 1 and "at least 12" in short.output and "Zq9-short" not in short.output
    assert bad_role.exit_code == 2


# The demo seed


def demo_case(office_id: str, reception: str, clinic: str = "clinic_default") -> Case:
    principal = Person(given_name="Test", family_name="Family", date_of_birth=date(1990, 1, 1), sex=Sex.FEMALE,
                       nationality="SOM", languages=["so"], relationship=Relationship.PRINCIPAL)
    return Case(reference="DEMO-1", office_id=office_id, medical_partner_id=clinic, people=[principal],
                destination=Destination(country="CA", city="Winnipeg", receiving_organisation=reception),
                priority=3, approved_on=date(2026, 1, 5))


def test_the_demo_people_act_for_the_organisations_with_the_most_families() -> None:
    cases = [demo_case("office_amman", "org_ca_07"), demo_case("office_kampala", "org_us_03"),
             demo_case("office_kampala", "org_ca_07"), demo_case("office_amman", "org_de_01")]

    chosen = DemoOrganisations.busiest(cases)

    assert chosen == DemoOrganisations(office_id="office_amman", reception_org_id="org_ca_07",
                                       clinic_id="clinic_default")


async def test_seeding_the_demo_twice_adds_nothing_and_every_demo_login_works(
    settings: Settings, store: Store
) -> None:
    organisations = DemoOrganisations(office_id=unique("office"), reception_org_id=unique("org_ca"))
    first = await seed_demo_identities(store, office_id=organisations.office_id,
                                       reception_org_id=organisations.reception_org_id)
    counts = await identity_counts(store)
    async with store.session() as session:
        user_ids = set(await session.scalars(select(UserRow.user_id).where(UserRow.username == "coordinator")))
    second = await seed_demo_identities(store, office_id=organisations.office_id,
                                        reception_org_id=organisations.reception_org_id)

    assert first == second
    assert await identity_counts(store) == counts
    async with store.session() as session:
        assert set(await session.scalars(select(UserRow.user_id).where(UserRow.username == "coordinator"))) == user_ids
    assert {login.role for login in first} == set(Role)
    expected_org = {Role.COORDINATOR: organisations.office_id, Role.RECEPTION_TEAM: organisations.reception_org_id,
                    Role.MEDICAL_PARTNER: "clinic_default"}
    async with api(settings, store) as client:
        for login in first:
            if login.is_client:
                response = await client.post("/auth/token", data={"grant_type": "client_credentials"},
                                             headers=basic(login.username, login.password))
            else:
                response = await password_login(client, login.username, login.password)
            assert response.status_code == 200, (login.role, response.text)
            claims = claims_of(response.json()["access_token"])
            assert claims["role"] == login.role.value and claims["org"] == login.org_id
            assert claims.get("client", False) is login.is_client
            if login.role in expected_org:
                assert login.org_id == expected_org[login.role]


async def identity_counts(store: Store) -> tuple[int, ...]:
    async with store.session() as session:
        return tuple([
            int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (OrganisationRow, UserRow, ApiClientRow)
        ])


async def test_a_password_guesser_is_slowed_per_address_before_any_hash_is_computed(
    database_url: str, tmp_path: Path, store: Store
) -> None:
    username, _, _ = await person(store)
    limited = settings_for(database_url, tmp_path, rate_limit_login="5/minute")
    async with api(limited, store) as client:
        answers = [await password_login(client, username, f"guess {n}") for n in range(6)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    body = assert_problem(answers[5], 429)
    assert int(answers[5].headers["retry-after"]) >= 1 and "access_token" not in body
