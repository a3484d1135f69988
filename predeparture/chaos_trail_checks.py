"""The chaos run's checks on what the departures left for others to read: manifest versions and their deliveries,
closed flights, the audit log, histories that replay, and the chaos itself."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator

from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from domain.departure import BookingStatus, Phase
from domain.webhooks import DeliveryStatus, delivery_id
from predeparture.chaos_checks import ENDING_ACTION, CaseRecord, Check
from predeparture.chaos_coordinator import Flight
from predeparture.chaos_services import CountedManifests
from predeparture.worker import WORKFLOWS
from store.documents import DocumentArchive, StoredDocument
from store.repository import Store
from store.webhooks import WebhookStore

# -- no duplicate manifest version --------------------------------------------------------------------------------

async def check_manifests(store: Store, webhooks: WebhookStore, movements: set[str], flights: dict[str, Flight],
                          received: CountedManifests, audit_keys: set[str]) -> Check:
    """Per movement and reception team, versions 1..n, none a repeat of the one before; each version delivered
    once (one delivery id, kept once by the receiver however often it came) and the disclosure audited."""
    archive = DocumentArchive(store)
    problems: list[str] = []
    filed = delivered = 0
    kept = {r.delivery_id: r for r in received.listing()}
    for mid in sorted(movements):
        by_org: dict[str, list[StoredDocument]] = defaultdict(list)
        for document in await archive.manifests(mid):
            by_org[document.organisation_id or ""].append(document)
        deliveries = {d.delivery_id: d for d in await webhooks.deliveries(mid)}
        closed = mid in flights and flights[mid].closed
        for org, versions in by_org.items():
            numbers = [d.version for d in versions]
            filed += len(numbers)
            if numbers != list(range(1, len(numbers) + 1)):
                problems.append(f"{mid} for {org}: versions {numbers}")
            repeats = [b.version for a, b in zip(versions, versions[1:], strict=False)
                       if a.fingerprint == b.fingerprint]
            if repeats:
                problems.append(f"{mid} for {org}: version(s) {repeats} repeat the one before")
            for version in numbers:
                did = delivery_id(mid, org, version)
                delivery = deliveries.get(did)
                if delivery is not None and delivery.status is DeliveryStatus.ACKNOWLEDGED:
                    delivered += 1
                    if did not in kept:
                        problems.append(f"{mid} for {org}: v{version} acknowledged but never received")
                    if f"webhook:{did}" not in audit_keys:
                        problems.append(f"{mid} for {org}: v{version} delivered without its audit event")
                elif closed:
                    problems.append(f"{mid} for {org}: v{version} not delivered though the movement closed")
        strays = set(deliveries) - {delivery_id(mid, o, d.version) for o, docs in by_org.items() for d in docs}
        problems += [f"{mid}: a delivery of a version never filed ({did})" for did in sorted(strays)]
    per_version = Counter((r.movement_id, r.organisation_id, r.version) for r in kept.values())
    problems += [f"{m} for {o}: v{v} received under {n} delivery ids" for (m, o, v), n in per_version.items() if n > 1]
    copies = sum(received.copies.values())
    figure = (f"{filed} versions filed over {len(movements)} movements, {delivered} delivered; the receiver got "
              f"{copies} copies of {len(kept)} deliveries")
    return Check("no duplicate manifest version", figure, problems)


def check_flights_closed(flights: dict[str, Flight]) -> Check:
    problems = [f"{mid}: {'boarded' if f.boarded else 'not boarded'}, "
                f"{'arrival confirmed' if f.arrived else 'arrival not confirmed'}, still open"
                for mid, f in sorted(flights.items()) if not f.closed]
    return Check("flights closed", f"{len(flights) - len(problems)} of {len(flights)} (boarding recorded, arrival "
                 "confirmed, manifests delivered)", problems)


# -- a complete audit log -----------------------------------------------------------------------------------------

def check_audit(records: list[CaseRecord], documents: dict[str, list[StoredDocument]],
                all_keys: set[str]) -> Check:
    problems: list[str] = []
    total = 0
    for r in records:
        total += len(r.audit)
        problems += _audit_problems(r, documents.get(r.case_id, []), all_keys)
    good = len(records) - len({p.split(":")[0] for p in problems})
    return Check("complete audit log", f"{good} of {len(records)} departures ({total} events)", problems)


def _audit_problems(r: CaseRecord, documents: list[StoredDocument], all_keys: set[str]) -> list[str]:
    if r.result is None:
        return [f"{r.case_id}: no result to compare its audit trail with"]
    phase = r.result.phase
    mine = [e for e in r.audit if e.event_key.startswith(f"{r.case_id}:")]  # the departure numbers its own
    numbers = sorted(int(e.event_key.rsplit(":", 1)[1]) for e in mine)
    last = r.result.events_recorded
    problems = []
    if phase in (Phase.CANCELLED, Phase.REFUSED):
        # A cancellation or a refusal stops the steps under way: a save it interrupted before it ran is never
        # written (its number is spent), but the ending's own save holds every step's state.
        if last not in numbers or any(n > last for n in numbers):
            problems.append(f"{r.case_id}: {len(numbers)} events, the departure recorded {last}")
    elif numbers != list(range(1, last + 1)):
        missing = sorted(set(range(1, last + 1)) - set(numbers))
        problems.append(f"{r.case_id}: events {missing[:5]} of {last} missing")
    actions = Counter(e.action for e in mine)
    for action in ("departure.started", ENDING_ACTION[phase]):
        if actions[action] != 1:
            problems.append(f"{r.case_id}: {actions[action]} {action} event(s)")
    if phase is Phase.DEPARTED:
        audited = {(e.detail.get("step"), e.detail.get("state"), e.detail.get("attempt")) for e in mine}
        for step in r.steps:
            if (step.key, step.state.value, str(step.attempt)) not in audited:
                problems.append(f"{r.case_id}: no audit event for step {step.step.value} {step.state.value} "
                                f"attempt {step.attempt}")
    cancelled = sum(b.status is BookingStatus.CANCELLED for b in r.bookings)
    if actions["booking.cancelled"] < cancelled:
        problems.append(f"{r.case_id}: {cancelled} bookings given back, {actions['booking.cancelled']} audited")
    problems += [f"{r.case_id}: document {d.kind.value} v{d.version} filed without its audit event"
                 for d in documents if f"document.issued:{d.document_id}" not in all_keys]
    return problems


def check_disruptions(planned: Counter[str], done: Counter[str], unexpected_exits: int) -> Check:
    problems = [f"{kind}: {done[kind]} of {planned[kind]} done" for kind in planned if done[kind] != planned[kind]]
    if unexpected_exits:
        problems.append(f"the worker exited {unexpected_exits} time(s) without being killed")
    figure = (f"{done['worker_kill']} worker kills (SIGKILL), {done['server_restart']} server restarts, "
              f"{unexpected_exits} unexpected worker exits")
    return Check("chaos as planned", figure, problems)


async def check_replay(histories: list[WorkflowHistory], converter: DataConverter) -> Check:
    """Every departure's and closed movement's history, replayed from the start on this code, gives the same
    commands: what a worker started after a kill does with each of them."""
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter)
    problems = []

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    async with replayer.workflow_replay_iterator(each()) as results:
        async for result in results:
            if result.replay_failure is not None:
                problems.append(f"{result.history.workflow_id}: {str(result.replay_failure)[:300]}")
    return Check("histories replay", f"{len(histories) - len(problems)} of {len(histories)} workflows "
                 "replay deterministically", problems)
