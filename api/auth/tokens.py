"""Access tokens: JWTs signed with HS256. They carry opaque ids, the organisation, the role and the scopes, and
never a name: a token is copied into logs and browser storage more often than anyone means it to be."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from api.principal import ROLE_SCOPES, Principal, Role, Scope
from predeparture.secret_files import read_or_create_secret
from predeparture.settings import Settings

ALGORITHM = "HS256"
KEY_FILE_NAME = "jwt.key"
REQUIRED_CLAIMS = ["sub", "org", "role", "scope", "jti", "iat", "exp", "iss", "aud"]


class InvalidToken(Exception):
    """The token is malformed, signed with another key, for another audience, or expired. The message is safe to
    show the caller: it says which, never what the token held."""


@dataclass(frozen=True)
class TokenPolicy:
    key: str
    ttl: timedelta
    issuer: str
    audience: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenPolicy:
        api = settings.api
        return cls(key=signing_key(settings), ttl=api.token_ttl, issuer=api.token_issuer, audience=api.token_audience)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    jti: str
    expires_at: datetime
    expires_in: int  # seconds
    scopes: frozenset[Scope]

    @property
    def scope(self) -> str:
        return format_scopes(self.scopes)


@dataclass(frozen=True)
class VerifiedToken:
    principal: Principal
    expires_at: datetime


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def signing_key(settings: Settings) -> str:
    """The configured key, else the data directory's key file, made on first use like the encryption key."""
    if settings.api.jwt_secret is not None:
        return settings.api.jwt_secret.get_secret_value()
    return read_or_create_secret(key_file(settings), lambda: secrets.token_urlsafe(48))


def format_scopes(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(scope.value for scope in scopes))


def issue(policy: TokenPolicy, *, subject: str, org_id: str, role: Role, scopes: frozenset[Scope], is_client: bool,
          now: datetime | None = None) -> IssuedToken:
    issued_at = int((now or datetime.now(UTC)).timestamp())
    # Whole seconds, rounded down: a token never outlives its ttl.
    expires = issued_at + int(policy.ttl.total_seconds())
    jti = secrets.token_urlsafe(16)
    claims: dict[str, object] = {
        "iss": policy.issuer,
        "aud": policy.audience,
        "sub": subject,
        "org": org_id,
        "role": role.value,
        "scope": format_scopes(scopes),
        "jti": jti,
        "iat": issued_at,
        "exp": expires,
    }
    if is_client:
        claims["client"] = True
    token = jwt.encode(claims, policy.key, algorithm=ALGORITHM)
    return IssuedToken(token, jti, datetime.fromtimestamp(expires, UTC), expires - issued_at, scopes)


def verify(policy: TokenPolicy, token: str) -> VerifiedToken:
    """The caller the token names, if its signature, issuer, audience and expiry hold. Whether it was revoked, or
    its account deactivated, is for the store to say."""
    try:
        claims = jwt.decode(
            token,
            policy.key,
            algorithms=[ALGORITHM],  # never the algorithm the token names: "none" or a public key as HMAC secret
            audience=policy.audience,
            issuer=policy.issuer,
            # iat is not checked against the clock: a replica whose clock runs a second behind would refuse tokens
            # its neighbour just issued. exp is what bounds a token's life.
            options={"require": REQUIRED_CLAIMS, "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.PyJWTError:
        raise InvalidToken("the token is not valid") from None
    try:
        role = Role(claims["role"])
        requested = frozenset(Scope(name) for name in str(claims["scope"]).split())
        principal = Principal(
            subject=str(claims["sub"]),
            org_id=str(claims["org"]),
            role=role,
            # A role that lost a scope since the token was issued loses it now, not at the token's expiry.
            scopes=requested & ROLE_SCOPES[role],
            token_id=str(claims["jti"]),
            is_client=claims.get("client") is True,
        )
    except (ValueError, KeyError):
        raise InvalidToken("the token is not valid") from None
    return VerifiedToken(principal, datetime.fromtimestamp(int(claims["exp"]), UTC))
