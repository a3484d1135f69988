"""`predeparture bench --only api`, run small, and the pieces its report rests on.

No timing is asserted: how fast is the benchmark's question, not the tests'. What is asserted is what a reader of
the report relies on: every request was answered 200, each measurement holds the requests it was asked for, its
percentiles are in order, and the ratio's target reads as the ceiling it is."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from predeparture import bench, bench_api

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"PREDEPARTURE_BENCH_API_CLIENTS": "10", "PREDEPARTURE_BENCH_API_REQUESTS": "100",
         "PREDEPARTURE_BENCH_API_FAMILIES": "5"}


def test_the_api_section_reports_latencies_against_the_bare_route_in_one_json_object() -> None:
    # A real process, so anything the servers or the dev server print would show up on stdout and break the JSON.
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("PREDEPARTURE_BENCH_API_")} | SMALL
    command = [sys.executable, "-m", "predeparture.bench", "--only", "api", "--json"]
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert set(report) == {"sections", "ratios"} and set(report["sections"]) == {"api"}
    ratio = report["ratios"]["timeline_p99_vs_bare_route"]
    assert isinstance(ratio, float) and ratio > 0
    figures = report["sections"]["api"]
    assert figures["targets"] == {"timeline_p99_vs_bare_route": {"at_most": 3.0}}
    assert ratio == pytest.approx(figures["timeline_p99_ms"] / figures["bare_route_p99_ms"])
    for measured in ("timeline", "bare_route", "submission"):
        assert 0 < figures[f"{measured}_p50_ms"] <= figures[f"{measured}_p99_ms"]
    assert figures["clients"] == 10 and figures["cases"] == 5 and figures["requests_per_measurement"] == 100
    # Every request answered 200: a family of three makes three submissions, each applied by its departure.
    assert figures["answers"] == {"timeline": {"200": 100}, "bare_route": {"200": 100}, "submissions": {"200": 15}}
    assert figures["submissions"] == 15
    assert all(rate > 0 for rate in figures["rates"].values())
    assert set(figures["rates"]) == {"timeline_reads", "bare_route", "submissions"}
    assert figures["submission_p99_vs_bare_route"] == pytest.approx(
        figures["submission_p99_ms"] / figures["bare_route_p99_ms"])


def test_a_ceiling_is_met_at_or_below_it_and_a_floor_at_or_above_it() -> None:
    ceiling, floor = bench.Target(at_most=3.0), bench.Target(at_least=0.8)
    assert ceiling.met(3.0) and ceiling.met(1.2) and not ceiling.met(3.01)
    assert floor.met(0.8) and floor.met(2.0) and not floor.met(0.79)
    # A floor keeps the bare number reports have always carried; a ceiling says what it is.
    assert floor.as_json() == 0.8 and ceiling.as_json() == {"at_most": 3.0}
    with pytest.raises(ValueError):
        bench.Target()
    with pytest.raises(ValueError):
        bench.Target(at_least=1.0, at_most=2.0)


@pytest.mark.parametrize(("value", "verdict"), [(2.5, "<= 3.00 met"), (4.5, "<= 3.00 missed")])
def test_the_table_judges_a_latency_ratio_against_its_ceiling(value: float, verdict: str) -> None:
    report = {"sections": {"api": {"cases": 5, "rates": {"timeline_reads": 10.0}, "timeline_p99_ms": 1.5}},
              "ratios": {"timeline_p99_vs_bare_route": value}}
    out = io.StringIO()
    bench.render(report, Console(file=out, width=200, color_system=None))
    table = out.getvalue()
    assert verdict in table
    assert "timeline_reads, requests/s" in table  # the section's own unit, not cases/s


def test_a_number_given_as_a_target_is_still_a_floor() -> None:
    async def tiny(context: bench.BenchContext) -> bench.SectionResult:
        return {"cases": context.cases, "rates": {"tiny": 1.0}, "ratios": {"tiny_vs_base": 0.5}}

    bench.bench_section("tiny", "A tiny section", targets={"tiny_vs_base": 0.4})(tiny)
    try:
        assert bench.SECTIONS["tiny"].targets == {"tiny_vs_base": bench.Target(at_least=0.4)}
        assert bench.SECTIONS["tiny"].rate_unit == "cases/s"
    finally:
        del bench.SECTIONS["tiny"]
    assert bench.SECTIONS["api"].targets == {"timeline_p99_vs_bare_route": bench.Target(at_most=3.0)}


def test_percentiles_are_nearest_rank_so_p99_of_a_hundred_is_the_second_slowest() -> None:
    measured = bench_api.Measurement(seconds=[n / 1000 for n in range(1, 101)])
    assert measured.ms(50) == pytest.approx(50.0)
    assert measured.ms(99) == pytest.approx(99.0)
    assert bench_api.Measurement(seconds=[0.004]).ms(99) == pytest.approx(4.0)


async def test_alternating_rounds_send_each_request_once_and_flip_the_order_every_round() -> None:
    sent: list[tuple[str, int]] = []

    def load(name: str, status: int = 200) -> bench_api.Load:
        async def send(http: httpx.AsyncClient, index: int) -> httpx.Response:
            sent.append((name, index))
            await asyncio.sleep(0)
            return httpx.Response(status)

        return bench_api.Load(send, [httpx.AsyncClient() for _ in range(4)])

    size = bench_api.ApiBenchSize(clients=4, requests=30, families=1)
    first, second = await bench_api.alternating(load("first"), load("second", status=503), size)
    assert size.rounds == 7  # no round smaller than the callers
    assert sorted(index for name, index in sent if name == "first") == list(range(30))
    assert sorted(index for name, index in sent if name == "second") == list(range(30))
    # Rounds of 4 or 5 requests (30 over 7): the first round goes first, then second; the next, the other way.
    assert sent.index(("first", 0)) < sent.index(("second", 0))
    assert sent.index(("second", 4)) < sent.index(("first", 4))
    assert sent.index(("first", 8)) < sent.index(("second", 8))
    assert len(first.seconds) == 30 and first.answers == {200: 30}
    with pytest.raises(bench.BenchFailed, match="30 of 30 requests were not answered 200"):
        bench_api.refuse_failures("second", second)


def test_a_size_from_the_environment_must_be_a_positive_whole_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREDEPARTURE_BENCH_API_CLIENTS", "7")
    monkeypatch.delenv("PREDEPARTURE_BENCH_API_REQUESTS", raising=False)
    assert bench_api.ApiBenchSize.from_environment() == bench_api.ApiBenchSize(clients=7, requests=2000,
                                                                                families=100)
    monkeypatch.setenv("PREDEPARTURE_BENCH_API_FAMILIES", "0")
    with pytest.raises(bench.BenchFailed, match="PREDEPARTURE_BENCH_API_FAMILIES"):
        bench_api.ApiBenchSize.from_environment()
