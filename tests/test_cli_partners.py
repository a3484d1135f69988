"""The partner network path as a person runs it: `predeparture partners-sim` on its own, and `predeparture dev
--partners-over-http`, where a departure's permit request crosses HTTP to the simulator service and the permit comes
back as a signed callback through the API."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx

from predeparture.loopback import free_port
from tests.test_api_coordinator import case_body
from tests.test_cli import FAST_DEMO, PREDEPARTURE, isolated_env

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except httpx.TransportError:
            found = None
        if found is not None:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


@dataclass
class Running:
    process: subprocess.Popen[str]
    out: str = ""
    err: str = ""


@contextmanager
def running(args: list[str], tmp_path: Path, env: dict[str, str]) -> Iterator[Running]:
    """The command in its own process, stopped with Ctrl-C (SIGINT) as a person would; its output kept."""
    process = subprocess.Popen([PREDEPARTURE, *args], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    run = Running(process)
    try:
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        run.out, run.err = process.communicate(timeout=60)


def test_the_simulator_service_accepts_only_the_configured_partner_credential(tmp_path: Path) -> None:
    port = free_port()
    endpoint = {"organisation_id": "org_permits", "base_url": "http://unused", "api_key": "the-permit-key-1234"}
    env = isolated_env(tmp_path, PREDEPARTURE_PARTNERS_SIM__PORT=str(port),
                       PREDEPARTURE_PARTNER_NETWORK__EXIT_PERMITS=json.dumps(endpoint))
    url = f"http://127.0.0.1:{port}"
    request = {"case_id": "case_0123456789abcdef", "destination_country": "CA", "requested_at": "2026-12-01T10:00:00Z",
               "travellers": [{"person_id": "person_0123456789abcdef", "given_name": "A", "family_name": "B",
                               "date_of_birth": "1990-01-01", "nationality": "AFG"}]}
    with running(["partners-sim"], tmp_path, env) as sim:
        refused = eventually(lambda: httpx.post(f"{url}/exit-permits", json=request,
                                                headers={"Idempotency-Key": "case_0123456789abcdef-exit-permit",
                                                         "Authorization": "Bearer not-the-key"}),
                             30, "the simulator service answering")
        assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
        headers = {"Idempotency-Key": "case_0123456789abcdef-exit-permit",
                   "Authorization": "Bearer the-permit-key-1234"}
        first = httpx.post(f"{url}/exit-permits", json=request, headers=headers)
        again = httpx.post(f"{url}/exit-permits", json=request, headers=headers)
        # A role without a configured credential is not served at all.
        other = httpx.post(f"{url}/bookings", json={}, headers={**headers, "Idempotency-Key": "x-flight-1"})
        stats = httpx.get(f"{url}/admin/stats").json()
    assert sim.process.returncode == 0, sim.err
    assert "stopped" in sim.out
    assert first.status_code == 202, first.text
    assert again.json() == first.json()
    assert other.status_code == 401
    assert stats["side_effects"]["exit_permits.request_exit_permit"] == 1


def test_partners_sim_refuses_to_start_without_any_partner_credential(tmp_path: Path) -> None:
    done = subprocess.run([PREDEPARTURE, "partners-sim", "--port", str(free_port())], env=isolated_env(tmp_path),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "PREDEPARTURE_PARTNER_NETWORK__" in done.stderr


def test_dev_over_http_requests_the_permit_from_the_service_and_takes_its_signed_callback(tmp_path: Path) -> None:
    sim_port = free_port()
    env = isolated_env(tmp_path, PREDEPARTURE_PARTNERS_SIM__PORT=str(sim_port), **FAST_DEMO)
    api, sim = f"http://127.0.0.1:{env['PREDEPARTURE_API__PORT']}", f"http://127.0.0.1:{sim_port}"
    with running(["dev", "--partners-over-http"], tmp_path, env) as dev:
        token = eventually(lambda: _token(api), 90, "the API answering")
        auth = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{api}/cases", json=case_body(date.today()), headers=auth)
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        started = httpx.post(f"{api}/cases/{case_id}/departure", headers=auth)
        assert started.status_code in (200, 201, 202), started.text

        def permit_called_back() -> dict[str, Any] | None:
            stats = httpx.get(f"{sim}/admin/stats").json()
            sent = [c for c in stats["callbacks_sent"] if c[0] == "exit_permits"]
            return stats if sent else None

        stats = eventually(permit_called_back, 90, "the permit authority's signed callback")

        def permit_done() -> dict[str, Any] | None:
            timeline = httpx.get(f"{api}/cases/{case_id}/timeline", headers=auth).json()
            permits = [s for s in timeline["steps"] if s["step"] == "exit_permit"]
            return timeline if permits and permits[0]["state"] == "done" else None

        eventually(permit_done, 60, "the exit permit step closing")
    assert dev.process.returncode == 0, dev.err[-3000:]
    assert stats["side_effects"]["exit_permits.request_exit_permit"] == 1
    assert stats["callbacks_refused"] == []  # every callback was signed as the API expects
    assert f"simulator service at {sim}" in dev.out


def _token(api: str) -> str | None:
    answer = httpx.post(f"{api}/auth/token", data={"grant_type": "password", "username": "coordinator",
                                                   "password": "coordinator-demo"})
    return str(answer.json()["access_token"]) if answer.status_code == 200 else None
