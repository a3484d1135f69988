"""Who is calling: a person or a partner system, the organisation it acts for, and what it may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"  # an operating office (IOM, a Resettlement Support Centre)
    MEDICAL_PARTNER = "medical_partner"  # a clinic
    ORIENTATION_PARTNER = "orientation_partner"
    TRAVEL_PARTNER = "travel_partner"
    RECEPTION_TEAM = "reception_team"  # a receiving organisation in a destination
    EXIT_PERMIT_AUTHORITY = "exit_permit_authority"
    TRAVEL_DOCUMENT_ISSUER = "travel_document_issuer"
    # Runs the platform: may read workflow payloads in clear through the codec server (the Temporal UI shows
    # every office's, clinic's and reception team's workflows at once), and nothing else.
    OPERATOR = "operator"


class Scope(StrEnum):
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    DEPARTURES_WRITE = "departures:write"
    AUDIT_READ = "audit:read"
    MEDICAL_READ = "medical:read"
    MEDICAL_WRITE = "medical:write"
    ARRIVALS_READ = "arrivals:read"
    CALLBACKS_WRITE = "callbacks:write"
    PAYLOADS_DECODE = "payloads:decode"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.COORDINATOR: frozenset({Scope.CASES_READ, Scope.CASES_WRITE, Scope.DEPARTURES_WRITE, Scope.AUDIT_READ}),
    Role.MEDICAL_PARTNER: frozenset({Scope.MEDICAL_READ, Scope.MEDICAL_WRITE}),
    Role.RECEPTION_TEAM: frozenset({Scope.ARRIVALS_READ}),
    Role.ORIENTATION_PARTNER: frozenset({Scope.CALLBACKS_WRITE}),
    Role.TRAVEL_PARTNER: frozenset({Scope.CALLBACKS_WRITE}),
    Role.EXIT_PERMIT_AUTHORITY: frozenset({Scope.CALLBACKS_WRITE}),
    Role.TRAVEL_DOCUMENT_ISSUER: frozenset({Scope.CALLBACKS_WRITE}),
    Role.OPERATOR: frozenset({Scope.PAYLOADS_DECODE}),
}

MEDICAL_ROLES = frozenset({Role.MEDICAL_PARTNER})


@dataclass(frozen=True)
class Principal:
    subject: str  # opaque user id or client id
    org_id: str
    role: Role
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    token_id: str | None = None  # jti, for revocation
    is_client: bool = False  # a partner system (client credentials), not a person

    @property
    def sees_medical_details(self) -> bool:
        return self.role in MEDICAL_ROLES
