"""`predeparture bench --only load`, run small, and the pieces its report rests on.

No timing is asserted: how fast is the benchmark's question, not the tests'. What is asserted is what a reader of
the report relies on: the worker's memory was read from its own process, every departure was open (none failed),
every Update and every API request succeeded, each measurement holds the requests it was asked for, percentiles are
in order, and the memory target's verdict agrees with the figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from api.cases.schemas import CaseUpdate
from predeparture import bench, bench_load, bench_load_api, bench_load_worker
from predeparture.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"PREDEPARTURE_BENCH_LOAD_UPDATES": "30", "PREDEPARTURE_BENCH_LOAD_UPDATE_CALLERS": "5",
         "PREDEPARTURE_BENCH_LOAD_CLIENTS": "20", "PREDEPARTURE_BENCH_LOAD_REQUESTS": "200",
         # Fewer cached than open, as at full size: some Updates go to departures the worker must rebuild.
         "PREDEPARTURE_BENCH_LOAD_MAX_CACHED_WORKFLOWS": "20"}
DEPARTURES = 30


def ordered(figures: dict[str, Any], prefix: str) -> bool:
    p50, p95, p99 = (figures[f"{prefix}_p{percent}_ms"] for percent in (50, 95, 99))
    assert all(isinstance(value, float) for value in (p50, p95, p99)), prefix
    return bool(0 < p50 <= p95 <= p99)


def test_the_load_section_reports_the_workers_memory_update_and_api_latencies_in_one_json_object() -> None:
    # A real process, so anything the worker, the API or the dev server print would break the JSON on stdout.
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("PREDEPARTURE_BENCH_LOAD_")} | SMALL
    command = [sys.executable, "-m", "predeparture.bench", "--only", "load", "--cases", str(DEPARTURES), "--json"]
    done = subprocess.run(command, check=False, cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert set(report) == {"sections", "ratios"} and set(report["sections"]) == {"load"}
    figures = report["sections"]["load"]

    # Every departure started, waiting on its partners: none failed, none finished.
    assert figures["cases"] == figures["open_departures"] == DEPARTURES
    assert figures["departures_by_phase"] == {"preparing": DEPARTURES}

    # The worker's own memory, read at its peak and once settled; the verdict is the peak against 1.5 GiB.
    rss, peak = figures["open_departures_10k_rss_mib"], figures["open_departures_10k_peak_rss_mib"]
    assert 0 < figures["worker_rss_idle_baseline_mib"] and 0 < rss <= peak <= figures["worker_peak_rss_at_end_mib"]
    assert 0 < figures["worker_anonymous_rss_mib"] < rss
    assert figures["rss_target_mib"] == 1536 and figures["rss_target_met"] is (peak <= 1536)
    assert figures["max_cached_workflows"] == 20
    assert figures["worker_rss_at_cache_size_mib"] > 0
    assert isinstance(figures["worker_kib_per_cached_departure"], float)
    assert isinstance(figures["worker_kib_per_departure_beyond_cache"], float)
    assert 0 < figures["opening_seconds"] < figures["wall_seconds"]

    # Updates: all accepted, the idle ones and those under load.
    assert figures["update_errors"] == 0 and figures["update_error_kinds"] == {}
    assert figures["updates_per_measurement"] == 30
    assert ordered(figures, "update_idle") and ordered(figures, "update_loaded")
    ratio = report["ratios"]["update_p99_loaded_vs_idle"]
    assert ratio == pytest.approx(figures["update_loaded_p99_ms"] / figures["update_idle_p99_ms"])
    assert figures["targets"] == {}

    # The API: every request answered 2xx, in the mix asked for.
    assert figures["api_clients"] == 20 and figures["api_requests"] == 200 and figures["api_errors"] == 0
    assert figures["api_answers"] == {"timeline": {"200": 140}, "case_list": {"200": 40}, "case_update": {"200": 20}}
    for kind in ("timeline", "case_list", "case_update"):
        assert ordered(figures, f"api_{kind}")
    assert all(rate > 0 for rate in figures["rates"].values())


async def test_without_cases_the_section_holds_ten_thousand_departures_and_refuses_too_few(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PREDEPARTURE_BENCH_LOAD_"):
            monkeypatch.delenv(name)
    async with AsyncExitStack() as stack:
        default = bench.BenchContext(cases=20, workdir=tmp_path, stack=stack, cases_given=False)
        assert bench_load.LoadBenchSize.from_environment(default).departures == 10_000
        # The worker's cache is production's unless the bench is told otherwise.
        assert bench_load.LoadBenchSize.from_environment(default).max_cached_workflows == \
            WorkerSettings().max_cached_workflows
        given = bench.BenchContext(cases=2_000, workdir=tmp_path, stack=stack)
        assert bench_load.LoadBenchSize.from_environment(given).departures == 2_000
        # 300 Updates idle and 300 loaded, three travellers a family, two families to warm up: 102 families each.
        with pytest.raises(bench.BenchFailed, match="at least 204 departures"):
            bench_load.LoadBenchSize.from_environment(bench.BenchContext(cases=203, workdir=tmp_path, stack=stack))
        monkeypatch.setenv("PREDEPARTURE_BENCH_LOAD_CLIENTS", "0")
        with pytest.raises(bench.BenchFailed, match="PREDEPARTURE_BENCH_LOAD_CLIENTS"):
            bench_load.LoadBenchSize.from_environment(given)


def test_a_case_update_sends_the_whole_case_back_with_every_traveller_keeping_their_id() -> None:
    case = bench_load_worker.families(1, first_number=7)[0]
    update = CaseUpdate.model_validate(bench_load_api.update_body(case, priority=1))
    assert update.priority == 1 and update.reference == "BENCH-LOAD-00007"
    assert [person.person_id for person in update.people] == [person.person_id for person in case.people]


def test_memory_is_read_from_the_process_itself() -> None:
    own = bench_load_worker.memory(os.getpid())
    assert 0 < own.anonymous < own.rss <= own.peak and own.total >= own.rss
