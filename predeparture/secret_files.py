"""Secrets the embedded run keeps in its data directory when the operator set none: the payload encryption key,
the token signing key. The first process to need one makes it; every later process on that directory reads it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """The text kept in `path`, or, when there is none yet, a new one from `make`, readable by its owner only."""
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = make()
    # Written aside then linked into place: linking fails if another process won the race, and nobody ever reads
    # a half-written secret.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, f"{text}\n".encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(draft, path)
    except FileExistsError:
        return _read(path)
    finally:
        draft.unlink(missing_ok=True)
    return text


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()
