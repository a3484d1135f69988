"""The `predeparture chaos` command: its options and its output. The run itself is predeparture/chaos.py, imported
only when the command runs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
errors = Console(stderr=True)


def chaos_command(
    departures: Annotated[int, typer.Option(min=1, help="How many departures run at once.")] = 200,
    worker_kills: Annotated[int, typer.Option(min=0, help="Times the worker is killed (SIGKILL) and restarted.")] = 10,
    server_restarts: Annotated[int, typer.Option(min=0, help="Times the Temporal dev server is restarted.")] = 1,
    failure_rate: Annotated[float, typer.Option(min=0, max=0.9, help="Share of partner calls that fail.")] = 0.3,
    cancellations: Annotated[int | None, typer.Option(
        min=0, help="Departures a coordinator cancels along the way (default: one in twenty).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the families, the partners' answers and the chaos.")] = 2026,
    timeout: Annotated[float, typer.Option(min=10, help="Stop waiting for the departures after this many seconds."
                                           )] = 3600.0,
    database_url: Annotated[str | None, typer.Option(
        help="The store (SQLAlchemy async URL, e.g. postgresql+asyncpg://…); default: SQLite in the run's "
             "data directory.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where the run keeps its files (default: a new "
                                                        "temporary directory, removed if every check passes).")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the data directory even if every check passes.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object with the figures.")] = False,
) -> None:
    """Departures under chaos: partners failing and stalling, the worker killed, the server restarted. Prints
    whether every departure ended right, with one booking per traveller, no lost medical result, no duplicate
    manifest version and a complete audit log; exits 1 if any check fails."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from predeparture.chaos import ChaosOptions, run_chaos
    from predeparture.cli import _setup_logging
    from predeparture.devstack import DevServerError

    _setup_logging(logging.WARNING, activity_failures=False)
    options = ChaosOptions(departures=departures, worker_kills=worker_kills, server_restarts=server_restarts,
                           failure_rate=failure_rate, cancellations=cancellations, seed=seed, timeout=timeout,
                           database_url=database_url, data_dir=data_dir, keep=keep)
    progress = Progress(TextColumn("[bold]departures settled"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("disruptions {task.fields[chaos]}"), TimeElapsedColumn(),
                        console=errors, disable=as_json)
    bar = progress.add_task("departures", total=departures, chaos="0")

    def on_progress(settled: int, total: int, disrupted: int, planned: int) -> None:
        progress.update(bar, completed=settled, total=total, chaos=f"{disrupted}/{planned}")

    try:
        with progress, _stdout_to_stderr(as_json):
            report = asyncio.run(run_chaos(options, on_progress=on_progress))
    except DevServerError as error:
        errors.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        console.print(report.render())
        for note in report.notes:
            console.print(f"[yellow]{note}[/]")
        if report.data_dir:
            console.print(f"data directory kept: {report.data_dir}")
        console.print("[green]every check passed[/]" if report.passed else "[red]some checks failed[/]")
    if not report.passed:
        raise typer.Exit(1)


@contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """While the run lasts, whatever writes to standard output (the Temporal SDK's own warnings, from Rust, while
    the server restarts) goes to standard error, so `--json` prints one JSON object and nothing else."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
