"""Coordinators' cases: create, replace, read, list, and the timeline of a case's departure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from pydantic import ValidationError

from api.audit import service as audit
from api.cases import repository
from api.cases.pagination import bad_cursor, decode_cursor, encode_cursor
from api.cases.repository import BLOCKING_STATES, CaseFilter, StoredCase
from api.cases.schemas import (
    BookingView,
    CaseCreate,
    CaseOut,
    CasePage,
    CaseSummary,
    CaseUpdate,
    DestinationOut,
    PersonIn,
    PersonOut,
    StepView,
    Timeline,
)
from api.context import ApiContext
from api.principal import Principal
from api.problems import FieldError, ProblemError
from domain.case import Case, Destination, Passport, Person, new_opaque_id
from domain.departure import TERMINAL_PHASES, Phase
from domain.steps import Step, StepRecord, StepState
from store.models import BookingRow

WAITING_STATES = (StepState.REQUESTED, StepState.SCHEDULED, StepState.BLOCKED)
STEP_ORDER = {step: index for index, step in enumerate(Step)}


def not_found() -> ProblemError:
    # The same answer for a case that does not exist and one of another office: ids are not confirmed.
    return ProblemError(404, "no such case")


async def own_case(context: ApiContext, principal: Principal, case_id: str) -> StoredCase:
    stored = await repository.office_case(context, principal.org_id, case_id)
    if stored is None:
        raise not_found()
    return stored


def _person(details: PersonIn, person_id: str) -> Person:
    fields = details.model_dump(exclude={"person_id", "passport"})
    passport = Passport(**details.passport.model_dump()) if details.passport else None
    return Person(person_id=person_id, passport=passport, **fields)


def _case(case_id: str, office_id: str, body: CaseCreate | CaseUpdate, people: list[Person]) -> Case:
    try:
        return Case(case_id=case_id, reference=body.reference, office_id=office_id,
                    medical_partner_id=body.medical_partner_id,
                    destination=Destination(**body.destination.model_dump()), people=people,
                    priority=body.priority, approved_on=body.approved_on)
    except ValidationError as invalid:  # the schema mirrors the domain's rules; this is the backstop
        errors = [FieldError(field=".".join(["body", *map(str, e["loc"])]), message=e["msg"])
                  for e in invalid.errors()]
        raise ProblemError(422, "the case is not valid", errors=errors) from None


def case_out(stored: StoredCase) -> CaseOut:
    case = stored.case
    return CaseOut(
        case_id=case.case_id, reference=case.reference, office_id=case.office_id,
        medical_partner_id=case.medical_partner_id, destination=DestinationOut(**case.destination.model_dump()),
        people=[PersonOut.model_validate(person.model_dump()) for person in case.people], priority=case.priority,
        approved_on=case.approved_on, departure_phase=stored.phase, departure_reason=stored.reason,
    )


async def create_case(context: ApiContext, principal: Principal, body: CaseCreate) -> CaseOut:
    case_id = new_opaque_id("case")
    people = [_person(person, new_opaque_id("per")) for person in body.people]
    case = _case(case_id, principal.org_id, body, people)
    await context.store.save_case(case)
    await audit.record(context, principal, "case.created", "case", case_id, key=f"case.created:{case_id}",
                       travellers=str(len(people)))
    return case_out(StoredCase(case, None, None))


async def update_case(context: ApiContext, principal: Principal, case_id: str, body: CaseUpdate) -> CaseOut:
    stored = await own_case(context, principal, case_id)
    if stored.phase in TERMINAL_PHASES:
        raise ProblemError(409, f"the departure is {stored.phase.value}; the case can no longer change")
    known = {person.person_id for person in stored.case.people}
    # A person_id from elsewhere would move that person's row into this case: only this case's own ids are kept.
    foreign = [FieldError(field=f"body.people.{index}.person_id", message="not a person of this case")
               for index, person in enumerate(body.people) if person.person_id and person.person_id not in known]
    if foreign:
        raise ProblemError(422, "unknown person_id", errors=foreign)
    people = [_person(person, person.person_id or new_opaque_id("per")) for person in body.people]
    case = _case(case_id, stored.case.office_id, body, people)
    await context.store.save_case(case)
    removed = known - {person.person_id for person in people}
    await audit.record(context, principal, "case.updated", "case", case_id, travellers=str(len(people)),
                       removed=",".join(sorted(removed)))
    return case_out(StoredCase(case, stored.phase, stored.reason))


def blockers(steps: Iterable[StepRecord]) -> list[str]:
    return [f"{r.key}: {r.reason}" if r.reason else r.key for r in steps if r.state in BLOCKING_STATES]


def next_deadline(steps: Iterable[StepRecord]) -> datetime | None:
    return min((r.due_by for r in steps if r.due_by and r.state in WAITING_STATES), default=None)


def timeline(case_id: str, phase: Phase | None, reason: str | None, steps: list[StepRecord],
             booking: BookingView | None, positions: dict[str, int] | None = None) -> Timeline:
    """Steps in the order a departure takes them, each person's in the family's order."""
    positions = positions or {}
    ordered = sorted(steps, key=lambda r: (STEP_ORDER[r.step], positions.get(r.person_id or "", -1), r.key))
    views = [StepView(key=r.key, **r.model_dump(exclude={"reference", "document_number"})) for r in ordered]
    return Timeline(case_id=case_id, phase=phase, reason=reason, steps=views, blockers=blockers(ordered),
                    next_deadline=next_deadline(ordered), booking=booking)


def booking_view(rows: list[BookingRow]) -> BookingView | None:
    """The booking a coordinator acts on: the latest still booked, else the latest at all."""
    if not rows:
        return None
    booked = [row for row in rows if row.status == "booked"]
    row = (booked or rows)[-1]
    return BookingView(booking_ref=row.booking_ref, flight_number=row.flight_number, departs_at=row.departs_at,
                       arrives_at=row.arrives_at, origin=row.origin, destination=row.destination, seats=row.seats,
                       status=row.status)


async def read_timeline(context: ApiContext, principal: Principal, case_id: str) -> Timeline:
    """From the store, which every departure keeps up to date: no round trip to the workflow."""
    found = await repository.office_timeline(context, principal.org_id, case_id)
    if found is None:
        raise not_found()
    return timeline(case_id, found.phase, found.reason, found.steps, booking_view(found.bookings), found.positions)


async def list_cases(context: ApiContext, principal: Principal, where: CaseFilter, limit: int,
                     cursor: str | None) -> CasePage:
    after = None
    if cursor:
        created, case_id = decode_cursor(cursor, (str, str))
        try:
            after = (datetime.fromisoformat(str(created)).astimezone(UTC), str(case_id))
        except (ValueError, OverflowError):
            raise bad_cursor() from None
    rows = await repository.office_cases(context, principal.org_id, where, after, limit + 1)
    page = rows[:limit]
    items = [
        CaseSummary(
            case_id=listed.row.case_id, reference=listed.row.reference,
            destination_country=listed.row.destination_country, destination_city=listed.row.destination_city,
            priority=listed.row.priority, approved_on=listed.row.approved_on, travellers=listed.travellers,
            phase=Phase(listed.row.departure_phase) if listed.row.departure_phase else None,
            reason=listed.row.departure_reason, blockers=blockers(listed.steps),
            next_deadline=next_deadline(listed.steps),
        )
        for listed in page
    ]
    last = page[-1].row if page else None
    next_cursor = encode_cursor(last.created_at.isoformat(), last.case_id) if last and len(rows) > limit else None
    return CasePage(items=items, next_cursor=next_cursor)


def expiring_window(days: int | None) -> tuple[date, date] | None:
    if days is None:
        return None
    today = datetime.now(UTC).date()
    return today, today + timedelta(days=days)
