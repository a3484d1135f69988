"""Reads and writes of organisations, users, clients and revoked tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import Executable

from api.principal import Role
from store.identity_models import ApiClientRow, OrganisationRow, RevokedTokenRow, UserRow
from store.repository import Store
from store.upsert import insert_new, upsert

ORGANISATIONS = cast(Table, OrganisationRow.__table__)
USERS = cast(Table, UserRow.__table__)
CLIENTS = cast(Table, ApiClientRow.__table__)
REVOKED = cast(Table, RevokedTokenRow.__table__)
USER_COLUMNS = (USERS.c.user_id, USERS.c.org_id, USERS.c.username, USERS.c.active, USERS.c.created_at)
CLIENT_COLUMNS = (CLIENTS.c.client_id, CLIENTS.c.org_id, CLIENTS.c.active, CLIENTS.c.created_at)


class UnknownOrganisation(LookupError):
    def __init__(self, org_id: str) -> None:
        super().__init__(f"organisation {org_id} not found")
        self.org_id = org_id


class UsernameTaken(ValueError):
    def __init__(self) -> None:
        super().__init__("username: already taken")


class OrganisationExists(ValueError):
    def __init__(self, org_id: str) -> None:
        super().__init__(f"organisation {org_id} already exists")


@dataclass(frozen=True)
class LoginAccount:
    """What a login needs to know about a user or a client: never shown to anyone."""

    subject: str
    org_id: str
    role: Role
    secret_hash: str
    active: bool


@dataclass(frozen=True)
class Organisation:
    org_id: str
    name: str
    role: Role
    country: str | None
    created_at: datetime


@dataclass(frozen=True)
class User:
    user_id: str
    org_id: str
    username: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class ApiClient:
    client_id: str
    org_id: str
    active: bool
    created_at: datetime


class IdentityRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    # Logins and the per-request check

    async def user_login(self, username: str) -> LoginAccount | None:
        async with self._store.session() as session:
            row = (
                await session.execute(
                    select(UserRow.user_id, UserRow.org_id, OrganisationRow.role, UserRow.password_hash, UserRow.active)
                    .join(OrganisationRow, OrganisationRow.org_id == UserRow.org_id)
                    .where(UserRow.username == username)
                )
            ).one_or_none()
        return None if row is None else LoginAccount(row[0], row[1], Role(row[2]), row[3], row[4])

    async def client_login(self, client_id: str) -> LoginAccount | None:
        async with self._store.session() as session:
            row = (
                await session.execute(
                    select(ApiClientRow.client_id, ApiClientRow.org_id, OrganisationRow.role, ApiClientRow.secret_hash,
                           ApiClientRow.active)
                    .join(OrganisationRow, OrganisationRow.org_id == ApiClientRow.org_id)
                    .where(ApiClientRow.client_id == client_id)
                )
            ).one_or_none()
        return None if row is None else LoginAccount(row[0], row[1], Role(row[2]), row[3], row[4])

    async def token_still_good(self, *, subject: str, org_id: str, is_client: bool, jti: str) -> bool:
        """One indexed round trip: the account exists, is active, still belongs to the token's organisation, and
        the token is not revoked."""
        account = ApiClientRow if is_client else UserRow
        key = ApiClientRow.client_id if is_client else UserRow.user_id
        revoked = select(RevokedTokenRow.jti).where(RevokedTokenRow.jti == jti).exists()
        async with self._store.session() as session:
            row = (await session.execute(select(account.active, account.org_id, revoked).where(key == subject))).first()
        return row is not None and bool(row[0]) and row[1] == org_id and not row[2]

    async def replace_password_hash(self, user_id: str, new_hash: str) -> None:
        await self._write(update(USERS).where(USERS.c.user_id == user_id).values(password_hash=new_hash))

    async def replace_client_secret_hash(self, client_id: str, new_hash: str) -> None:
        await self._write(update(CLIENTS).where(CLIENTS.c.client_id == client_id).values(secret_hash=new_hash))

    async def revoke(self, jti: str, *, expires_at: datetime, now: datetime) -> None:
        async with self._store.session() as session, session.begin():
            dialect = session.get_bind().dialect
            await session.execute(
                insert_new(dialect, REVOKED, [{"jti": jti, "expires_at": expires_at, "revoked_at": now}], keys=["jti"])
            )
            # Housekeeping: a token past its expiry is refused anyway, so its row serves nobody.
            await session.execute(delete(REVOKED).where(REVOKED.c.expires_at < now))

    # Administration

    async def add_organisation(self, organisation: Organisation) -> None:
        try:
            await self._write(ORGANISATIONS.insert().values(**_organisation_values(organisation)))
        except IntegrityError:
            raise OrganisationExists(organisation.org_id) from None

    async def add_user(self, user: User, password_hash: str) -> None:
        values = {**_user_values(user), "password_hash": password_hash}
        try:
            await self._write(USERS.insert().values(**values))
        except IntegrityError:
            # Checked here rather than before the insert: a read then a write races another admin, and on SQLite a
            # transaction that reads first can fail instead of waiting for the writer.
            if await self.organisation(user.org_id) is None:
                raise UnknownOrganisation(user.org_id) from None
            raise UsernameTaken() from None

    async def add_client(self, client: ApiClient, secret_hash: str) -> None:
        values = {**_client_values(client), "secret_hash": secret_hash}
        try:
            await self._write(CLIENTS.insert().values(**values))
        except IntegrityError:
            raise UnknownOrganisation(client.org_id) from None

    async def set_user_active(self, user: str, active: bool) -> User | None:
        """`user`: a user id or a username."""
        async with self._store.session() as session, session.begin():
            result = await session.execute(
                update(USERS)
                .where((USERS.c.user_id == user) | (USERS.c.username == user.casefold()))
                .values(active=active)
                .returning(*USER_COLUMNS)
            )
            row = result.first()
        return None if row is None else User(*row)

    async def set_client_active(self, client_id: str, active: bool) -> ApiClient | None:
        async with self._store.session() as session, session.begin():
            result = await session.execute(
                update(CLIENTS).where(CLIENTS.c.client_id == client_id).values(active=active).returning(*CLIENT_COLUMNS)
            )
            row = result.first()
        return None if row is None else ApiClient(*row)

    async def organisation(self, org_id: str) -> Organisation | None:
        async with self._store.session() as session:
            row = await session.get(OrganisationRow, org_id)
        return None if row is None else _organisation(row)

    async def organisations(self) -> list[Organisation]:
        async with self._store.session() as session:
            rows = await session.scalars(select(OrganisationRow).order_by(OrganisationRow.role, OrganisationRow.org_id))
            return [_organisation(row) for row in rows]

    async def users(self) -> list[User]:
        async with self._store.session() as session:
            rows = await session.execute(select(*USER_COLUMNS).order_by(USERS.c.org_id, USERS.c.username))
            return [User(*row) for row in rows]

    async def clients(self) -> list[ApiClient]:
        async with self._store.session() as session:
            rows = await session.execute(select(*CLIENT_COLUMNS).order_by(CLIENTS.c.org_id, CLIENTS.c.client_id))
            return [ApiClient(*row) for row in rows]

    # Demo seeding: the same identities every run, so a second run changes nothing but the password hashes

    async def put_organisation(self, organisation: Organisation) -> None:
        await self._put(ORGANISATIONS, _organisation_values(organisation), key="org_id",
                        columns=["name", "role", "country"])

    async def put_user(self, user: User, password_hash: str) -> None:
        await self._put(USERS, {**_user_values(user), "password_hash": password_hash}, key="username",
                        columns=["org_id", "password_hash", "active"])

    async def put_client(self, client: ApiClient, secret_hash: str) -> None:
        await self._put(CLIENTS, {**_client_values(client), "secret_hash": secret_hash}, key="client_id",
                        columns=["org_id", "secret_hash", "active"])

    async def _put(self, table: Table, values: dict[str, object], *, key: str, columns: list[str]) -> None:
        async with self._store.session() as session, session.begin():
            await session.execute(upsert(session.get_bind().dialect, table, [values], keys=[key], update=columns))

    async def _write(self, statement: Executable) -> None:
        async with self._store.session() as session, session.begin():
            await session.execute(statement)


def _organisation(row: OrganisationRow) -> Organisation:
    return Organisation(row.org_id, row.name, Role(row.role), row.country, row.created_at)


def _organisation_values(organisation: Organisation) -> dict[str, object]:
    return {"org_id": organisation.org_id, "name": organisation.name, "role": organisation.role.value,
            "country": organisation.country, "created_at": organisation.created_at}


def _user_values(user: User) -> dict[str, object]:
    return {"user_id": user.user_id, "org_id": user.org_id, "username": user.username, "active": user.active,
            "created_at": user.created_at}


def _client_values(client: ApiClient) -> dict[str, object]:
    return {"client_id": client.client_id, "org_id": client.org_id, "active": client.active,
            "created_at": client.created_at}
