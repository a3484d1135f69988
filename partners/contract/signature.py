"""The callback signature: `X-Partner-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.

The timestamp is signed with the body so a captured callback cannot be replayed after `max_skew`; several `v1=`
entries are allowed so a partner can roll its secret without a gap."""

from __future__ import annotations

import hashlib
import hmac
import time


class SignatureRefused(Exception):
    """Why a callback's signature does not hold; the reason is safe to show the sender."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={_digest(secret, moment, body)}"


def verify(secret: str, header: str | None, body: bytes, max_skew_seconds: float, now: float | None = None) -> None:
    if not header:
        raise SignatureRefused("missing X-Partner-Signature")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureRefused("X-Partner-Signature must read t=<unix seconds>,v1=<hex>")
    current = time.time() if now is None else now
    if abs(current - timestamp) > max_skew_seconds:
        raise SignatureRefused("signature timestamp outside the allowed clock skew")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureRefused("signature does not match the body")


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
