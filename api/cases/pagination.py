"""Opaque keyset cursors: the sort key of the last row a page returned, so the next page starts after it even
while rows are being added."""

from __future__ import annotations

import base64
import binascii
import json

from api.problems import FieldError, ProblemError

CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"


def encode_cursor(*values: str | int) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, types: tuple[type, ...]) -> list[str | int]:
    """The values `encode_cursor` wrote, checked against `types`; a 422 naming the cursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if (not isinstance(values, list) or len(values) != len(types)
            or not all(type(value) is kind for value, kind in zip(values, types, strict=True))):
        raise bad_cursor()
    return values


def bad_cursor() -> ProblemError:
    return ProblemError(422, "the cursor is not one this API issued",
                        errors=[FieldError(field="query.cursor", message="unknown cursor; start without one")])
