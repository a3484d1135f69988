"""Demo identities for `predeparture dev` (`make run`): one organisation and one person per audience, tied to the
ids the demo families use, and one client credential per partner system, all with known passwords.

Only the embedded demo calls this. Production accounts come from `predeparture users ...`, whose secrets are
generated or typed, never known in advance.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.table import Table

from api.auth.passwords import hash_secret_async
from api.auth.repository import ApiClient, IdentityRepository, Organisation, User
from api.principal import Role
from domain.case import Case
from store.repository import Store

DEFAULT_CLINIC_ID = "clinic_default"  # domain.case.Case.medical_partner_id when a case names no clinic


@dataclass(frozen=True)
class DemoLogin:
    username: str  # for a partner system: its client id
    password: str  # for a partner system: its client secret
    role: Role
    org_id: str
    is_client: bool = False

    @property
    def grant_type(self) -> str:
        return "client_credentials" if self.is_client else "password"


@dataclass(frozen=True)
class DemoOrganisations:
    """The organisations the demo people act for; each must be one the demo families name, or they see nothing."""

    office_id: str
    reception_org_id: str
    clinic_id: str = DEFAULT_CLINIC_ID

    @classmethod
    def busiest(cls, cases: Iterable[Case]) -> DemoOrganisations:
        """The office, clinic and reception team with the most of `cases`: the demo families are spread over
        several offices and many receiving organisations, and a demo login should have something to look at."""
        cases = list(cases)
        if not cases:
            raise ValueError("cases: at least one demo family is needed to choose its organisations")
        return cls(
            office_id=_most_common(case.office_id for case in cases),
            reception_org_id=_most_common(case.destination.receiving_organisation for case in cases),
            clinic_id=_most_common(case.medical_partner_id for case in cases),
        )


@dataclass(frozen=True)
class _DemoPerson:
    role: Role
    username: str
    password: str
    organisation_name: str


@dataclass(frozen=True)
class _DemoSystem:
    role: Role
    org_id: str
    organisation_name: str
    client_id: str
    secret: str


PEOPLE = (
    _DemoPerson(Role.COORDINATOR, "coordinator", "coordinator-demo", "Demo operating office"),
    _DemoPerson(Role.MEDICAL_PARTNER, "clinician", "clinician-demo", "Demo clinic"),
    _DemoPerson(Role.RECEPTION_TEAM, "reception", "reception-demo", "Demo reception team"),
    # Signs in to the codec server (PREDEPARTURE_CODEC_SERVER__ENABLED=true) to read payloads in the Temporal UI.
    _DemoPerson(Role.OPERATOR, "operator", "operator-demo", "Demo platform operations"),
)
OPERATIONS_ORG_ID = "org_demo_operations"
SYSTEMS = (
    _DemoSystem(Role.EXIT_PERMIT_AUTHORITY, "org_demo_exit_permits", "Demo exit permit authority",
                "client_demo_exit_permits", "demo-secret-exit-permits"),
    _DemoSystem(Role.TRAVEL_DOCUMENT_ISSUER, "org_demo_travel_documents", "Demo travel document issuer",
                "client_demo_travel_documents", "demo-secret-travel-documents"),
    _DemoSystem(Role.ORIENTATION_PARTNER, "org_demo_orientation", "Demo orientation partner",
                "client_demo_orientation", "demo-secret-orientation"),
    _DemoSystem(Role.TRAVEL_PARTNER, "org_demo_travel", "Demo travel partner",
                "client_demo_travel", "demo-secret-travel"),
)


async def seed_demo_identities(store: Store, *, office_id: str, reception_org_id: str,
                               clinic_id: str = DEFAULT_CLINIC_ID) -> list[DemoLogin]:
    """Create, or bring back to their demo state, the demo organisations and accounts; safe to run on every start.

    A second run adds nothing: organisations are keyed by id, people by username, systems by client id. If the
    busiest office changed since the last run (the families depend on the day), the demo coordinator moves to it.
    """
    identities = IdentityRepository(store)
    now = datetime.now(UTC)
    org_of_person = {
        Role.COORDINATOR: office_id, Role.MEDICAL_PARTNER: clinic_id, Role.RECEPTION_TEAM: reception_org_id,
        Role.OPERATOR: OPERATIONS_ORG_ID,
    }
    people_hashes = await asyncio.gather(*(hash_secret_async(person.password) for person in PEOPLE))
    system_hashes = await asyncio.gather(*(hash_secret_async(system.secret) for system in SYSTEMS))
    logins: list[DemoLogin] = []
    for person, password_hash in zip(PEOPLE, people_hashes, strict=True):
        org_id = org_of_person[person.role]
        await identities.put_organisation(Organisation(org_id, person.organisation_name, person.role, None, now))
        # The id is only used if the username is new; an existing demo user keeps its own.
        await identities.put_user(User(f"user_demo_{person.username}", org_id, person.username, True, now),
                                  password_hash)
        logins.append(DemoLogin(person.username, person.password, person.role, org_id))
    for system, secret_hash in zip(SYSTEMS, system_hashes, strict=True):
        await identities.put_organisation(Organisation(system.org_id, system.organisation_name, system.role, None, now))
        await identities.put_client(ApiClient(system.client_id, system.org_id, True, now), secret_hash)
        logins.append(DemoLogin(system.client_id, system.secret, system.role, system.org_id, is_client=True))
    return logins


def demo_logins_table(logins: list[DemoLogin], api_url: str) -> Table:
    """For `predeparture dev` to print: who to log in as, and how."""
    table = Table(title=f"Demo logins (embedded demo only) · POST {api_url}/auth/token · docs at {api_url}/docs")
    for column in ("role", "organisation", "grant_type", "username / client_id", "password / client_secret"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.role.value, login.org_id, login.grant_type, login.username, login.password)
    return table


def _most_common(ids: Iterable[str]) -> str:
    counts = Counter(ids)
    # Ties go to the smallest id, so the same families always give the same choice.
    return min(counts, key=lambda org_id: (-counts[org_id], org_id))
