"""A free loopback port, for the servers the chaos run, the benchmarks and the tests start side by side."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port the kernel had free a moment ago: another process can still take it before the caller binds it."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])
