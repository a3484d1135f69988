"""`predeparture bench`: the departures section run small, and the simulator settings it relies on.

No timing is asserted: how fast is the benchmark's question, not the tests'. What is asserted is what a reader
of the report relies on: every family departed, both rates and the ratio are there, and the bare workflow ran as
many activities as a departure did."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import typer
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent, MarkerRecordedEventAttributes
from typer.testing import CliRunner

from domain.partner_messages import FlightRequest, SeatRequest, TravellerRef
from partners.errors import PartnerRejected
from partners.simulators import SimulatedClinician, SimulatedOrientationPartner, SimulatedTravelPartner
from predeparture import bench
from predeparture.settings import SimulatorSettings

ROOT = Path(__file__).resolve().parents[1]
BOOKED_AT = datetime(2026, 5, 4, 10, 17, 23, 400_000, tzinfo=UTC)


def test_the_departures_section_prints_one_json_object_with_its_ratio() -> None:
    # A real process, so the dev server's own start-up output would show if it leaked onto stdout.
    command = [sys.executable, "-m", "predeparture.bench", "--cases", "3", "--json", "--only", "departures"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert set(report) == {"sections", "ratios"}
    ratio = report["ratios"]["departure_vs_bare_temporal"]
    assert isinstance(ratio, float) and ratio > 0
    figures = report["sections"]["departures"]
    assert figures["cases"] == 3 and figures["departed"] == 3
    assert figures["rates"]["departures"] > 0 and figures["rates"]["bare_temporal"] > 0
    assert ratio == pytest.approx(figures["rates"]["departures"] / figures["rates"]["bare_temporal"])
    assert figures["targets"] == {"departure_vs_bare_temporal": 0.8}
    # A family of three: permit, three travel documents, three exams, orientation, flight, three fitness checks.
    assert figures["activities_per_departure"] > 10
    low, high = figures["activities_per_departure_range"]
    assert low <= figures["bare_activities_per_case"] <= high
    assert sum(figures["bare_batches"]) == figures["bare_activities_per_case"]
    assert figures["updates_per_departure"] == 6  # an exam result and a fitness check per traveller


def test_an_unknown_section_is_refused_with_the_names_there_are() -> None:
    app = typer.Typer()
    app.command()(bench.bench_command)
    result = CliRunner().invoke(app, ["--only", "no-such-section"])
    assert result.exit_code == 2
    assert "no-such-section" in result.output and "departures" in result.output


def test_a_section_registers_under_its_name_and_its_ratios_reach_the_report() -> None:
    async def tiny(context: bench.BenchContext) -> bench.SectionResult:
        return {"cases": context.cases, "rates": {"tiny": 2.0, "base": 4.0}, "ratios": {"tiny_vs_base": 0.5}}

    bench.bench_section("tiny", "A tiny section", targets={"tiny_vs_base": 0.4})(tiny)
    try:
        report = asyncio.run(bench.run_sections(cases=5, only="tiny"))
    finally:
        del bench.SECTIONS["tiny"]
    assert report == {
        "sections": {"tiny": {"cases": 5, "rates": {"tiny": 2.0, "base": 4.0}, "targets": {"tiny_vs_base": 0.4}}},
        "ratios": {"tiny_vs_base": 0.5},
    }


def test_bench_families_clear_every_medical_check_at_the_first_attempt() -> None:
    clinician = SimulatedClinician(bench.BENCH_SEED)
    today = date(2026, 5, 4)
    for _ in range(20):
        family = bench.bench_family(clinician, today)
        assert len(family.people) == bench.PEOPLE_PER_CASE and all(p.passport is None for p in family.people)
        for person in family.people:
            assessment = clinician.assessment(person.person_id, today)
            assert assessment.cleared and not assessment.needs_screening
            assert clinician.fitness(person.person_id, BOOKED_AT).fit


def flight_request(requested_at: datetime) -> FlightRequest:
    traveller = TravellerRef(person_id="per_1", given_name="Test", family_name="Traveller",
                             date_of_birth=date(1990, 1, 1), nationality="SYR")
    return FlightRequest(case_id="case_1", travellers=[traveller], destination_country="CA",
                         destination_city="Toronto", earliest=requested_at.date(), requested_at=requested_at)


async def test_with_an_exact_lead_a_flight_leaves_that_lead_after_booking_to_the_second() -> None:
    lead = timedelta(seconds=7)
    quiet = SimulatorSettings(latency_ms=0, transient_failure_rate=0, no_seats_rate=0, flight_spread_days=0,
                              flight_min_lead=lead)
    exact = SimulatedTravelPartner(quiet.model_copy(update={"flight_exact_lead": True}))
    for n in range(10):
        booking = await exact.book_flight(flight_request(BOOKED_AT), f"case_{n}-flight-1")
        assert booking.departs_at == (BOOKED_AT + lead).replace(microsecond=0)
    usual = SimulatedTravelPartner(quiet)
    booking = await usual.book_flight(flight_request(BOOKED_AT), "case_1-flight-1")
    assert booking.departs_at.second == 0 and booking.departs_at >= BOOKED_AT + lead  # the minute grid, as before


async def test_an_orientation_class_holds_the_seats_the_settings_give_it() -> None:
    def request(seats: int) -> SeatRequest:
        return SeatRequest(case_id="case_1", language="fa", seats=seats, not_before=BOOKED_AT)

    small = SimulatedOrientationPartner(SimulatorSettings(latency_ms=0, transient_failure_rate=0,
                                                          orientation_session_seats=4))
    first = await small.reserve_seat(request(3), "case_1-orientation-1")
    second = await small.reserve_seat(request(3), "case_2-orientation-1")
    assert second.starts_at > first.starts_at  # the first class had one seat left
    with pytest.raises(PartnerRejected) as rejected:
        await small.reserve_seat(request(5), "case_3-orientation-1")
    assert rejected.value.code == "family_too_large"
    default = SimulatedOrientationPartner(SimulatorSettings(latency_ms=0, transient_failure_rate=0))
    assert (await default.reserve_seat(request(25), "case_4-orientation-1")).seats == 25


def event(kind: EventType, **attributes: object) -> HistoryEvent:
    return HistoryEvent(event_type=kind, **attributes)  # type: ignore[arg-type]


def test_a_departures_shape_counts_local_activities_and_updates_per_workflow_task() -> None:
    marker = MarkerRecordedEventAttributes
    history = [
        event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        event(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        event(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        event(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        event(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        event(EventType.EVENT_TYPE_TIMER_STARTED),
        event(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        event(EventType.EVENT_TYPE_MARKER_RECORDED,
              marker_recorded_event_attributes=marker(marker_name="core_local_activity")),
        event(EventType.EVENT_TYPE_MARKER_RECORDED, marker_recorded_event_attributes=marker(marker_name="core_patch")),
        event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
        event(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
    ]
    shape = bench.shape_of(history)
    assert shape.batches == [2, 2] and shape.activities == 4 and shape.updates == 1
    assert bench.representative([bench.Shape([1, 1], 0), shape, bench.Shape([5, 5], 0)]) is shape
