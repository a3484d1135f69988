"""The audit trail as coordinators read it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AuditEntry(BaseModel):
    at: datetime
    actor: str = Field(description="`<organisation>/<user or client id>`, or `system:<component>`")
    action: str = Field(description="e.g. case.created, departure.started, manifest.read, step.done")
    object_type: str
    object_id: str = Field(description="opaque id of the case (or person) concerned")
    detail: dict[str, str] = Field(default_factory=dict, description="opaque ids and states only")


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None = Field(default=None, description="pass as `cursor` for older rows; null on the last page")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{
            "at": "2026-03-02T09:14:07Z",
            "actor": "office_nairobi/usr_3f9a1c2e",
            "action": "departure.deferred",
            "object_type": "case",
            "object_id": "case_8c1d0f3b2a9e4d71",
            "detail": {"org_id": "office_nairobi", "role": "coordinator", "not_before": "2026-05-01"},
        }],
        "next_cursor": "MTIzNA",
    }]})
