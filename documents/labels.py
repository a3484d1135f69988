"""The words documents use for the domain's values. Each is a catalog message id (marked with `N_` so the catalog
check finds it), translated when printed."""

from __future__ import annotations

from enum import StrEnum

from domain.case import FunctionalNeed, Relationship, Sex
from domain.documents import ChangeKind, DocumentKind, EscortKind
from domain.medical import TbClass
from domain.steps import Step, StepState


def N_(message: str) -> str:
    return message


TITLES = {
    DocumentKind.TRAVEL_PACK: N_("Travel pack"),
    DocumentKind.FLIGHT_ITINERARY: N_("Flight itinerary"),
    DocumentKind.FIT_TO_TRAVEL: N_("Fit-to-travel certificate"),
    DocumentKind.MEDICAL_SUMMARY: N_("Medical summary"),
    DocumentKind.ARRIVAL_MANIFEST: N_("Arrival manifest"),
}

VALUES: dict[StrEnum, str] = {
    **TITLES,
    Sex.FEMALE: N_("female"),
    Sex.MALE: N_("male"),
    Sex.OTHER: N_("other"),
    Relationship.PRINCIPAL: N_("principal applicant"),
    Relationship.SPOUSE: N_("spouse"),
    Relationship.CHILD: N_("child"),
    Relationship.PARENT: N_("parent"),
    Relationship.SIBLING: N_("sibling"),
    Relationship.GRANDCHILD: N_("grandchild"),
    Relationship.OTHER: N_("other family member"),
    FunctionalNeed.WHEELCHAIR: N_("wheelchair"),
    FunctionalNeed.OXYGEN: N_("oxygen on board"),
    FunctionalNeed.STRETCHER: N_("stretcher"),
    FunctionalNeed.MEDICAL_ESCORT: N_("medical escort"),
    FunctionalNeed.FOLLOW_UP: N_("follow-up after arrival"),
    FunctionalNeed.UNACCOMPANIED_MINOR: N_("unaccompanied minor"),
    Step.EXIT_PERMIT: N_("exit permit"),
    Step.TRAVEL_DOCUMENT: N_("travel document"),
    Step.HEALTH_ASSESSMENT: N_("health assessment"),
    Step.PRE_DEPARTURE_SCREENING: N_("pre-departure medical screening"),
    Step.ORIENTATION: N_("pre-departure orientation"),
    Step.FLIGHT_BOOKING: N_("flight booking"),
    Step.FITNESS_TO_TRAVEL: N_("fitness-to-travel check"),
    Step.DEPARTURE: N_("departure"),
    StepState.NOT_STARTED: N_("not started"),
    StepState.REQUESTED: N_("requested"),
    StepState.SCHEDULED: N_("scheduled"),
    StepState.BLOCKED: N_("blocked"),
    StepState.DONE: N_("done"),
    StepState.EXPIRED: N_("expired"),
    StepState.REFUSED: N_("refused"),
    StepState.CANCELLED: N_("cancelled"),
    StepState.NOT_REQUIRED: N_("not required"),
    EscortKind.OPERATIONAL: N_("operational escort"),
    EscortKind.MEDICAL: N_("medical escort"),
    ChangeKind.ADDED: N_("added"),
    ChangeKind.REMOVED: N_("removed"),
    ChangeKind.CHANGED: N_("changed"),
    TbClass.NONE: N_("no TB class"),
    TbClass.A: N_("class A"),
    TbClass.B0: N_("class B0"),
    TbClass.B1: N_("class B1"),
    TbClass.B2: N_("class B2"),
    TbClass.B3: N_("class B3"),
}

# The passenger fields a manifest amendment can name (ManifestPassenger's).
FIELDS = {
    "case_id": N_("case"),
    "case_reference": N_("case reference"),
    "person_id": N_("person"),
    "given_name": N_("given name"),
    "family_name": N_("family name"),
    "date_of_birth": N_("date of birth"),
    "sex": N_("sex"),
    "nationality": N_("nationality"),
    "relationship": N_("relationship"),
    "functional_needs": N_("functional needs"),
}


def value_message(value: StrEnum) -> str:
    return VALUES[value]


def field_message(name: str) -> str:
    return FIELDS.get(name, name)
