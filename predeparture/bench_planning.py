"""Section `planning` of `predeparture bench`: how the charter proposal grows with the operation.

An operation the size of Canada's 2015-16 one, 2,000 ready cases over 10 charters, and one ten times larger,
20,000 over 100, both made up from a fixed seed: families of one to nine, mostly of priority 3, waiting up to
400 days, every member with an exam, a travel document and the case's exit permit (some with an orientation),
a few deferred, bound elsewhere or booked already; charters of 248-416 seats on ten weekly flying days from twelve
days out (one a day, or ten), notice counted on Canada's winter holidays.

Only `propose` is timed, in processor time of its thread (planning is pure computation, so what its thread ran is
what it cost, whatever else the machine runs), with garbage collection off as `timeit` does. The two sizes go in
alternating rounds, and each size's best sample is reported.

The planner's work grows as the cases do (its instruction count grows 10.2 times, counted under cachegrind); its
time grows more, as 20,000 cases' objects (38 MB) outgrow a processor's last-level cache where 2,000 (4 MB) fit.

`ratios.planning_growth_10x` is the large proposal's time over the small one's: a linear planner gives 10, one
that compares every case with every charter 100. The target is at most 12.

The size comes from the environment (the defaults are the full run; tests/test_bench_planning.py runs it small):
  PREDEPARTURE_BENCH_PLANNING_CASES   ready cases of the small operation; the large one has ten times  (2000)
  PREDEPARTURE_BENCH_PLANNING_ROUNDS  samples of each size, the best one kept                         (15)"""

from __future__ import annotations

import gc
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from domain.calendar import add_months
from domain.planning import Charter, MemberWindow, NoticeRules, Proposal, ReadyCase, propose
from domain.steps import Step
from predeparture.bench import BenchContext, BenchFailed, SectionResult, Target, bench_section

PLANNING_SEED = 2015
TODAY = date(2015, 11, 23)
CANADA_HOLIDAYS = [date(2015, 12, 25), date(2015, 12, 28), date(2016, 1, 1), date(2016, 2, 15)]
SMALL_CASES = 2_000
SMALL_CHARTERS = 10
GROWTH = 10  # the large operation is ten times the small one
ROUNDS = 15
GROWTH_TARGET = 12.0
FAMILY_SIZES = {1: 10, 2: 12, 3: 15, 4: 18, 5: 17, 6: 12, 7: 8, 8: 5, 9: 3}
PRIORITIES = {1: 5, 2: 10, 3: 60, 4: 15, 5: 10}
AIRCRAFT_SEATS = (248, 296, 355, 416)
FIRST_FLIGHT_IN = 12  # days: the first charter is too soon for ten working days' notice
FLYING_DAYS = 10  # one a week


@dataclass(frozen=True)
class Operation:
    charters: list[Charter]
    cases: list[ReadyCase]

    @property
    def label(self) -> str:
        return f"{len(self.cases)}_cases_{len(self.charters)}_charters"


def _weighted(rng: random.Random, weights: dict[int, int]) -> int:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _family(rng: random.Random, number: int) -> ReadyCase:
    case_id = f"case_{number:06d}"
    size = _weighted(rng, FAMILY_SIZES)
    permit_from = TODAY - timedelta(days=rng.randrange(200))
    windows = [MemberWindow(step=Step.EXIT_PERMIT, valid_from=permit_from,
                            valid_until=permit_from + timedelta(days=rng.randrange(180, 366)))]
    for member in range(size):
        person_id = f"per_{number:06d}_{member}"
        issued = TODAY - timedelta(days=rng.randrange(120))
        examined = TODAY - timedelta(days=rng.randrange(170))
        windows.append(MemberWindow(step=Step.TRAVEL_DOCUMENT, person_id=person_id, valid_from=issued,
                                    valid_until=issued + timedelta(days=365)))
        windows.append(MemberWindow(step=Step.HEALTH_ASSESSMENT, person_id=person_id, valid_from=examined,
                                    valid_until=add_months(examined, 6)))
    if rng.random() < 0.3:
        attended = TODAY - timedelta(days=rng.randrange(20))
        windows.append(MemberWindow(step=Step.ORIENTATION, valid_from=attended,
                                    valid_until=attended + timedelta(days=30)))
    return ReadyCase(
        case_id=case_id, seats=size, priority=_weighted(rng, PRIORITIES),
        ready_since=TODAY - timedelta(days=rng.randrange(1, 400)),
        destination_country="CA" if rng.random() < 0.97 else "US", receiving_organisation="org_reception_ca",
        windows=windows, not_before=TODAY + timedelta(days=rng.randrange(20, 90)) if rng.random() < 0.05 else None,
        booked_on="mov_scheduled_flight" if rng.random() < 0.02 else None)


