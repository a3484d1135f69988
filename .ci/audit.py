"""pip-audit over this virtualenv, fit for CI: any known vulnerability fails the run.

The audit reads PyPI's JSON API, so a network failure is retried, and fails the run if it persists: an audit that
could not look is not a pass. Where PyPI has no page for the installed version (pip-audit then skips the package as
"not found on PyPI"), the package is audited from its project page instead, which lists the vulnerabilities of the
latest release: that answers for the installed version when it is the latest. What neither can audit is listed.

Run with the virtualenv's interpreter: `.venv/bin/python .ci/audit.py` (what `make audit` does)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from packaging.version import InvalidVersion, Version

ATTEMPTS = 3
BACKOFF_SECONDS = (15, 45)
TIMEOUT_SECONDS = 30

T = TypeVar("T")


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vulnerability: str
    fixed_in: list[str]

    def __str__(self) -> str:
        fix = f"fixed in {', '.join(self.fixed_in)}" if self.fixed_in else "no fixed release yet"
        return f"{self.package} {self.version}: {self.vulnerability} ({fix})"


def with_retries(what: str, attempt: Callable[[], T]) -> T:
    for n in range(ATTEMPTS):
        try:
            return attempt()
        except (OSError, RuntimeError) as error:  # urllib's errors are OSErrors; pip-audit's failure is ours
            if n == ATTEMPTS - 1:
                raise SystemExit(f"audit: {what} failed {ATTEMPTS} times, last: {error}") from error
            wait = BACKOFF_SECONDS[min(n, len(BACKOFF_SECONDS) - 1)]
            print(f"audit: {what} failed ({error}); again in {wait}s", file=sys.stderr)
            time.sleep(wait)
    raise AssertionError("unreachable")


def pip_audit() -> dict[str, Any]:
    """One run of pip-audit over this interpreter's environment; RuntimeError if it wrote no report."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        run = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--format", "json", "--output", str(report), "--desc", "off",
             "--progress-spinner", "off", "--skip-editable", "--timeout", str(TIMEOUT_SECONDS)],
            capture_output=True, text=True, check=False)
        # Exit 1 with a report means vulnerabilities; without one, pip-audit did not finish (network, PyPI).
        if not report.exists():
            raise RuntimeError(f"pip-audit exited {run.returncode}: {run.stderr.strip()[-500:]}")
        loaded: dict[str, Any] = json.loads(report.read_text())
        return loaded


def project_page(name: str) -> dict[str, Any] | None:
    """PyPI's page of the project, None if PyPI has none."""
    url = f"https://pypi.org/pypi/{name}/json"
    try:
        # bandit B310 warns of file:// URLs; this one is a fixed https address.
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # nosec B310
            page: dict[str, Any] = json.load(response)
            return page
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def from_project_page(name: str, installed: str) -> list[Finding] | str:
    """The installed version's vulnerabilities, or why they cannot be known from the project page."""
    page = with_retries(f"PyPI's page of {name}", lambda: project_page(name))
    if page is None:
        return "not on PyPI"
    latest = page["info"]["version"]
    try:
        is_latest = Version(installed) == Version(latest)
    except InvalidVersion:
        is_latest = False
    if not is_latest:
        return f"{installed} installed, PyPI describes only its latest release, {latest}"
    return [Finding(name, installed, vuln["id"], vuln.get("fixed_in") or [])
            for vuln in page.get("vulnerabilities") or [] if not vuln.get("withdrawn")]


def main() -> int:
    report = with_retries("pip-audit", pip_audit)
    findings: list[Finding] = []
    by_version = by_page = 0
    unaudited: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for dependency in report["dependencies"]:
        name = dependency["name"]
        if "skip_reason" not in dependency:
            by_version += 1
            findings += [Finding(name, dependency["version"], vuln["id"], vuln["fix_versions"])
                         for vuln in dependency["vulns"]]
        elif "editable" not in dependency["skip_reason"]:  # the project itself, installed for development
            try:
                skipped[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                unaudited[name] = dependency["skip_reason"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = pool.map(lambda item: (item[0], from_project_page(*item)), skipped.items())
        for name, answer in answers:
            if isinstance(answer, str):
                unaudited[name] = answer
            else:
                by_page += 1
                findings += answer
    print(f"audit: {by_version} packages audited by their version's page, {by_page} by their project's page "
          f"(the latest release is installed), {len(unaudited)} not audited")
    for name, why in sorted(unaudited.items()):
        print(f"audit: not audited: {name}: {why}")
    if findings:
        print(f"audit: {len(findings)} known vulnerabilities; raise the floor in pyproject.toml to a fixed release:")
        for finding in findings:
            print(f"  {finding}")
        return 1
    if by_version + by_page == 0:
        print("audit: nothing could be audited: PyPI's vulnerability data was not available")
        return 1
    print("audit: no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
