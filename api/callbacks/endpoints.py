"""Partner systems' callbacks (client credentials, one role per route). 202: accepted; a repeat changes nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from api.callbacks import service
from api.callbacks.schemas import PARTNER_REFERENCE, BookingCallback, CallbackReceipt, DecisionCallback
from api.callbacks.signatures import signed_by_partner
from api.cases.responses import problems
from api.deps import Context
from api.limits import Bucket, rate_limited
from api.principal import Principal

router = APIRouter(tags=["partner callbacks"])

# Authenticated by token, then by the partner's signature over the body when its settings hold a signing key.
Partner = Annotated[Principal, Depends(signed_by_partner)]
Reference = Annotated[str, Path(pattern=PARTNER_REFERENCE, description="your own reference for our request")]
ACCEPTED = {"status_code": status.HTTP_202_ACCEPTED, "response_model": CallbackReceipt,
            "responses": problems(404, 413, 429), "dependencies": [rate_limited(Bucket.CALLBACKS)]}


@router.post("/callbacks/exit-permits/{reference}", **ACCEPTED,  # type: ignore[arg-type]
             summary="Exit permit authority: a permit issued or refused")
async def exit_permit_decided(context: Context, principal: Partner, reference: Reference,
                              body: DecisionCallback) -> CallbackReceipt:
    return await service.record_decision(context, principal, service.EXIT_PERMIT, reference, body)


@router.post("/callbacks/travel-documents/{reference}", **ACCEPTED,  # type: ignore[arg-type]
             summary="Travel document issuer: a document issued or refused")
async def travel_document_decided(context: Context, principal: Partner, reference: Reference,
                                  body: DecisionCallback) -> CallbackReceipt:
    return await service.record_decision(context, principal, service.TRAVEL_DOCUMENT, reference, body)


@router.post("/callbacks/bookings/{booking_ref}", **ACCEPTED,  # type: ignore[arg-type]
             summary="Travel partner: a booking confirmed or cancelled by the airline")
async def booking_changed(context: Context, principal: Partner,
                          booking_ref: Annotated[str, Path(pattern=PARTNER_REFERENCE)],
                          body: BookingCallback) -> CallbackReceipt:
    return await service.record_booking(context, principal, booking_ref, body)
