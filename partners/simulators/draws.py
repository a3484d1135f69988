"""Stable draws. Every simulated outcome is a hash of the seed and business keys, never global random state nor
Python's `hash()` (salted per process), so one seed answers the same requests the same way in every process."""

from __future__ import annotations

import hashlib
from datetime import timedelta

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SPAN = 2**64


def to_base36(number: int) -> str:
    if number < 0:
        raise ValueError("base36 codes are for non-negative numbers")
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if number == 0:
            return text


def from_base36(text: str) -> int:
    """Raises ValueError on anything but upper-case base36 digits, so malformed references are caught early."""
    if not text or any(ch not in _DIGITS for ch in text):
        raise ValueError(f"not a base36 code: {text!r}")
    return int(text, 36)


class Draws:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def integer(self, *parts: object) -> int:
        # The unit separator keeps ("ab", "c") and ("a", "bc") apart.
        text = "\x1f".join([str(self.seed), *(str(part) for part in parts)])
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    def unit(self, *parts: object) -> float:
        """Uniform in [0, 1)."""
        return self.integer(*parts) / _SPAN

    def chance(self, rate: float, *parts: object) -> bool:
        return self.unit(*parts) < rate

    def below(self, bound: int, *parts: object) -> int:
        return self.integer(*parts) % bound

    def pick(self, options: tuple[str, ...], *parts: object) -> str:
        return options[self.below(len(options), *parts)]

    def between(self, low: timedelta, high: timedelta, *parts: object) -> timedelta:
        if high <= low:
            return low
        return low + (high - low) * self.unit(*parts)

    def token(self, length: int, *parts: object) -> str:
        return to_base36(self.integer(*parts) % 36**length).rjust(length, "0")
