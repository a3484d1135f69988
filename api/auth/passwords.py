"""Passwords and client secrets, hashed with argon2id. Hashing is slow on purpose, so it runs off the event loop,
a few at a time: a burst of logins queues instead of stalling every other request."""

from __future__ import annotations

import asyncio
import secrets
import weakref
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
CLIENT_SECRET_BYTES = 32
CONCURRENT_HASHES = 4  # each argon2 hash holds 64 MiB by default

_hasher = PasswordHasher()
# One semaphore per event loop: a semaphore waited on in one loop cannot be waited on in another (the CLI and the
# tests run several loops in one process).
_slots_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Verification:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used older parameters: store this one instead


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> Verification:
    try:
        _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return Verification(ok=False)
    return Verification(ok=True, new_hash=_hasher.hash(secret) if _hasher.check_needs_rehash(stored_hash) else None)


def _slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _slots_by_loop.get(loop)
    if slots is None:
        slots = _slots_by_loop[loop] = asyncio.Semaphore(CONCURRENT_HASHES)
    return slots


async def hash_secret_async(secret: str) -> str:
    async with _slots():
        return await asyncio.to_thread(hash_secret, secret)


async def verify_secret_async(stored_hash: str | None, secret: str) -> Verification:
    """`stored_hash` None (no such account): the same work against a hash nobody's secret matches, so an
    unknown username takes as long to refuse as a wrong password."""
    async with _slots():
        if stored_hash is None:
            await asyncio.to_thread(verify_secret, _dummy_hash(), secret)
            return Verification(ok=False)
        return await asyncio.to_thread(verify_secret, stored_hash, secret)


def new_client_secret() -> str:
    return secrets.token_urlsafe(CLIENT_SECRET_BYTES)


def check_password_strength(password: str) -> None:
    """Length is what makes a password hard to guess; composition rules mostly make it hard to remember."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters long")


def is_argon2_hash(text: str) -> bool:
    return text.startswith("$argon2id$")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(32))
