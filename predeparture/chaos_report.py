"""What a chaos run prints: every check as a figure, passed or not, and what the chaos did; as rich tables for a
person, or one JSON object (`--json`). Opaque ids only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table

from predeparture.chaos_checks import Check


@dataclass
class ChaosReport:
    departures: int
    wall_seconds: float
    phases: dict[str, int]
    chaos: dict[str, Any]  # what was done to the system, and when (share of the run's progress)
    partners: dict[str, Any]  # calls, failures injected, side effects
    checks: list[Check]
    data_dir: str | None = None  # kept for a look when something failed
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "departures": self.departures, "wall_seconds": round(self.wall_seconds, 1),
                "phases": self.phases, "chaos": self.chaos, "partners": self.partners,
                "checks": [check.as_json() for check in self.checks], "data_dir": self.data_dir, "notes": self.notes}

    def render(self) -> Group:
        checks = Table(title=f"Chaos run: {self.departures} departures in {self.wall_seconds:.0f} s")
        checks.add_column("check")
        checks.add_column("", justify="center")
        checks.add_column("figure")
        for check in self.checks:
            checks.add_row(check.name, "[green]pass[/]" if check.passed else "[red]FAIL[/]", check.figure)
        chaos = Table(title="What happened", show_header=False)
        chaos.add_column("what")
        chaos.add_column("figure")
        for name, value in [*self.chaos.items(), *self.partners.items()]:
            chaos.add_row(name.replace("_", " "), _text(value))
        parts: list[Any] = [checks, chaos]
        for check in self.checks:
            if check.problems:
                problems = Table(title=f"[red]{check.name}[/]: {len(check.problems)} problem(s)", show_header=False)
                problems.add_column("problem")
                for problem in check.problems[:12]:
                    problems.add_row(problem)
                parts.append(problems)
        return Group(*parts)


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
