"""What the token endpoint answers, and how its problems are documented."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.principal import Scope
from api.problems import problem_responses

SCOPE_DESCRIPTIONS = {
    Scope.CASES_READ: "read your office's cases and their timelines",
    Scope.CASES_WRITE: "create and update your office's cases",
    Scope.DEPARTURES_WRITE: "start, defer, cancel or re-date departures",
    Scope.AUDIT_READ: "query the audit trail",
    Scope.MEDICAL_READ: "medical worklist and medical files of the people assigned to your clinic",
    Scope.MEDICAL_WRITE: "submit assessments, screenings and fitness-to-travel results",
    Scope.ARRIVALS_READ: "upcoming arrivals and manifests for your reception organisation",
    Scope.CALLBACKS_WRITE: "send a partner's asynchronous answers",
    Scope.PAYLOADS_DECODE: "read workflow payloads in clear through the codec server (operators only; audited)",
}


class GrantType(StrEnum):
    PASSWORD = "password"  # people
    CLIENT_CREDENTIALS = "client_credentials"  # partner systems


class TokenResponse(BaseModel):
    """RFC 6749 §5.1. Send `Authorization: Bearer <access_token>` until it expires, then ask for a new one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzNmOWEifQ.c2lnbmF0dXJl",
                    "token_type": "bearer",
                    "expires_in": 1800,
                    "scope": "audit:read cases:read cases:write departures:write",
                }
            ]
        }
    )

    access_token: str = Field(description="a signed JWT; it names opaque ids only")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(ge=0, description="seconds until the token expires")
    scope: str = Field(description="the scopes granted, space separated")


AUTH_PROBLEMS = {
    400: "unsupported grant type, a field the grant needs is missing, or a scope that cannot be granted",
    401: "wrong or unknown credentials, or a deactivated account (never said which); or no valid bearer token",
    403: "the token to revoke belongs to someone else",
    422: "a field is too long or missing; `errors` names each one",
    429: "too many token requests from this address; `Retry-After` says when to try again",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(*statuses, why=AUTH_PROBLEMS)
