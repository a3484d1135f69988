"""Authentication: trading credentials for tokens, checking tokens on every request, revoking them; and the
administration of organisations, users and partner-system clients."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.auth import tokens
from api.auth.passwords import (
    check_password_strength,
    hash_secret_async,
    new_client_secret,
    verify_secret_async,
)
from api.auth.repository import ApiClient, IdentityRepository, LoginAccount, Organisation, User
from api.auth.tokens import InvalidToken, IssuedToken, TokenPolicy, VerifiedToken
from api.principal import ROLE_SCOPES, Principal, Role, Scope
from domain.case import new_opaque_id
from predeparture.settings import Settings
from store.repository import Store

KNOWN_SCOPES = frozenset(scope.value for scope in Scope)
ORG_ID = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
USERNAME = re.compile(r"[^\s:]{3,150}")  # no colon: HTTP Basic splits on the first one
COUNTRY = re.compile(r"[A-Z]{2}")
MAX_CACHED_TOKENS = 50_000


class AuthenticationFailed(Exception):
    """Wrong or unknown credentials, or a deactivated account: the caller is never told which."""


class InvalidScope(ValueError):
    pass


class Authority:
    """One per API process: issues tokens and says who a token belongs to."""

    def __init__(self, policy: TokenPolicy, identities: IdentityRepository, cache_ttl: timedelta,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._identities = identities
        self._checked = CheckedTokens(cache_ttl.total_seconds(), clock)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> Authority:
        return cls(TokenPolicy.from_settings(settings), IdentityRepository(store), settings.api.auth_cache_ttl)

    async def password_grant(self, username: str, password: str, scope: str | None) -> IssuedToken:
        account = await self._identities.user_login(normalise_username(username)) if storable(username) else None
        verification = await verify_secret_async(account.secret_hash if account else None, password)
        if account is None or not verification.ok or not account.active:
            raise AuthenticationFailed()
        if verification.new_hash is not None:
            await self._identities.replace_password_hash(account.subject, verification.new_hash)
        return self._issue(account, scope, is_client=False)

    async def client_grant(self, client_id: str, secret: str, scope: str | None) -> IssuedToken:
        account = await self._identities.client_login(client_id) if storable(client_id) else None
        verification = await verify_secret_async(account.secret_hash if account else None, secret)
        if account is None or not verification.ok or not account.active:
            raise AuthenticationFailed()
        if verification.new_hash is not None:
            await self._identities.replace_client_secret_hash(account.subject, verification.new_hash)
        return self._issue(account, scope, is_client=True)

    def verify(self, token: str) -> VerifiedToken:
        """Signature, issuer, audience and expiry only; raises InvalidToken."""
        return tokens.verify(self._policy, token)

    async def authenticate(self, token: str) -> Principal:
        """The caller a bearer token names, if it still may call; raises InvalidToken."""
        principal = self.verify(token).principal
        jti = principal.token_id or ""
        if self._checked.fresh(jti):
            return principal
        good = await self._identities.token_still_good(
            subject=principal.subject, org_id=principal.org_id, is_client=principal.is_client, jti=jti
        )
        if not good:
            raise InvalidToken("the token has been revoked or its account deactivated")
        self._checked.remember(jti)
        return principal

    async def revoke(self, token: VerifiedToken) -> None:
        jti = token.principal.token_id or ""
        await self._identities.revoke(jti, expires_at=token.expires_at, now=datetime.now(UTC))
        self._checked.revoked(jti)

    def _issue(self, account: LoginAccount, scope: str | None, *, is_client: bool) -> IssuedToken:
        return tokens.issue(self._policy, subject=account.subject, org_id=account.org_id, role=account.role,
                            scopes=granted_scopes(account.role, scope), is_client=is_client)


class CheckedTokens:
    """Tokens this process found unrevoked, with active accounts, in the last `ttl` seconds: the hot path of
    every request skips the store for them. Only good news is kept; a refusal is always looked up again.

    Tokens revoked through this process are kept apart until they expire, so a check that read the store just
    before the revocation was written cannot put the token back as good.
    """

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._good_until: dict[str, float] = {}
        self._revoked: set[str] = set()

    def fresh(self, jti: str) -> bool:
        until = self._good_until.get(jti)
        if until is None:
            return False
        if until <= self._clock():
            self._good_until.pop(jti, None)
            return False
        return True

    def remember(self, jti: str) -> None:
        if self._ttl <= 0 or jti in self._revoked:
            return
        if len(self._good_until) >= MAX_CACHED_TOKENS:
            self._good_until.clear()  # crude, but a flood of tokens costs lookups, never memory
        self._good_until[jti] = self._clock() + self._ttl

    def revoked(self, jti: str) -> None:
        if len(self._revoked) >= MAX_CACHED_TOKENS:
            self._revoked.clear()  # the store still knows them all
        self._revoked.add(jti)
        self._good_until.pop(jti, None)


def granted_scopes(role: Role, requested: str | None) -> frozenset[Scope]:
    """All of the role's scopes, or those of them the caller asked for (RFC 6749 §3.3)."""
    allowed = ROLE_SCOPES[role]
    names = (requested or "").split()
    if not names:
        return allowed
    if any(name not in KNOWN_SCOPES for name in names):
        raise InvalidScope("scope: names a scope this API does not have")
    granted = frozenset(Scope(name) for name in names) & allowed
    if not granted:
        raise InvalidScope("scope: none of the scopes asked for is open to this account's role")
    return granted


