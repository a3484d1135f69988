"""The production stack, read as docker compose would read it (no Docker engine runs here to start it).

A misspelled PREDEPARTURE_ variable is silently ignored by the settings loader and the service starts with a default,
say a worker polling the wrong task queue: these tests catch that before an operator does.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from predeparture.keys import load_or_create_key
from predeparture.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {"postgresql", "temporal", "temporal-ui", "api", "worker", "codec-server"}
APP_SERVICES = ("api", "worker")
REQUIRED_IN_PRODUCTION = (
    "PREDEPARTURE_TEMPORAL__ADDRESS",
    "PREDEPARTURE_TEMPORAL__NAMESPACE",
    "PREDEPARTURE_TEMPORAL__TASK_QUEUE",
    "PREDEPARTURE_DATABASE_URL",
    "PREDEPARTURE_ENCRYPTION_KEY",
    "PREDEPARTURE_DATA_DIR",
)
SETTING_NAME = re.compile(r"PREDEPARTURE_[A-Z0-9_]*[A-Z0-9]")
COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
OPERATOR_SECRETS = {
    "POSTGRES_PASSWORD": "b7e1c0ffee42d00d",
    "PREDEPARTURE_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "PREDEPARTURE_API__JWT_SECRET": secrets.token_urlsafe(48),
}


class MissingVariable(LookupError):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error} and $$ escapes."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        value = env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and unset:
            return arg
        return value or ""

    placeholder = "\0"
    return COMPOSE_VARIABLE.sub(substitute, text.replace("$$", placeholder)).replace(placeholder, "$")


def environment(service: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    supplied = OPERATOR_SECRETS if env is None else env
    return {str(key): interpolate(str(value), supplied) for key, value in raw.items()}


def setting_path(variable: str) -> tuple[str, ...]:
    """The Settings field an environment variable sets, following nested models along `__`; KeyError if none."""
    if not variable.startswith("PREDEPARTURE_"):
        raise KeyError(f"{variable} lacks the PREDEPARTURE_ prefix")
    parts = variable.removeprefix("PREDEPARTURE_").lower().split("__")
    model: type[BaseModel] | None = Settings
    for depth, part in enumerate(parts):
        if model is None or part not in model.model_fields:
            raise KeyError(f"{variable}: no setting {'.'.join(parts[: depth + 1])}")
        annotation = model.model_fields[part].annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return tuple(parts)


def leaf_settings(model: type[BaseModel] = Settings, prefix: str = "PREDEPARTURE_") -> list[str]:
    names: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.extend(leaf_settings(annotation, f"{prefix}{name.upper()}__"))
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def documented_defaults() -> dict[str, str]:
    """`# PREDEPARTURE_X=value` lines of .env.example, quotes removed."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"#\s?(PREDEPARTURE_[A-Z0-9_]+)=(.*)", line.strip())
        if match:
            value = match[2].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[match[1]] = value
    return values


def host_ports(service: dict[str, Any]) -> list[int]:
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.append(int(entry["published"]))
            continue
        fields = str(entry).split("/")[0].split(":")
        ports.append(int(fields[-2] if len(fields) >= 2 else fields[-1]))
    return ports


def container_ports(service: dict[str, Any]) -> list[int]:
    return [
        int(entry["target"]) if isinstance(entry, dict) else int(str(entry).split("/")[0].split(":")[-1])
        for entry in service.get("ports") or []
    ]


