"""GET /audit: the trail of a coordinator's office."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from api.audit import repository
from api.audit.schemas import AuditEntry, AuditPage
from api.cases.pagination import CURSOR_PATTERN, bad_cursor, decode_cursor, encode_cursor
from api.cases.responses import problems
from api.deps import Context, require
from api.principal import Principal, Scope
from api.problems import FieldError, ProblemError

router = APIRouter(tags=["audit"])

ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"


@router.get("/audit", response_model=AuditPage, responses=problems(),
            summary="Who did or saw what to your office's cases, newest first")
async def read_audit(
    context: Context,
    principal: Annotated[Principal, Depends(require(Scope.AUDIT_READ))],
    object_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="a case or person id")] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z_.]{1,128}$", examples=["manifest.read"])] = None,
    since: Annotated[AwareDatetime | None, Query(description="only rows at or after this time")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
) -> AuditPage:
    before_id = int(decode_cursor(cursor, (int,))[0]) if cursor else None
    if before_id is not None and not 0 < before_id < 2**63:
        raise bad_cursor()
    if since is not None:
        try:
            since = since.astimezone(UTC)
        except OverflowError:  # year 1 with a positive offset has no UTC instant
            raise ProblemError(422, "since is out of range",
                               errors=[FieldError(field="query.since", message="out of range")]) from None
    rows = await repository.office_audit(context, principal.org_id, object_id=object_id, action=action, since=since,
                                         before_id=before_id, limit=limit + 1)
    page = rows[:limit]
    items = [AuditEntry.model_validate(event.model_dump(exclude={"event_key"})) for _, event in page]
    next_cursor = encode_cursor(page[-1][0]) if len(rows) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)
