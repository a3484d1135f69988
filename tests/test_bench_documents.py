"""`predeparture bench --only documents`, run small. No timing is asserted, only what a reader of the report relies
on: both ratios are there with their targets (a floor and a ceiling), and each agrees with the times it came from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from predeparture import bench, bench_documents

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"PREDEPARTURE_BENCH_DOCUMENTS_ROUNDS": "1", "PREDEPARTURE_BENCH_DOCUMENTS_PASSENGERS": "40"}


def test_the_documents_section_reports_both_ratios_in_one_json_object() -> None:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("PREDEPARTURE_BENCH_DOCUMENTS_")} | SMALL
    command = [sys.executable, "-m", "predeparture.bench", "--only", "documents", "--json"]
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert set(report) == {"sections", "ratios"} and set(report["sections"]) == {"documents"}
    figures = report["sections"]["documents"]
    assert figures["targets"] == {"pack_speedup_vs_bare": 3.0, "manifest_vs_bare": {"at_most": 1.1}}
    assert set(report["ratios"]) == {"pack_speedup_vs_bare", "manifest_vs_bare"}
    seconds = figures["seconds"]
    assert report["ratios"]["pack_speedup_vs_bare"] == pytest.approx(seconds["pack_bare"] / seconds["pack_ours"])
    assert report["ratios"]["manifest_vs_bare"] == pytest.approx(seconds["manifest_ours"] / seconds["manifest_bare"])
    assert figures["passengers"] == 40 and figures["rounds"] == 1 and figures["cases"] == 8
    assert figures["pack_parts"] == 8  # cover, five letters, checklist, orientation certificate
    assert set(figures["rates"]) == {"travel_packs", "bare_travel_packs", "manifests", "bare_manifests"}


def test_the_bench_pack_is_a_family_of_five_in_dari_and_english_and_the_manifest_families_of_five() -> None:
    pack = bench_documents.travel_pack()
    assert pack.header.languages == ["prs", "en"] and len(pack.content.travellers) == 5
    manifest = bench_documents.arrival_manifest(12)
    assert [p.case_reference for p in manifest.content.passengers].count("ISB-2026-0001") == 5


def test_a_size_from_the_environment_must_be_a_positive_whole_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREDEPARTURE_BENCH_DOCUMENTS_ROUNDS", "2")
    monkeypatch.delenv("PREDEPARTURE_BENCH_DOCUMENTS_PASSENGERS", raising=False)
    assert bench_documents.DocumentsBenchSize.from_environment() == bench_documents.DocumentsBenchSize(2, 500)
    monkeypatch.setenv("PREDEPARTURE_BENCH_DOCUMENTS_PASSENGERS", "0")
    with pytest.raises(bench.BenchFailed, match="PREDEPARTURE_BENCH_DOCUMENTS_PASSENGERS"):
        bench_documents.DocumentsBenchSize.from_environment()
