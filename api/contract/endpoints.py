"""The partner contract, public: a partner's developer builds their side from it alone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.contract.document import partner_contract

router = APIRouter(tags=["partner contract"])


@router.get("/partners/contract.json", summary="The partner contract (OpenAPI 3.1): requests we send partners, "
            "the callbacks they send us, idempotency keys, signatures and error shapes")
async def contract() -> dict[str, Any]:
    return partner_contract()
