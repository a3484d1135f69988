"""Partner references that carry what a later call needs (a request time, a session start, a departure time),
so a status question is answered from the reference alone, even by a process that never saw the request.

Format: PREFIX-<epoch seconds, base36>[-EXTRA...]-<body><check>. The body comes from the idempotency key; the
check is a hash over the rest, so a typo or a reference from another seed reads as unknown."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from partners.simulators.draws import Draws, from_base36, to_base36

BODY_LENGTH = 6
CHECK_LENGTH = 4


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, as workflow time is."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Reference:
    prefix: str
    at: datetime  # UTC, whole seconds
    extras: tuple[str, ...]
    body: str


def make_reference(draws: Draws, prefix: str, at: datetime, key: str, extras: tuple[str, ...] = ()) -> Reference:
    seconds = math.floor(as_utc(at).timestamp())
    body = draws.token(BODY_LENGTH, "reference", prefix, key)
    return Reference(prefix, datetime.fromtimestamp(seconds, UTC), extras, body)


def render(draws: Draws, reference: Reference) -> str:
    head = "-".join([reference.prefix, to_base36(int(reference.at.timestamp())), *reference.extras])
    return f"{head}-{reference.body}{draws.token(CHECK_LENGTH, 'check', head, reference.body)}"


def parse(draws: Draws, text: str, prefixes: frozenset[str]) -> Reference | None:
    """None for anything this partner (with this seed) did not issue."""
    parts = text.split("-")
    if len(parts) < 3 or parts[0] not in prefixes or len(parts[-1]) != BODY_LENGTH + CHECK_LENGTH:
        return None
    body, check = parts[-1][:BODY_LENGTH], parts[-1][BODY_LENGTH:]
    head = "-".join(parts[:-1])
    if draws.token(CHECK_LENGTH, "check", head, body) != check:
        return None
    try:
        at = datetime.fromtimestamp(from_base36(parts[1]), UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return Reference(parts[0], at, tuple(parts[2:-1]), body)
