"""The partner contract as published: the requests side from partners/contract, the callbacks from this API's
own callback schemas. `predeparture partners-contract` writes it to partners/contract/partners.openapi.json, and
a test keeps that file equal to this."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from api.callbacks.schemas import BookingCallback, CallbackReceipt, DecisionCallback
from partners.contract.openapi import Webhook, build_contract

PUBLISHED = Path(__file__).resolve().parents[2] / "partners" / "contract" / "partners.openapi.json"

WEBHOOKS = [
    Webhook("exit_permit_decided", "/callbacks/exit-permits/{reference}", "exit_permits", DecisionCallback,
            CallbackReceipt, "An exit permit issued or refused"),
    Webhook("travel_document_decided", "/callbacks/travel-documents/{reference}", "travel_documents",
            DecisionCallback, CallbackReceipt, "A travel document issued or refused"),
    Webhook("booking_changed", "/callbacks/bookings/{booking_ref}", "travel", BookingCallback, CallbackReceipt,
            "A booking confirmed or cancelled by the airline"),
]


@lru_cache(maxsize=1)
def partner_contract() -> dict[str, Any]:
    return build_contract(WEBHOOKS)