def isolate_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith("PREDEPARTURE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env file in the working directory


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_the_stack_has_its_six_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_app_service_sets_what_production_requires(services: dict[str, dict[str, Any]], name: str) -> None:
    env = environment(services[name])

    missing = [variable for variable in REQUIRED_IN_PRODUCTION if not env.get(variable)]

    assert not missing, f"{name} does not set {missing}"
    assert env["PREDEPARTURE_TEMPORAL__ADDRESS"] == "temporal:7233"
    assert env["PREDEPARTURE_API__HOST"] == "0.0.0.0"
    assert all(env.get(f"PREDEPARTURE_PARTNERS__{role}") for role in ("EXIT_PERMITS", "MEDICAL", "TRAVEL"))


@pytest.mark.parametrize("secret", ["PREDEPARTURE_ENCRYPTION_KEY", "PREDEPARTURE_API__JWT_SECRET"])
@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_keys_must_come_from_the_operator(services: dict[str, dict[str, Any]], name: str, secret: str) -> None:
    raw = str(services[name]["environment"][secret])
    assert re.fullmatch(rf"\$\{{{secret}:\?.+\}}", raw), "the key must be required, never defaulted"

    without_key = {k: v for k, v in OPERATOR_SECRETS.items() if k != secret}
    with pytest.raises(MissingVariable, match=secret):
        environment(services[name], without_key)


def test_every_setting_named_in_the_compose_file_is_a_real_setting() -> None:
    names = set(SETTING_NAME.findall(COMPOSE_FILE.read_text()))

    unknown = {}
    for name in sorted(names):
        try:
            setting_path(name)
        except KeyError as error:
            unknown[name] = str(error)

    assert len(names) >= len(REQUIRED_IN_PRODUCTION)
    assert not unknown, unknown


def test_every_setting_named_in_the_env_example_is_a_real_setting() -> None:
    names = set(SETTING_NAME.findall(ENV_EXAMPLE.read_text()))

    unknown = {}
    for name in sorted(names):
        try:
            setting_path(name)
        except KeyError as error:
            unknown[name] = str(error)

    assert not unknown, unknown


def test_a_misspelled_setting_is_caught() -> None:
    assert setting_path("PREDEPARTURE_TEMPORAL__TASK_QUEUE") == ("temporal", "task_queue")
    assert setting_path("PREDEPARTURE_POLICY__DEFAULT__MEDICAL_VALIDITY_MONTHS")[-1] == "medical_validity_months"
    for wrong in (
        "PREDEPARTURE_TEMPORAL__TASKQUEUE",
        "PREDEPARTURE_TEMPORAL_TASK_QUEUE",
        "PREDEPARTURE_DATABASE__URL",
        "PREDEPARTURE_ENCRYPTION_KEY__ID",
        "PREDEPARTURE_PARTNER__MEDICAL",
    ):
        with pytest.raises(KeyError):
            setting_path(wrong)


def test_the_env_example_documents_every_setting() -> None:
    text = ENV_EXAMPLE.read_text()

    undocumented = [name for name in leaf_settings() if not re.search(rf"^#?\s?{name}=", text, re.MULTILINE)]

    assert not undocumented, f"add to .env.example: {undocumented}"


def test_the_env_example_states_the_real_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings without a default (the database URL, the key) are documented empty.
    documented = {name: value for name, value in documented_defaults().items() if value}
    isolate_environment(monkeypatch, tmp_path, documented)

    from_documentation = Settings()
    monkeypatch.undo()
    isolate_environment(monkeypatch, tmp_path, {})

    assert from_documentation.model_dump() == Settings().model_dump()


def test_api_and_worker_agree_on_temporal_and_the_database(services: dict[str, dict[str, Any]]) -> None:
    api, worker, temporal = (environment(services[name]) for name in ("api", "worker", "temporal"))

    shared = [name for name in (set(api) | set(worker)) if name.startswith("PREDEPARTURE_")]
    disagreeing = [name for name in shared if api.get(name) != worker.get(name)]

    assert "PREDEPARTURE_TEMPORAL__TASK_QUEUE" in shared and "PREDEPARTURE_TEMPORAL__NAMESPACE" in shared
    assert not disagreeing, disagreeing
    assert temporal["DEFAULT_NAMESPACE"] == worker["PREDEPARTURE_TEMPORAL__NAMESPACE"]
    assert environment(services["temporal-ui"])["TEMPORAL_ADDRESS"] == worker["PREDEPARTURE_TEMPORAL__ADDRESS"]


def test_the_database_url_points_at_the_postgresql_service(services: dict[str, dict[str, Any]]) -> None:
    database = environment(services["postgresql"])
    url = make_url(environment(services["worker"])["PREDEPARTURE_DATABASE_URL"])

    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "postgresql" and url.host in services
    assert url.port == 5432
    assert url.database == database["POSTGRES_DB"]
    assert url.username == database["POSTGRES_USER"]
    assert url.password == database["POSTGRES_PASSWORD"] == OPERATOR_SECRETS["POSTGRES_PASSWORD"]


def test_temporal_runs_on_the_postgresql_service(services: dict[str, dict[str, Any]]) -> None:
    temporal, database = services["temporal"], services["postgresql"]
    env = environment(temporal)

    assert temporal["image"].startswith("temporalio/auto-setup:")
    assert temporal["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert database["healthcheck"]["test"]
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert env["DB_PORT"] == "5432"
    assert env["POSTGRES_USER"] == environment(database)["POSTGRES_USER"]
    assert env["POSTGRES_PWD"] == environment(database)["POSTGRES_PASSWORD"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in database["volumes"])


def test_the_ui_and_the_api_are_published_and_no_host_port_is_taken_twice(
    services: dict[str, dict[str, Any]],
) -> None:
    published = [port for service in services.values() for port in host_ports(service)]
    api_env = environment(services["api"])

    assert len(published) == len(set(published)), published
    assert 8080 in container_ports(services["temporal-ui"])
    assert int(api_env["PREDEPARTURE_API__PORT"]) in container_ports(services["api"])
    assert not services["postgresql"].get("ports"), "the database is reached on the compose network only"


def test_api_and_worker_run_the_same_image_with_their_own_command(services: dict[str, dict[str, Any]]) -> None:
    api, worker = services["api"], services["worker"]

    assert api["command"] == ["predeparture", "api"]
    assert worker["command"] == ["predeparture", "worker"]
    for service in (api, worker):
        assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert api["image"] == worker["image"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_settings_built_from_the_compose_environment_validate(
    services: dict[str, dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    isolate_environment(monkeypatch, tmp_path, environment(services[name]))

    settings = Settings()

    assert settings.temporal.address == "temporal:7233"
    assert settings.api.host == "0.0.0.0"
    assert settings.resolved_database_url().startswith("postgresql+asyncpg://")
    assert settings.data_dir == Path("/var/lib/predeparture")
    key_id, key = load_or_create_key(settings)
    assert key == base64.b64decode(OPERATOR_SECRETS["PREDEPARTURE_ENCRYPTION_KEY"])
    assert key_id == "k1"


def test_the_image_installs_the_fonts_and_runs_as_a_plain_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^FROM python:3\.11-slim-bookworm\b", dockerfile, re.MULTILINE)
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-noto-core"):
        assert package in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored


def test_ci_runs_the_makefile_tests() -> None:
    script = ROOT / ".ci" / "run"

    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "set -euo pipefail" in text
    assert re.search(r"^\s*(exec\s+)?make\b.*\btest\b", text, re.MULTILINE)
