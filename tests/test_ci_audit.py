"""The dependency audit CI runs (`.ci/audit.py`): a known vulnerability fails the build, however PyPI answered."""

from __future__ import annotations

import importlib.util
import sys
import types
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "audit.py"
INSTALLED = {"jinja2": "3.1.6", "nexus-rpc": "1.4.0", "weasyprint": "70.0"}


@pytest.fixture
def audit(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "BACKOFF_SECONDS", (0,))
    monkeypatch.setattr(module, "metadata", types.SimpleNamespace(
        version=lambda name: INSTALLED[name], PackageNotFoundError=metadata.PackageNotFoundError))
    return module


def report(*dependencies: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": [{"name": "predeparture", "skip_reason": "distribution marked as editable"},
                             *dependencies], "fixes": []}


def not_found(name: str) -> dict[str, Any]:
    return {"name": name, "skip_reason": f"Dependency not found on PyPI and could not be audited: {name}"}


def page(latest: str, *vulnerabilities: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"version": latest}, "vulnerabilities": list(vulnerabilities)}


CVE = {"id": "GHSA-0000-1111-2222", "aliases": [], "fixed_in": ["3.1.7"], "withdrawn": None}


def test_a_vulnerability_pip_audit_finds_fails_the_build(audit: types.ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    vulnerable = {"name": "jinja2", "version": "3.1.6", "vulns": [{"id": CVE["id"], "fix_versions": ["3.1.7"]}]}
    monkeypatch.setattr(audit, "pip_audit", lambda: report(vulnerable))
    assert audit.main() == 1
    assert "jinja2 3.1.6: GHSA-0000-1111-2222 (fixed in 3.1.7)" in capsys.readouterr().out


def test_a_version_pypi_has_no_page_for_is_audited_from_the_project_page(
        audit: types.ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(audit, "pip_audit", lambda: report(not_found("jinja2"), not_found("weasyprint")))
    pages = {"jinja2": page("3.1.6", CVE), "weasyprint": page("70.0")}
    monkeypatch.setattr(audit, "project_page", pages.get)
    assert audit.main() == 1
    out = capsys.readouterr().out
    assert "jinja2 3.1.6: GHSA-0000-1111-2222 (fixed in 3.1.7)" in out and "weasyprint" not in out
    withdrawn = {**CVE, "withdrawn": "2026-01-02T00:00:00Z"}
    pages["jinja2"] = page("3.1.6", withdrawn)
    assert audit.main() == 0


def test_an_older_release_is_listed_as_not_audited_and_nothing_audited_fails(
        audit: types.ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The latest release's vulnerabilities say nothing of an older one: listed, not passed as clean.
    monkeypatch.setattr(audit, "project_page", {"nexus-rpc": page("1.5.0", CVE), "jinja2": page("3.1.6")}.get)
    monkeypatch.setattr(audit, "pip_audit", lambda: report(not_found("nexus-rpc"), not_found("jinja2")))
    assert audit.main() == 0
    assert "not audited: nexus-rpc: 1.4.0 installed, PyPI describes only its latest release, 1.5.0" in \
        capsys.readouterr().out
    monkeypatch.setattr(audit, "pip_audit", lambda: report(not_found("nexus-rpc")))
    assert audit.main() == 1
    assert "nothing could be audited" in capsys.readouterr().out


def test_pypi_out_of_reach_is_retried_then_fails_the_build(audit: types.ModuleType,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def flaky() -> dict[str, Any]:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("pip-audit exited 1: Could not connect to PyPI's vulnerability feed")
        return report({"name": "jinja2", "version": "3.1.6", "vulns": []})

    monkeypatch.setattr(audit, "pip_audit", flaky)
    assert audit.main() == 0 and len(calls) == 3

    def down() -> dict[str, Any]:
        raise OSError("Name or service not known")

    monkeypatch.setattr(audit, "pip_audit", down)
    with pytest.raises(SystemExit, match="pip-audit failed 3 times"):
        audit.main()
