"""Reception teams' routes: upcoming arrivals and arrival manifests, for their own organisation only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.cases.responses import problems
from api.cases.schemas import OPAQUE_ID
from api.deps import Context, require
from api.limits import Bucket, rate_limited
from api.principal import Principal, Scope
from api.reception import service
from api.reception.schemas import Arrivals, Manifest

router = APIRouter(tags=["reception"])

ReceptionTeam = Annotated[Principal, Depends(require(Scope.ARRIVALS_READ))]


@router.get("/arrivals", response_model=Arrivals, responses=problems(429),
            dependencies=[rate_limited(Bucket.MANIFEST)],
            summary="Families with a booked flight to you, and those that arrived in the last week")
async def list_arrivals(context: Context, principal: ReceptionTeam,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Arrivals:
    return await service.arrivals(context, principal, limit)


@router.get("/arrivals/{case_id}/manifest", response_model=Manifest, responses=problems(404, 429),
            dependencies=[rate_limited(Bucket.MANIFEST)],
            summary="The arrival manifest: flight and travellers with their functional needs (each read is audited)")
async def read_manifest(context: Context, principal: ReceptionTeam,
                        case_id: Annotated[str, Path(pattern=OPAQUE_ID)]) -> Manifest:
    return await service.manifest(context, principal, case_id)
