"""The command line as a person runs it: `predeparture demo`, `dev`, `worker` and `migrate` in their own processes,
plus the two things the demo is made of (its families and its time profile)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from temporalio.client import Client

from domain.case import FunctionalNeed, Relationship
from predeparture.demo import worker_polls
from predeparture.devstack import dev_server
from predeparture.families import demo_families
from predeparture.loopback import free_port
from predeparture.profiles import demo_settings
from predeparture.settings import Settings
from store.engine import make_engine

PREDEPARTURE = str(Path(sys.executable).with_name("predeparture"))
DEMO_SEED = 32  # three small families: the demo test waits for fewer fitness checks
# The demo profile at test speed: every value set here wins over the profile, as a user's settings would.
FAST_DEMO = {
    "PREDEPARTURE_SIMULATOR__PERMIT_DELAY_MIN": "PT2S",
    "PREDEPARTURE_SIMULATOR__PERMIT_DELAY_MAX": "PT5S",
    "PREDEPARTURE_SIMULATOR__PERMIT_REFUSAL_RATE": "0",
    "PREDEPARTURE_SIMULATOR__DOCUMENT_DELAY_MIN": "PT1S",
    "PREDEPARTURE_SIMULATOR__DOCUMENT_DELAY_MAX": "PT3S",
    "PREDEPARTURE_SIMULATOR__APPOINTMENT_LEAD": "PT1S",
    "PREDEPARTURE_SIMULATOR__ORIENTATION_SESSION_EVERY": "PT5S",
    "PREDEPARTURE_SIMULATOR__ORIENTATION_SESSION_LENGTH": "PT2S",
    "PREDEPARTURE_SIMULATOR__FLIGHT_MIN_LEAD": "PT20S",
    "PREDEPARTURE_SIMULATOR__FLIGHT_EXACT_LEAD": "true",
}


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Its own data directory and ports, so a developer's running `make run` is never touched."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREDEPARTURE_")}
    env.update(PREDEPARTURE_DATA_DIR=str(tmp_path / "data"),
               PREDEPARTURE_TEMPORAL__ADDRESS=f"127.0.0.1:{free_port()}",
               PREDEPARTURE_TEMPORAL__UI_PORT=str(free_port()),
               PREDEPARTURE_API__PORT=str(free_port()), COLUMNS="200")
    env.update(extra)
    return env


def run(args: list[str], tmp_path: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    # cwd: a .env of the developer's checkout must not leak in.
    return subprocess.run([PREDEPARTURE, *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)


# -- the commands ----------------------------------------------------------------------------------------------


def test_the_help_names_every_command() -> None:
    out = subprocess.run([PREDEPARTURE, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("dev", "worker", "api", "migrate", "demo", "bench", "chaos", "users", "partners-sim",
                    "partners-contract"):
        assert f" {command} " in out


def test_demo_without_a_running_stack_starts_one_and_prints_one_json_object(tmp_path: Path) -> None:
    done = run(["demo", "--cases", "3", "--json", "--seed", str(DEMO_SEED), "--timeout", "240"], tmp_path,
               isolated_env(tmp_path, **FAST_DEMO), timeout=360)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(done.stdout.strip().splitlines()) == 1, done.stdout
    outcome = json.loads(done.stdout)
    assert outcome["cases"] == 3 and sum(outcome["final_states"].values()) == 3, outcome
    # A traveller found unfit at the pre-embarkation check flies a day later (4 % per person): the others depart.
    assert outcome["final_states"].get("departed", 0) >= 2, outcome
    assert set(outcome["final_states"]) <= {"departed", "awaiting_flight", "deferred"}, outcome
    # The embedded stack kept everything in the data directory, and stopped its server on the way out.
    data = tmp_path / "data"
    assert {"temporal.db", "predeparture.db", "encryption.key"} <= {p.name for p in data.iterdir()}
    # Output and logs name cases by id and reference only.
    families = demo_families(3, DEMO_SEED, datetime.now(UTC).date())
    names = {p.family_name for f in families for p in f.people} | {
        f"{p.given_name} {p.family_name}" for f in families for p in f.people}
    assert not [n for n in names if n in done.stdout or n in done.stderr]


def test_dev_serves_the_api_with_demo_logins_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    api = f"http://127.0.0.1:{env['PREDEPARTURE_API__PORT']}"
    dev = subprocess.Popen([PREDEPARTURE, "dev"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
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
    assert str((tmp_path / "data").resolve()) in out
    assert "stopped" in out
    # Nothing is left listening: the dev server went down with `dev`.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(env["PREDEPARTURE_TEMPORAL__ADDRESS"].rsplit(":", 1)[1]))) != 0


def test_migrate_brings_the_configured_database_to_the_schema_twice_over(tmp_path: Path, database_url: str) -> None:
    env = isolated_env(tmp_path, PREDEPARTURE_DATABASE_URL=database_url)
    for _ in range(2):  # a second run finds nothing to do
        done = run(["migrate"], tmp_path, env, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "migrated" in done.stdout

    async def tables() -> set[str]:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
        finally:
            await engine.dispose()

    assert {"cases", "people", "step_results", "bookings", "audit_log"} <= asyncio.run(tables())


def test_the_production_worker_polls_until_sigterm_then_stops_cleanly(tmp_path: Path, database_url: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = isolated_env(tmp_path, PREDEPARTURE_DATABASE_URL=database_url, PREDEPARTURE_TEMPORAL__ADDRESS=address)
    settings = Settings(temporal={"address": address})  # type: ignore[arg-type]

    async def scenario() -> tuple[int, str]:
        async with dev_server(address, "default", tmp_path / "temporal.db", ui_port=None):
            worker = await asyncio.create_subprocess_exec(PREDEPARTURE, "worker", env=env, cwd=tmp_path,
                                                          stderr=asyncio.subprocess.PIPE)
            try:
                client = await Client.connect(address)
                deadline = time.monotonic() + 60
                while not await worker_polls(client, settings):
                    assert time.monotonic() < deadline, "the worker never polled its task queue"
                    await asyncio.sleep(0.5)
            finally:
                worker.send_signal(signal.SIGTERM)
                _, err = await asyncio.wait_for(worker.communicate(), 45)
            return worker.returncode or 0, err.decode()

    code, err = asyncio.run(scenario())
    assert code == 0, err[-2000:]
    assert "worker stopped" in err


# -- what the demo is made of ----------------------------------------------------------------------------------


def test_demo_families_are_the_same_for_a_seed_except_their_opaque_ids() -> None:
    today = date(2026, 3, 2)
    first, again = demo_families(20, 7, today), demo_families(20, 7, today)
    ids = {"case_id": True, "people": {"__all__": {"person_id"}}}
    assert [f.model_dump(exclude=ids) for f in first] == [f.model_dump(exclude=ids) for f in again]
    assert {f.case_id for f in first}.isdisjoint(f.case_id for f in again)  # a second demo adds families
    assert [f.model_dump(exclude=ids) for f in demo_families(20, 8, today)] != [f.model_dump(exclude=ids)
                                                                                for f in first]


def test_demo_families_look_like_a_resettlement_caseload() -> None:
    today = date(2026, 3, 2)
    families = demo_families(300, 2026, today)
    people = [p for f in families for p in f.people]
    assert {p.nationality for p in people} == {"AFG", "SYR", "SDN", "COD", "MMR", "ERI", "VEN"}
    assert {len(f.people) for f in families} == set(range(1, 8))
    assert {f.destination.country for f in families} == {"CA", "US", "DE", "FR", "SE", "AU"}
    assert {"fa", "ps", "ar", "fr", "sw", "ln", "rhg", "ti", "es"} <= {lang for p in people for lang in p.languages}
    with_passport = [p for p in people if p.passport is not None]
    assert 0 < len(with_passport) < len(people) / 2
    assert any(p.passport.expires_on < today for p in with_passport)  # some passports will not do
    assert not [p for p in people if p.nationality == "MMR" and p.passport]  # Rohingya are stateless
    needs = {n for p in people for n in p.functional_needs}
    assert {FunctionalNeed.WHEELCHAIR, FunctionalNeed.OXYGEN, FunctionalNeed.MEDICAL_ESCORT,
            FunctionalNeed.UNACCOMPANIED_MINOR} <= needs
    for family in families:
        principal = family.principal
        assert all(p.date_of_birth <= family.approved_on for p in family.people)
        if FunctionalNeed.UNACCOMPANIED_MINOR in principal.functional_needs:
            assert len(family.people) == 1 and principal.age_on(family.approved_on) < 18
        children = [p for p in family.people if p.relationship is Relationship.CHILD]
        assert all(principal.age_on(today) - c.age_on(today) >= 16 for c in children)


def test_the_demo_profile_shrinks_months_to_seconds_but_what_a_user_set_wins() -> None:
    configured = Settings(simulator={"flight_min_lead": timedelta(seconds=9)},  # type: ignore[arg-type]
                          policy={"overrides": {"US": {"travel_document_kind": "boarding_letter",  # type: ignore[arg-type]
                                                       "arrival_notice_working_days": 10}}})
    demo = demo_settings(configured)
    assert demo.simulator.permit_delay_max <= timedelta(minutes=1)
    assert demo.simulator.flight_min_lead == timedelta(seconds=9)
    policy = demo.policy.for_country("US")
    assert policy.arrival_notice_working_days == 0 and policy.unfit_deferral_days == 1
    assert policy.partner_poll_interval <= timedelta(seconds=10)
    assert policy.travel_document_kind == "boarding_letter"
    assert configured.simulator.permit_delay_max >= timedelta(days=100)  # the configured settings are untouched