def storable(name: str) -> bool:
    """A name with a NUL byte names no account (none can be stored), and PostgreSQL refuses to even look it up:
    such a login is answered like an unknown one, still after a password check, instead of with a 500."""
    return "\x00" not in name


def normalise_username(username: str) -> str:
    return username.strip().casefold()


# Administration (the `predeparture users` CLI and the demo seed)


async def create_organisation(store: Store, *, name: str, role: Role, country: str | None = None,
                              org_id: str | None = None) -> Organisation:
    """`org_id`: the id cases already use for it (office_id, medical_partner_id, receiving_organisation); a new
    opaque one when omitted."""
    organisation = organisation_record(name=name, role=role, country=country, org_id=org_id)
    await IdentityRepository(store).add_organisation(organisation)
    return organisation


async def create_user(store: Store, *, org_id: str, username: str, password: str) -> User:
    user = user_record(org_id=org_id, username=username)
    check_password_strength(password)
    await IdentityRepository(store).add_user(user, await hash_secret_async(password))
    return user


async def create_client(store: Store, *, org_id: str) -> tuple[ApiClient, str]:
    """The new client and its secret, which is stored hashed only: whoever creates it must pass it on now."""
    client = ApiClient(new_opaque_id("client"), org_id, True, datetime.now(UTC))
    secret = new_client_secret()
    await IdentityRepository(store).add_client(client, await hash_secret_async(secret))
    return client, secret


async def deactivate_user(store: Store, user: str) -> User:
    """`user`: a user id or a username. Its tokens stop working (within ApiSettings.auth_cache_ttl)."""
    found = await IdentityRepository(store).set_user_active(user, False)
    if found is None:
        raise LookupError("user not found")
    return found


async def deactivate_client(store: Store, client_id: str) -> ApiClient:
    found = await IdentityRepository(store).set_client_active(client_id, False)
    if found is None:
        raise LookupError("client not found")
    return found


def organisation_record(*, name: str, role: Role, country: str | None, org_id: str | None) -> Organisation:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValueError("name: must be 1 to 200 characters")
    if org_id is not None and not ORG_ID.fullmatch(org_id):
        raise ValueError("org_id: lowercase letters, digits, _ and -, at most 64")
    if country is not None:
        country = country.strip().upper()
        if not COUNTRY.fullmatch(country):
            raise ValueError("country: an ISO 3166-1 alpha-2 code")
    return Organisation(org_id or new_opaque_id("org"), name, role, country, datetime.now(UTC))


def user_record(*, org_id: str, username: str) -> User:
    username = normalise_username(username)
    if not USERNAME.fullmatch(username):
        raise ValueError("username: 3 to 150 characters, no spaces or colons")
    return User(new_opaque_id("user"), org_id, username, True, datetime.now(UTC))


@dataclass(frozen=True)
class Identities:
    organisations: list[Organisation]
    users: list[User]
    clients: list[ApiClient]


async def list_identities(store: Store) -> Identities:
    identities = IdentityRepository(store)
    return Identities(await identities.organisations(), await identities.users(), await identities.clients())
