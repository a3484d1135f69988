"""What must hold after the chaos: each check reads what the departures left behind (their results, the store, the
partners' own books, the receiver's inbox) and says how many cases pass, naming by opaque id those that do not."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.audit import AuditEvent
from domain.case import Case
from domain.departure import BookingRecord, BookingStatus, DepartureState, Phase
from domain.medical import MedicalFile
from domain.partner_messages import DecisionStatus
from domain.steps import Step, StepRecord, StepState
from partners.errors import PartnerRejected
from partners.simulators import SimulatedExitPermitAuthority, SimulatedTravelDocumentIssuer, SimulatedTravelPartner
from predeparture.chaos_actors import AcceptedResult
from predeparture.chaos_coordinator import Cancellation
from predeparture.settings import SimulatorSettings
from store.repository import Store

PROBLEMS_SHOWN = 12
ENDING_ACTION = {Phase.DEPARTED: "departure.departed", Phase.REFUSED: "departure.refused",
                 Phase.CANCELLED: "departure.cancelled"}


@dataclass
class Check:
    name: str
    figure: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "passed": self.passed, "figure": self.figure,
                "problems": self.problems[:PROBLEMS_SHOWN], "problem_count": len(self.problems)}


@dataclass
class CaseRecord:
    """One case as the run left it."""

    case: Case
    result: DepartureState | None  # the workflow's result; None if it never ended
    steps: list[StepRecord]
    bookings: list[BookingRecord]
    medical: list[MedicalFile]
    stored_phase: Phase | None
    audit: list[AuditEvent]
    stored_reason: str | None = None
    stuck: bool = False  # its workflow task kept failing

    @property
    def case_id(self) -> str:
        return self.case.case_id


async def read_case(store: Store, case: Case, result: DepartureState | None) -> CaseRecord:
    stored = await store.departure_phase(case.case_id)
    return CaseRecord(case, result, await store.step_records(case.case_id), await store.bookings(case.case_id),
                      await store.medical_files(case.case_id), stored[0] if stored else None,
                      await store.audit_events(case.case_id), stored[1] if stored else None)


# -- departures in a correct terminal state ------------------------------------------------------------------------

class PartnerVerdicts:
    """What the authorities decided, asked again of fresh simulators with the run's seed: their decisions are drawn
    from the reference alone, so these say what the departure must have heard."""

    def __init__(self, simulator: SimulatorSettings) -> None:
        quiet = simulator.model_copy(update={"latency_ms": 0.0, "transient_failure_rate": 0.0})
        self._permits = SimulatedExitPermitAuthority(quiet)
        self._documents = SimulatedTravelDocumentIssuer(quiet)

    async def refused(self, steps: list[StepRecord]) -> bool:
        later = datetime.now(UTC) + timedelta(days=1)
        for record in steps:
            if record.reference is None or record.step not in (Step.EXIT_PERMIT, Step.TRAVEL_DOCUMENT):
                continue
            try:
                if record.step is Step.EXIT_PERMIT:
                    decision = await self._permits.exit_permit_status(record.reference, later)
                else:
                    decision = await self._documents.travel_document_status(record.reference, later)
            except PartnerRejected:
                continue  # not a reference of theirs: an existing passport
            if decision.status is DecisionStatus.REFUSED:
                return True
        return False


async def expected_phases(records: list[CaseRecord], cancellations: dict[str, Cancellation],
                          verdicts: PartnerVerdicts) -> dict[str, set[Phase]]:
    """Cancelled when the coordinator's cancellation was taken; refused when an authority said no; else departed.
    A cancellation whose answer was lost as the departure ended may have been taken or not: either is right."""
    expected: dict[str, set[Phase]] = {}
    for record in records:
        natural = Phase.REFUSED if await verdicts.refused(record.steps) else Phase.DEPARTED
        plan = cancellations.get(record.case_id)
        outcome = plan.outcome if plan else None
        expected[record.case_id] = ({Phase.CANCELLED} if outcome == "accepted"
                                    else {Phase.CANCELLED, natural} if outcome == "closed" else {natural})
    return expected


def check_terminal_states(records: list[CaseRecord], expected: dict[str, set[Phase]]) -> Check:
    problems = []
    for r in records:
        if r.result is None:
            where = f"{r.stored_phase.value}: {(r.stored_reason or '')[:100]}" if r.stored_phase else "not started"
            why = "stuck, its workflow task keeps failing; " if r.stuck else ""
            problems.append(f"{r.case_id}: did not end ({why}store: {where})")
            continue
        phase = r.result.phase
        if phase not in expected[r.case_id]:
            wanted = "/".join(sorted(p.value for p in expected[r.case_id]))
            problems.append(f"{r.case_id}: {phase.value}, expected {wanted}")
        if r.stored_phase is not phase:
            stored = r.stored_phase.value if r.stored_phase else "nothing"
            problems.append(f"{r.case_id}: the store says {stored}, the workflow {phase.value}")
        problems += _steps_agree(r)
        if phase is Phase.DEPARTED and not _step_done(r, Step.DEPARTURE):
            problems.append(f"{r.case_id}: departed without its departure step done in the store")
        if phase is Phase.REFUSED and not any(s.state is StepState.REFUSED for s in r.steps):
            problems.append(f"{r.case_id}: refused without a refused step in the store")
    phases = Counter(r.result.phase.value for r in records if r.result is not None)
    good = len(records) - len({p.split(":")[0] for p in problems})
    figure = f"{good} of {len(records)} (" + ", ".join(f"{phases[p.value]} {p.value}" for p in ENDING_ACTION) + ")"
    return Check("departures in a correct terminal state", figure, problems)


def _steps_agree(r: CaseRecord) -> list[str]:
    """The store holds each step as the departure last saw it."""
    assert r.result is not None
    stored = {s.key: s for s in r.steps}
    problems = []
    for key, step in r.result.steps.items():
        kept = stored.get(key)
        if kept is None or (kept.state, kept.attempt) != (step.state, step.attempt):
            seen = f"{kept.state.value} attempt {kept.attempt}" if kept else "nothing"
            problems.append(f"{r.case_id}: step {key.split(':')[0]} is {step.state.value} attempt {step.attempt}, "
                            f"the store holds {seen}")
    return problems


def _step_done(r: CaseRecord, step: Step) -> bool:
    return any(s.step is step and s.state is StepState.DONE for s in r.steps)


# -- exactly one booking per traveller ----------------------------------------------------------------------------

def check_bookings(records: list[CaseRecord], travel: SimulatedTravelPartner) -> Check:
    """At the travel partner, the bookings made and not cancelled; in the store, the rows still booked."""
    by_case: dict[str, list[str]] = defaultdict(list)
    for key in travel.bookings:
        by_case[key.rsplit("-flight-", 1)[0]].append(key)
    problems, seats = [], 0
    for r in records:
        live = [travel.bookings[k] for k in by_case[r.case_id] if k not in travel.cancelled_keys]
        booked = [b for b in r.bookings if b.status is BookingStatus.BOOKED]
        departed = r.result is not None and r.result.phase is Phase.DEPARTED
        want = 1 if departed else 0
        if len(live) != want or len(booked) != want:
            problems.append(f"{r.case_id}: {len(live)} live booking(s) at the partner, {len(booked)} in the store, "
                            f"expected {want}")
            continue
        if departed:
            if live[0].booking_ref != booked[0].booking.booking_ref:
                problems.append(f"{r.case_id}: the store's booking is not the one the partner holds")
            if live[0].seats != len(r.case.people):
                problems.append(f"{r.case_id}: {live[0].seats} seats for {len(r.case.people)} travellers")
            seats += live[0].seats
    made = sum(len(keys) for case_id, keys in by_case.items() if case_id in {r.case_id for r in records})
    cancelled = sum(1 for k in travel.cancelled_keys if k.rsplit("-flight-", 1)[0] in {r.case_id for r in records})
    figure = (f"{len(records) - len(problems)} of {len(records)}: {made} made, {cancelled} given back, "
              f"{seats} travellers seated once")
    return Check("exactly one booking per traveller", figure, problems)


# -- no lost medical result ---------------------------------------------------------------------------------------

def check_medical_results(records: list[CaseRecord], accepted: list[AcceptedResult]) -> Check:
    """Every result the departure accepted is in its audit trail, and the last one of each kind per traveller is
    the one the store holds."""
    by_case = {r.case_id: r for r in records}
    latest: dict[tuple[str, str, str], AcceptedResult] = {}
    problems = []
    for item in accepted:
        latest[(item.case_id, item.result.person_id, item.kind)] = item
        events = by_case[item.case_id].audit
        if not any(e.action == f"medical.{item.kind}_submitted" and e.detail.get("step") == item.step_key
                   and e.detail.get("attempt") == str(item.attempt) for e in events):
            problems.append(f"{item.case_id}: accepted {item.kind} of {item.result.person_id} "
                            f"(attempt {item.attempt}) is not in the audit log")
    for (case_id, person_id, kind), item in latest.items():
        files = {f.person_id: f for f in by_case[case_id].medical}
        kept = getattr(files.get(person_id), kind, None)
        if kept != item.result:
            problems.append(f"{case_id}: the {kind} of {person_id} the departure accepted is "
                            f"{'not in the store' if kept is None else 'not the one the store holds'}")
    figure = f"{len(accepted)} accepted, {len(accepted) - len(problems)} found ({len(latest)} current per traveller)"
    return Check("no lost medical result", figure, problems)
