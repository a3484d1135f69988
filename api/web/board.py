"""The coordinator's board: the office's cases as rows, the departure's steps as columns, each cell the state of
that step (for a step taken per traveller, the state that needs attention first, with how many are done), and per
case its blockers and next deadline. Filters and the reference search are a GET form, so a filtered board can be
bookmarked and shared by its URL (which carries no names: a reference, a country, a movement id)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.cases import repository
from api.cases.pagination import decode_cursor, encode_cursor
from api.cases.repository import BLOCKING_STATES, CaseFilter, HeldFlight, ListedCase
from api.cases.service import expiring_window, next_deadline
from api.context import ApiContext
from api.deps import Context
from api.principal import Principal, Role
from api.problems import ProblemError
from api.web.render import N_, page
from api.web.session import web_role
from domain.departure import Phase
from domain.steps import PER_PERSON_STEPS, Step, StepRecord, StepState

router = APIRouter()

Coordinator = Annotated[Principal, Depends(web_role(Role.COORDINATOR))]
PAGE_SIZE = 100
MAX_DAYS = 3650
COUNTRY = re.compile(r"[A-Za-z]{2}")
# Which traveller's state a cell shows when they differ: what needs someone's attention first.
ATTENTION = (StepState.REFUSED, StepState.BLOCKED, StepState.EXPIRED, StepState.REQUESTED, StepState.SCHEDULED,
             StepState.NOT_STARTED, StepState.DONE, StepState.CANCELLED, StepState.NOT_REQUIRED)

NOT_A_NUMBER = N_("Enter a whole number of days from 0 to 3650.")
NOT_A_COUNTRY = N_("Enter a two-letter country code, such as CA.")
TOO_LONG = N_("At most 40 characters.")
CURSOR_LOST = N_("That page of the board is no longer available; showing the first page.")


@dataclass(frozen=True)
class Cell:
    state: StepState | None  # None: the departure has not reached this step
    done: int = 0
    total: int = 0

    @property
    def per_traveller(self) -> bool:
        return self.total > 1


@dataclass(frozen=True)
class Blocker:
    step: Step
    reason: str | None


@dataclass(frozen=True)
class BoardRow:
    case_id: str
    reference: str
    destination_country: str
    destination_city: str
    travellers: int
    priority: int
    phase: Phase | None
    cells: dict[Step, Cell]
    blockers: list[Blocker]
    next_deadline: datetime | None
    flight: HeldFlight | None


@dataclass
class Filters:
    blocked: str = ""  # "", "yes", "no"
    expiring: str = ""  # days, as typed
    destination: str = ""
    movement: str = ""
    q: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def case_filter(self) -> CaseFilter:
        """Only the filters that are valid; an invalid one is reported next to its field and not applied."""
        days = None
        if self.expiring.strip():
            try:
                days = int(self.expiring.strip())
            except ValueError:
                days = None
            if days is None or not 0 <= days <= MAX_DAYS:
                self.errors["expiring"], days = NOT_A_NUMBER, None
        destination = self.destination.strip()
        if destination and not COUNTRY.fullmatch(destination):
            self.errors["destination"], destination = NOT_A_COUNTRY, ""
        search = self.q.strip()
        if len(search) > 40:
            self.errors["q"], search = TOO_LONG, ""
        return CaseFilter(blocked={"yes": True, "no": False}.get(self.blocked), expiring_by=expiring_window(days),
                          destination=destination.upper() or None, movement=self.movement.strip() or None,
                          reference=search or None)


def cell(records: list[StepRecord]) -> Cell:
    if not records:
        return Cell(None)
    states = {record.state for record in records}
    shown = next(state for state in ATTENTION if state in states)
    return Cell(shown, sum(1 for r in records if r.state is StepState.DONE), len(records))


def board_row(listed: ListedCase, flight: HeldFlight | None) -> BoardRow:
    by_step: dict[Step, list[StepRecord]] = {}
    for record in listed.steps:
        by_step.setdefault(record.step, []).append(record)
    row = listed.row
    return BoardRow(
        case_id=row.case_id, reference=row.reference, destination_country=row.destination_country,
        destination_city=row.destination_city, travellers=listed.travellers, priority=row.priority,
        phase=Phase(row.departure_phase) if row.departure_phase else None,
        cells={step: cell(by_step.get(step, [])) for step in Step},
        blockers=[Blocker(r.step, r.reason) for r in listed.steps if r.state in BLOCKING_STATES],
        next_deadline=next_deadline(listed.steps), flight=flight,
    )


async def board_rows(context: ApiContext, principal: Principal, where: CaseFilter, cursor: str | None
                     ) -> tuple[list[BoardRow], str | None]:
    """A page of the office's board and the cursor of the next page (None on the last)."""
    after = None
    if cursor:
        created, case_id = decode_cursor(cursor, (str, str))
        after = (datetime.fromisoformat(str(created)).astimezone(UTC), str(case_id))
    listed = await repository.office_cases(context, principal.org_id, where, after, PAGE_SIZE + 1)
    shown = listed[:PAGE_SIZE]
    flights = await repository.held_flights(context, principal.org_id, [item.row.case_id for item in shown])
    last = shown[-1].row if shown else None
    more = encode_cursor(last.created_at.isoformat(), last.case_id) if last and len(listed) > PAGE_SIZE else None
    return [board_row(item, flights.get(item.row.case_id)) for item in shown], more


def movement_choices(flights: Iterable[HeldFlight]) -> list[HeldFlight]:
    unique = {flight.movement_id: flight for flight in flights}
    return sorted(unique.values(), key=lambda flight: (flight.departs_at, flight.flight_number))


@router.get("/board")
async def board(request: Request, context: Context, principal: Coordinator, blocked: str = "",
                expiring: str = "", destination: str = "", movement: str = "", q: str = "",
                cursor: str = "") -> Response:
    filters = Filters(blocked=blocked if blocked in ("yes", "no") else "", expiring=expiring[:20],
                      destination=destination[:20], movement=movement[:64], q=q[:200])
    where = filters.case_filter()
    notice = None
    try:
        rows, more = await board_rows(context, principal, where, cursor or None)
    except (ProblemError, ValueError, OverflowError):  # a cursor we did not issue, or one edited by hand
        rows, more = await board_rows(context, principal, where, None)
        notice = CURSOR_LOST
    movements = movement_choices((await repository.held_flights(context, principal.org_id)).values())
    return page(request, "web/board.html", principal, status_code=422 if filters.errors else 200,
                rows=rows, steps=list(Step), per_person=PER_PERSON_STEPS, filters=filters, movements=movements,
                next_cursor=more, notice=notice, filtered=any((blocked, expiring, destination, movement, q)))
