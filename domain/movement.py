"""A movement: one flight, scheduled or charter, carrying many cases. What it holds (seats per case, escorts, special
service requests), what its coordinator and reception teams send it, and the rules their input must keep.

Pure: the MovementWorkflow keeps the state, the validators say why an input is refused (ValueError naming the field
at fault), so a refused Update leaves the movement unchanged."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, computed_field

from domain.calendar import is_working_day
from domain.case import FunctionalNeed
from domain.documents import FlightLeg
from domain.policy import DestinationPolicy
from domain.webhooks import DeliveryStatus, ManifestDelivery

# Names the departure's activity starts and signals the movement by, without importing the workflow.
MOVEMENT_WORKFLOW = "MovementWorkflow"
JOIN_SIGNAL = "join_movement"
LEAVE_SIGNAL = "leave_movement"
# Charters carry IOM operational escorts: one per this many travellers, and at least one.
TRAVELLERS_PER_OPERATIONAL_ESCORT = 50
REFUSALS_KEPT = 50


def movement_workflow_id(movement_id: str) -> str:
    """movement_id is derived from flight and date only, so the workflow id names nobody."""
    return f"movement-{movement_id}"


class MovementKind(StrEnum):
    SCHEDULED = "scheduled"  # seats bought on an airline's flight: its capacity is the airline's business
    CHARTER = "charter"  # the whole aircraft is ours: every seat, escorts' included, counts against it


class MovementPhase(StrEnum):
    OPEN = "open"  # families join and leave; nobody has been told yet
    NOTICE_SENT = "notice_sent"  # manifest v1 went out at the cutoff; every change is an amendment
    DEPARTED = "departed"  # boarding recorded, final manifest sent
    CLOSED = "closed"  # every reception team on board confirmed the arrival


class SpecialService(StrEnum):
    """Special service requests the airline and the reception team prepare for (values as FunctionalNeed's)."""

    WHEELCHAIR = "wheelchair"
    OXYGEN = "oxygen"
    STRETCHER = "stretcher"
    UNACCOMPANIED_MINOR = "unaccompanied_minor"


def notice_cutoff(arrives_on: date, working_days: int, holidays: list[date]) -> date:
    """The last day the arrival notice may go out: `working_days` working days before the arrival day."""
    day, remaining = arrives_on, working_days
    while remaining > 0:
        day -= timedelta(days=1)
        if is_working_day(day, holidays):
            remaining -= 1
    return day


class MovementInput(BaseModel):
    movement_id: str
    flight: FlightLeg
    kind: MovementKind = MovementKind.SCHEDULED
    capacity: int | None = Field(default=None, ge=1, description="None for a scheduled flight we don't control")
    destination_country: str = Field(min_length=2, max_length=2)
    notice_working_days: int = Field(default=DestinationPolicy().arrival_notice_working_days, ge=0)
    public_holidays: list[date] = Field(default_factory=list, description="of the destination, for the cutoff")
    official_language: str = DestinationPolicy().official_language
    history_limit: int = Field(default=2000, ge=100, description="events before the run continues as new")
    state: MovementState | None = Field(default=None, description="carried over by continue-as-new")

    @classmethod
    def under_policy(cls, policy: DestinationPolicy, **fields: Any) -> MovementInput:
        return cls(notice_working_days=policy.arrival_notice_working_days,
                   official_language=policy.official_language, **fields)

    @property
    def cutoff(self) -> datetime:
        day = notice_cutoff(self.flight.arrives_at.date(), self.notice_working_days, self.public_holidays)
        return datetime.combine(day, time.min, tzinfo=UTC)


class JoinMovement(BaseModel):
    """A case takes its seats: the whole family, since families travel together. Joining again replaces them."""

    case_id: str = Field(min_length=1)
    organisation_id: str = Field(min_length=1, description="the receiving organisation")
    seats: int = Field(ge=1)
    person_ids: list[str] = Field(min_length=1)
    special_service_requests: list[SpecialService] = Field(default_factory=list, description="one per traveller")
    medical_escorts: int = Field(default=0, ge=0, description="travellers who need one; each escort takes a seat")


def party_of(case_id: str, organisation_id: str, seats: int,
             needs_by_person: dict[str, list[FunctionalNeed]]) -> JoinMovement:
    """A family's join from what each traveller needs (in the order of the case): its special service requests,
    and a medical escort per traveller who needs one. Functional needs only, never why."""
    services = {s.value for s in SpecialService}
    return JoinMovement(
        case_id=case_id, organisation_id=organisation_id, seats=seats, person_ids=list(needs_by_person),
        special_service_requests=[SpecialService(n.value) for needs in needs_by_person.values() for n in needs
                                  if n.value in services],
        medical_escorts=sum(FunctionalNeed.MEDICAL_ESCORT in needs for needs in needs_by_person.values()))


class LeaveMovement(BaseModel):
    case_id: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=500)


class BoardingRecord(BaseModel):
    boarded_person_ids: list[str]
    recorded_by: str = Field(min_length=1, max_length=64)


class ArrivalConfirmation(BaseModel):
    organisation_id: str = Field(min_length=1)
    confirmed_by: str = Field(min_length=1, max_length=64)


class Escorts(BaseModel):
    operational: int = 0
    medical: int = 0


class Refusal(BaseModel):
    """A join that came by signal and could not be taken: signals have no answer, so the coordinator reads it here."""

    case_id: str
    at: datetime
    reason: str


