"""What a chaos run leaves to judge, and the report made of it: the checks run over the store, the partners' books,
the receiver's inbox and the histories, and the figures of what the chaos did."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from domain.case import Case
from domain.departure import DepartureState
from domain.documents import movement_id
from predeparture import chaos_checks as checks
from predeparture import chaos_trail_checks as trail
from predeparture.chaos_actors import Watch
from predeparture.chaos_coordinator import Coordinator
from predeparture.chaos_monkey import Monkey
from predeparture.chaos_processes import WorkerProcess
from predeparture.chaos_report import ChaosReport
from predeparture.chaos_services import LATENCY, PartnerService, Receiver
from predeparture.settings import SimulatorSettings
from store.documents import DocumentArchive
from store.repository import Store
from store.webhooks import SecretSealer, WebhookStore

if TYPE_CHECKING:
    from predeparture.chaos import ChaosOptions


@dataclass
class Played:
    families: list[Case]
    results: dict[str, DepartureState | None]
    watch: Watch
    coordinator: Coordinator
    monkey: Monkey
    planned: Counter[str]
    timed_out: bool
    histories: list[WorkflowHistory]
    converter: DataConverter


async def build_report(options: ChaosOptions, store: Store, sealer: SecretSealer, partners: PartnerService,
                  receiver: Receiver, run: Played, stats: dict[str, Any], simulator: SimulatorSettings,
                  worker: WorkerProcess, wall: float) -> ChaosReport:
    records = [await checks.read_case(store, family, run.results[family.case_id]) for family in run.families]
    for record in records:
        record.stuck = record.case_id in run.watch.stuck
    archive = DocumentArchive(store)
    documents = {r.case_id: await archive.for_case(r.case_id) for r in records}
    audit_keys = {event.event_key for event in await store.audit_events()}
    movements = {movement_id(b.booking.flight_number, b.booking.departs_at.date()) for r in records for b in r.bookings}
    expected = await checks.expected_phases(records, run.coordinator.cancellations,
                                            checks.PartnerVerdicts(simulator))
    done = Counter(kind for kind, _ in run.monkey.done)
    results = [
        checks.check_terminal_states(records, expected),
        checks.check_bookings(records, partners.partners.by_role["travel"]),
        checks.check_medical_results(records, run.watch.accepted),
        await trail.check_manifests(store, WebhookStore(store, sealer), movements, run.coordinator.flights,
                                     receiver.manifests, audit_keys),
        trail.check_flights_closed(run.coordinator.flights),
        trail.check_audit(records, documents, audit_keys),
        await trail.check_replay(run.histories, run.converter),
        trail.check_disruptions(run.planned, done, worker.unexpected_exits),
    ]
    injected: Counter[str] = Counter()
    for name, count in stats["injected"].items():
        injected[name.rsplit(".", 1)[1]] += count
    # Refused calls never reach the partner's routes, which count the rest (cut ones included).
    calls = sum(stats["calls"].values()) + injected["error"]
    failed = injected["error"] + injected["dropped"]
    report = ChaosReport(
        departures=len(run.families), wall_seconds=wall,
        phases=dict(Counter(r.result.phase.value for r in records if r.result is not None)),
        chaos={
            "worker_kills": done["worker_kill"], "server_restarts": done["server_restart"],
            "unexpected_worker_exits": worker.unexpected_exits,
            "disrupted_at_progress": [f"{kind.replace('_', ' ')} {100 * at:.0f}%" for kind, at in run.monkey.done],
            "cancellations": {outcome or "not sent": n for outcome, n in Counter(
                p.outcome for p in run.coordinator.cancellations.values()).items()},
            "medical_results_accepted": len(run.watch.accepted),
        },
        partners={
            "partner_calls": calls,
            "partner_calls_failed": f"{failed} ({100 * failed / max(calls, 1):.0f}%: {injected['error']} refused "
                                    f"before acting, {injected['dropped']} answers lost after)",
            "partner_latency": LATENCY,
            "partner_side_effects": stats["side_effects"],
        },
        checks=results,
    )
    if run.timed_out:
        report.notes.append(f"stopped waiting after {options.timeout:.0f} s")
    return report
