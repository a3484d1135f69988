"""`predeparture bench --only planning`, run small, and the made-up operation its report rests on.

No timing is asserted: how fast is the benchmark's question, not the tests'. What is asserted is what a reader of
the report relies on: both sizes were planned, their times and rates are there, the ratio is the large time over
the small one and its target reads as the ceiling it is, and the operations are alike at both sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from predeparture import bench, bench_planning

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"PREDEPARTURE_BENCH_PLANNING_CASES": "200", "PREDEPARTURE_BENCH_PLANNING_ROUNDS": "2"}


def test_the_planning_section_reports_both_sizes_and_their_growth_in_one_json_object() -> None:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("PREDEPARTURE_BENCH_PLANNING_")} | SMALL
    command = [sys.executable, "-m", "predeparture.bench", "--only", "planning", "--json"]
    done = subprocess.run(command, check=False, cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert set(report) == {"sections", "ratios"} and set(report["sections"]) == {"planning"}
    figures = report["sections"]["planning"]
    assert figures["targets"] == {"planning_growth_10x": {"at_most": 12.0}}
    small, large = "200_cases_10_charters", "2000_cases_100_charters"
    assert set(figures["rates"]) == set(figures["seconds"]) == {small, large}
    assert all(rate > 0 for rate in figures["rates"].values())
    ratio = report["ratios"]["planning_growth_10x"]
    assert ratio == pytest.approx(figures["seconds"][large] / figures["seconds"][small])
    assert figures["cases"] == 200 and figures["rounds"] == 2
    assert [(size["cases"], size["charters"]) for size in figures["sizes"]] == [(200, 10), (2000, 100)]
    for size in figures["sizes"]:
        # Every family is either proposed or left out with a reason.
        assert size["proposed"] + sum(size["left_out"].values()) == size["cases"]
        assert 0 < size["proposed"] < size["cases"]


def test_the_large_operation_is_the_small_one_ten_times_over() -> None:
    small, large = bench_planning.operation(300, 10), bench_planning.operation(3000, 100)
    assert len(large.cases) == 10 * len(small.cases) and len(large.charters) == 10 * len(small.charters)
    # The same flying days and aircraft, ten flights a day instead of one: as many seats per family.
    assert sorted({c.departs_on for c in large.charters}) == sorted(c.departs_on for c in small.charters)
    assert sum(c.seats for c in large.charters) == 10 * sum(c.seats for c in small.charters)
    assert bench_planning.operation(300, 10) == small  # made up from a fixed seed


def test_a_size_from_the_environment_must_be_a_positive_whole_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREDEPARTURE_BENCH_PLANNING_CASES", "0")
    with pytest.raises(bench.BenchFailed, match="PREDEPARTURE_BENCH_PLANNING_CASES"):
        bench_planning._whole_number("PREDEPARTURE_BENCH_PLANNING_CASES", 2000)
    monkeypatch.setenv("PREDEPARTURE_BENCH_PLANNING_CASES", "1500")
    assert bench_planning._whole_number("PREDEPARTURE_BENCH_PLANNING_CASES", 2000) == 1500