def operation(cases: int, charters: int, seed: int = PLANNING_SEED) -> Operation:
    """The same operation at any size: weekly flying days over the same season, more flights on each, aircraft in
    the same mix, families drawn alike; so ten times the families meet ten times the seats on the same dates, about
    the same share of them is left out for each reason, and the work per family is alike."""
    flights = []
    for number in range(charters):
        flying_day = number * FLYING_DAYS // charters
        departs = TODAY + timedelta(days=FIRST_FLIGHT_IN + 7 * flying_day)
        flights.append(Charter(flight_number=f"RF{number:04d}", departs_on=departs,
                               arrives_on=departs + timedelta(days=1), destination_country="CA",
                               seats=AIRCRAFT_SEATS[flying_day % len(AIRCRAFT_SEATS)]))
    # Each family from its own seed: the small operation's families are the large one's first tenth.
    return Operation(flights, [_family(random.Random(f"{seed}:{number}"), number) for number in range(cases)])


def timed_proposal(plan: Operation, rules: NoticeRules) -> tuple[float, Proposal]:
    gc.collect()
    gc.disable()
    try:
        started = time.thread_time()
        proposal = propose(plan.charters, plan.cases, TODAY, rules)
        return time.thread_time() - started, proposal
    finally:
        gc.enable()


def figures(small: Operation, large: Operation, best: dict[str, float], proposals: dict[str, Proposal],
            rounds: int) -> SectionResult:
    sizes = []
    for plan in (small, large):
        proposal = proposals[plan.label]
        sizes.append({"cases": len(plan.cases), "charters": len(plan.charters), "seconds": best[plan.label],
                      "proposed": len(proposal.placement()),
                      "seats_proposed": sum(p.seats_proposed for p in proposal.charters),
                      "left_out": dict(sorted(Counter(item.reason.value for item in proposal.left_out).items()))})
    return {
        "cases": len(small.cases),
        "rounds": rounds,
        "rates": {plan.label: len(plan.cases) / best[plan.label] for plan in (small, large)},
        "seconds": best,
        "sizes": sizes,
        **{f"proposal_ms_{len(plan.cases)}_cases": best[plan.label] * 1000 for plan in (small, large)},
        **{f"proposed_of_{len(plan.cases)}": len(proposals[plan.label].placement()) for plan in (small, large)},
        "ratios": {"planning_growth_10x": best[large.label] / best[small.label]},
    }


def _whole_number(variable: str, default: int) -> int:
    text = os.environ.get(variable, str(default))
    if not text.isdigit() or int(text) < 1:
        raise BenchFailed(f"{variable} must be a whole number of at least 1, not {text!r}")
    return int(text)


@bench_section("planning", "Charter planning: 2,000 ready cases over 10 charters, and ten times that",
               targets={"planning_growth_10x": Target(at_most=GROWTH_TARGET)})
async def planning_section(context: BenchContext) -> SectionResult:
    cases = _whole_number("PREDEPARTURE_BENCH_PLANNING_CASES", SMALL_CASES)
    rounds = _whole_number("PREDEPARTURE_BENCH_PLANNING_ROUNDS", ROUNDS)
    context.progress.print(f"[dim]planning: making up {cases} and {GROWTH * cases} ready cases[/]")
    small, large = operation(cases, SMALL_CHARTERS), operation(GROWTH * cases, GROWTH * SMALL_CHARTERS)
    rules = NoticeRules(holidays={"CA": CANADA_HOLIDAYS})
    best = {small.label: float("inf"), large.label: float("inf")}
    proposals: dict[str, Proposal] = {}
    context.progress.print(f"[dim]planning: {rounds} rounds of both proposals[/]")
    for round_ in range(rounds):
        for plan in (small, large) if round_ % 2 == 0 else (large, small):
            seconds, proposals[plan.label] = timed_proposal(plan, rules)
            best[plan.label] = min(best[plan.label], seconds)
    return figures(small, large, best, proposals, rounds)
