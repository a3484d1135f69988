"""Scripted transient failures, shared by all simulators of one set, so a test can say "the travel partner
times out five times" and watch the workflow retry."""

from __future__ import annotations

import threading
from collections import Counter
from typing import get_type_hints

from partners.base import Partners


def _operations() -> frozenset[str]:
    # Derived from the partner protocols so a new partner method can be scripted without touching this file.
    names = set()
    for role, protocol in get_type_hints(Partners).items():
        names.update(f"{role}.{name}" for name, value in vars(protocol).items() if callable(value) and name[0] != "_")
    return frozenset(names)


OPERATIONS = _operations()


class FaultPlan:
    """Operations are named "<role>.<method>", e.g. "travel.book_flight"; a misspelt name is refused, since a
    fault that never fires would let a test pass for the wrong reason."""

    def __init__(self) -> None:
        self._before: Counter[str] = Counter()
        self._after: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def fail_next(self, operation: str, times: int = 1) -> None:
        """The next `times` calls fail before the partner acts: nothing happens on its side."""
        self._add(self._before, operation, times)

    def fail_after_commit(self, operation: str, times: int = 1) -> None:
        """The next `times` calls act (book, reserve, schedule) and then fail, as a response lost to a timeout.
        The caller retries with the same idempotency key and must get the first answer back."""
        self._add(self._after, operation, times)

    def pending(self, operation: str) -> int:
        with self._lock:
            return self._before[operation] + self._after[operation]

    def clear(self) -> None:
        with self._lock:
            self._before.clear()
            self._after.clear()

    def take_before_commit(self, operation: str) -> bool:
        return self._take(self._before, operation)

    def take_after_commit(self, operation: str) -> bool:
        return self._take(self._after, operation)

    def _add(self, plan: Counter[str], operation: str, times: int) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown partner operation {operation!r}; one of {sorted(OPERATIONS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            plan[operation] += times

    def _take(self, plan: Counter[str], operation: str) -> bool:
        with self._lock:
            if plan[operation] <= 0:
                return False
            plan[operation] -= 1
            self.injected[operation] += 1
            return True