class OrganisationManifest(BaseModel):
    """One reception team's manifest: the version last published, and how its delivery stands."""

    organisation_id: str
    published_version: int | None = None
    published_reference: str | None = None
    final: bool = False
    delivered_version: int | None = None
    delivery: DeliveryStatus | None = None
    last_error: str | None = None
    outbox: list[ManifestDelivery] = Field(default_factory=list, description="versions waiting, oldest first")


class MovementState(BaseModel):
    movement_id: str
    kind: MovementKind = MovementKind.SCHEDULED
    capacity: int | None = None
    phase: MovementPhase = MovementPhase.OPEN
    parties: dict[str, JoinMovement] = Field(default_factory=dict, description="case_id -> the family's seats")
    left: dict[str, str] = Field(default_factory=dict, description="case_id -> why it left")
    refused: list[Refusal] = Field(default_factory=list)
    manifests: dict[str, OrganisationManifest] = Field(default_factory=dict, description="every team ever on board")
    pending: list[str] = Field(default_factory=list, description="teams whose manifest must be published again")
    boarded: list[str] | None = None
    boarding_recorded_by: str | None = None
    confirmations: dict[str, ArrivalConfirmation] = Field(default_factory=dict)
    runs: int = 1

    @computed_field  # type: ignore[prop-decorator]
    @property
    def seats_taken(self) -> int:
        escorts = self.escorts
        return sum(p.seats for p in self.parties.values()) + escorts.operational + escorts.medical

    @computed_field  # type: ignore[prop-decorator]
    @property
    def escorts(self) -> Escorts:
        return escorts_for(self.kind, self.parties.values())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def special_services(self) -> dict[SpecialService, int]:
        counts: dict[SpecialService, int] = {}
        for party in self.parties.values():
            for ssr in party.special_service_requests:
                counts[ssr] = counts.get(ssr, 0) + 1
        return dict(sorted(counts.items()))

    def organisations_on_board(self) -> list[str]:
        """Before boarding: every team with a family on the movement; after: those with someone who boarded."""
        boarded = set(self.boarded) if self.boarded is not None else None
        return sorted({p.organisation_id for p in self.parties.values()
                       if boarded is None or boarded.intersection(p.person_ids)})

    def person_ids(self) -> set[str]:
        return {pid for party in self.parties.values() for pid in party.person_ids}


def escorts_for(kind: MovementKind, parties: Collection[JoinMovement]) -> Escorts:
    travellers = sum(len(p.person_ids) for p in parties)
    medical = sum(p.medical_escorts for p in parties)
    operational = -(-travellers // TRAVELLERS_PER_OPERATIONAL_ESCORT) if kind is MovementKind.CHARTER else 0
    return Escorts(operational=operational, medical=medical)


# -- validators ----------------------------------------------------------------------------------------------


def validate_join(state: MovementState, join: JoinMovement) -> None:
    if state.phase in (MovementPhase.DEPARTED, MovementPhase.CLOSED):
        raise ValueError(f"the movement has {state.phase.value}; no family can join it now")
    if len(set(join.person_ids)) != len(join.person_ids):
        raise ValueError("person_ids: a traveller is listed twice")
    if join.seats > len(join.person_ids):
        raise ValueError(f"seats: {join.seats} seats for {len(join.person_ids)} travellers")
    others = {pid for case_id, party in state.parties.items() if case_id != join.case_id for pid in party.person_ids}
    if taken := sorted(others.intersection(join.person_ids)):
        raise ValueError(f"person_ids: {taken[0]} already travels on this movement with another case")
    if state.capacity is None:
        return
    parties = {**state.parties, join.case_id: join}
    escorts = escorts_for(state.kind, parties.values())
    needed = sum(p.seats for p in parties.values()) + escorts.operational + escorts.medical
    if needed > state.capacity:
        raise ValueError(f"seats: the movement has {state.capacity} seats; with this family on board it would "
                         f"need {needed}, escorts included")


def validate_boarding(state: MovementState, record: BoardingRecord, now: datetime, departs_at: datetime) -> None:
    if state.phase is MovementPhase.CLOSED:
        raise ValueError("the movement is closed; its boarding can no longer change")
    if now < departs_at:
        raise ValueError(f"the flight departs at {departs_at.isoformat()}; boarding is recorded once it has")
    if not record.boarded_person_ids:
        raise ValueError("boarded_person_ids: empty; a flight nobody boarded is cancelled, not recorded")
    if len(set(record.boarded_person_ids)) != len(record.boarded_person_ids):
        raise ValueError("boarded_person_ids: a traveller is listed twice")
    if unknown := sorted(set(record.boarded_person_ids) - state.person_ids()):
        raise ValueError(f"boarded_person_ids: {unknown[0]} is not on this movement"
                         + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))


def validate_confirmation(state: MovementState, confirmation: ArrivalConfirmation) -> None:
    if state.phase in (MovementPhase.OPEN, MovementPhase.NOTICE_SENT):
        raise ValueError("the flight has not departed yet; an arrival is confirmed after boarding is recorded")
    if state.phase is MovementPhase.CLOSED:
        raise ValueError("the movement is closed; every arrival is already confirmed")
    if confirmation.organisation_id not in state.organisations_on_board():
        raise ValueError(f"organisation_id: {confirmation.organisation_id} has nobody on board this movement")


MovementInput.model_rebuild()


class CharterAssignment(BaseModel):
    """A coordinator puts a family on a charter: its departure books the family's seats on that very flight, and
    joins the movement as any booked family does."""

    movement_id: str = Field(min_length=1)
    flight: FlightLeg
    destination_country: str = Field(min_length=2, max_length=2)
    assigned_by: str = Field(min_length=1, max_length=64)

    @property
    def departs_on(self) -> date:
        return self.flight.departs_at.date()
