"""The command line as a person runs it: `predeparture demo` and `predeparture dev` in their own processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PREDEPARTURE = str(Path(sys.executable).with_name("predeparture"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Its own data directory and ports, so a developer's running `make run` is never touched."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREDEPARTURE_")}
    env.update(PREDEPARTURE_DATA_DIR=str(tmp_path / "data"),
               PREDEPARTURE_TEMPORAL__ADDRESS=f"127.0.0.1:{free_port()}",
               PREDEPARTURE_TEMPORAL__UI_PORT=str(free_port()),
               PREDEPARTURE_API__PORT=str(free_port()), COLUMNS="200")
    return env


def test_the_help_names_every_command() -> None:
    out = subprocess.run([PREDEPARTURE, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("dev", "worker", "api", "migrate", "demo", "bench", "users"):
        assert f" {command} " in out


def test_demo_without_a_running_stack_starts_one_and_prints_one_json_object(tmp_path: Path) -> None:
    done = subprocess.run([PREDEPARTURE, "demo", "--cases", "1", "--json", "--timeout", "400"],
                          env=isolated_env(tmp_path), capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout)
    assert outcome["cases"] == 1 and sum(outcome["final_states"].values()) == 1
    # One family of the day's seed: it flies, unless the simulated authority refuses it or a check defers it.
    assert set(outcome["final_states"]) <= {"departed", "refused", "deferred"}


def test_dev_serves_the_api_with_demo_logins_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    api = f"http://127.0.0.1:{env['PREDEPARTURE_API__PORT']}"
    dev = subprocess.Popen([PREDEPARTURE, "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        token = None
        while time.monotonic() < deadline and token is None:
            try:
                answer = httpx.post(f"{api}/auth/token", data={"grant_type": "password", "username": "coordinator",
                                                               "password": "coordinator-demo"})
                token = answer.json()["access_token"] if answer.status_code == 200 else None
            except httpx.TransportError:
                time.sleep(0.5)
        assert token, "the API never answered"
        listed = httpx.get(f"{api}/cases", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200 and listed.json()["items"] == []
        assert httpx.get(f"{api}/docs").status_code == 200
    finally:
        dev.send_signal(signal.SIGINT)
        out, _ = dev.communicate(timeout=60)
    assert dev.returncode == 0
    assert api in out and "Temporal UI" in out and "coordinator-demo" in out
    assert "stopped" in out
