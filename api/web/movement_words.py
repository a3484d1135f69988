"""The words the movement, charter and chart pages use for the domain's values: catalog message ids, translated
when printed (`_(words[value])` in a template). Values the documents already name reuse the documents' words."""

from __future__ import annotations

from enum import StrEnum

from documents.labels import FIELDS, VALUES
from domain.case import FunctionalNeed
from domain.documents import DocumentStatus
from domain.movement import MovementKind, MovementPhase, SpecialService
from domain.planning import LeftOutReason
from domain.webhooks import DeliveryStatus, ManifestEvent
from store.statistics import PartnerRole


def N_(message: str) -> str:
    return message


WORDS: dict[StrEnum, str] = {
    **VALUES,
    MovementKind.SCHEDULED: N_("scheduled flight"),
    MovementKind.CHARTER: N_("charter"),
    MovementPhase.OPEN: N_("open"),
    MovementPhase.NOTICE_SENT: N_("notice sent"),
    MovementPhase.DEPARTED: N_("departed"),
    MovementPhase.CLOSED: N_("closed"),
    DeliveryStatus.PENDING: N_("waiting to be sent"),
    DeliveryStatus.SENT: N_("sent, no answer yet"),
    DeliveryStatus.ACKNOWLEDGED: N_("acknowledged"),
    DeliveryStatus.FAILING: N_("failing"),
    ManifestEvent.ISSUED: N_("first notice"),
    ManifestEvent.AMENDED: N_("amendment"),
    ManifestEvent.FINAL: N_("final version"),
    DocumentStatus.VALID: N_("current"),
    DocumentStatus.SUPERSEDED: N_("superseded"),
    # The airline's requests read as the traveller's needs do.
    **{ssr: VALUES[FunctionalNeed(ssr.value)] for ssr in SpecialService},
    LeftOutReason.ALREADY_BOOKED: N_("already holds seats on a flight"),
    LeftOutReason.OTHER_DESTINATION: N_("goes elsewhere"),
    LeftOutReason.DEFERRED: N_("deferred"),
    LeftOutReason.NOTICE_TOO_SHORT: N_("notice too short for the reception team"),
    LeftOutReason.WINDOW_CLOSED: N_("a validity window is closed on that date"),
    LeftOutReason.NO_SEATS: N_("not enough seats left"),
    PartnerRole.EXIT_PERMIT_AUTHORITY: N_("exit permit authority"),
    PartnerRole.TRAVEL_DOCUMENT_ISSUER: N_("travel document issuer"),
    PartnerRole.MEDICAL_PARTNER: N_("medical partner"),
    PartnerRole.ORIENTATION_PARTNER: N_("orientation partner"),
    PartnerRole.TRAVEL_PARTNER: N_("travel partner"),
}

PASSENGER_FIELDS = FIELDS
