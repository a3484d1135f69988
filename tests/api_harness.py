"""What the cross-cutting API suites share: an organisation of every role on two sides (A owns the fixture case, B is
another organisation of the same role), signed in with real tokens from POST /auth/token; the app served over ASGI
next to a time-skipping Temporal server; and one departure of office A, driven through the API until clinic A has
examined the family, a flight is booked and reception A has a manifest to read."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.client import Client

from api.app import create_app
from api.auth import service as auth
from api.context import ApiContext
from api.principal import Role
from domain.case import Case
from domain.departure import BookingStatus, departure_workflow_id
from domain.documents import DocumentKind, document_subject
from domain.medical import TbClass
from domain.policy import DestinationPolicy, PolicyBook
from domain.steps import Step, StepState
from predeparture.settings import ApiSettings, Settings, TemporalSettings
from store.documents import DocumentArchive
from store.repository import Store
from store.rosters import manifest_roster
from store.webhooks import SecretSealer
from tests import papers
from tests.departure_harness import Drive, World, quiet_simulator
from tests.test_api_coordinator import case_body
from workflows.departure import DepartureWorkflow

SIGNING_KEY = "api-harness-signing-key-" + "k" * 32
PEOPLE = frozenset({Role.COORDINATOR, Role.MEDICAL_PARTNER, Role.RECEPTION_TEAM})  # the rest are partner systems
SIDES = ("a", "b")  # "a" owns the fixture case; "b" is another organisation of the same role

# Partners answer within days, so a departure reaches its flight after a few skipped weeks.
FAST_PARTNERS = quiet_simulator(permit_delay_min=timedelta(days=2), permit_delay_max=timedelta(days=3),
                                document_delay_min=timedelta(days=1), document_delay_max=timedelta(days=2))

# What clinic A writes about the family. Only clinic A may ever be shown any of it.
DIAGNOSIS = "latent tuberculosis, sputum culture pending"
SCREENING_FINDINGS = "sputum smear negative, culture pending"
FITNESS_FINDINGS = "asthma, inhaler on board"
MEDICAL_TEXTS = (DIAGNOSIS, SCREENING_FINDINGS, FITNESS_FINDINGS)
# Fields that exist only in medical results: a non-medical view carries none of them, empty or not.
MEDICAL_KEYS = frozenset({"tb_class", "findings", "examined_by", "assessment", "screening", "fitness", "cleared", "fit",
                          "exam_date", "screened_on", "checked_at"})
TB_CLASSES = frozenset(tb.value for tb in TbClass if tb is not TbClass.NONE)


def medical_leaks(body: Any, where: str = "$") -> list[str]:
    """Where a JSON body shows a medical field, a TB class or any of the fixtures' diagnosis texts."""
    found: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key in MEDICAL_KEYS:
                found.append(f"{where}.{key}: a medical field")
            found += medical_leaks(value, f"{where}.{key}")
    elif isinstance(body, list):
        for index, value in enumerate(body):
            found += medical_leaks(value, f"{where}[{index}]")
    elif isinstance(body, str):
        if body in TB_CLASSES or any(text in body for text in MEDICAL_TEXTS) or "tb_class" in body:
            found.append(f"{where} = {body!r}")
    return found


def harness_settings(data_dir: Path, task_queue: str, **api: Any) -> Settings:
    options: dict[str, Any] = {"jwt_secret": SecretStr(SIGNING_KEY), **api}
    # Permits and documents are polled daily: the simulators' answers arrive without a callback.
    policy = PolicyBook(default=DestinationPolicy(partner_poll_interval=timedelta(days=1)))
    return Settings(_env_file=None, data_dir=data_dir, temporal=TemporalSettings(task_queue=task_queue),  # type: ignore[call-arg]
                    policy=policy, api=ApiSettings(**options))


@asynccontextmanager
async def serving(settings: Settings, store: Store, temporal: Client, sealer: SecretSealer | None = None,
                  ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real application, no dependency overridden: callers authenticate with real bearer tokens. Pass the
    world's `sealer`, so a webhook secret the API seals is the one the worker's deliveries open and sign with."""
    app = create_app(context=ApiContext(settings, store, temporal, sealer=sealer))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield app, http


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app answers, documentation included; HEAD goes with its GET."""
    try:  # FastAPI >= 0.165 keeps included routers as branches; this walks them with their prefixes
        from fastapi.routing import iter_route_contexts
        routes: Sequence[Any] = list(iter_route_contexts(app.routes))
    except ImportError:
        routes = app.routes
    found: list[tuple[str, str]] = []
    for route in routes:
        if route.path == "/ui" or route.path.startswith("/ui/"):
            continue  # the pages: a session cookie, not a bearer token; tests/test_web_*.py check who may see them
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- who calls -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """One account of one organisation: a person (password grant) or a partner system (client credentials)."""

    role: Role
    side: str
    org_id: str
    login: str  # username, or client id
    secret: str

    @property
    def is_client(self) -> bool:
        return self.role not in PEOPLE

    @property
    def label(self) -> str:
        return f"{self.role.value}/{self.side}"

    def credentials(self) -> dict[str, str]:
        if self.is_client:
            return {"grant_type": "client_credentials", "client_id": self.login, "client_secret": self.secret}
        return {"grant_type": "password", "username": self.login, "password": self.secret}


async def sign_in(http: httpx.AsyncClient, identity: Identity) -> str:
    response = await http.post("/auth/token", data=identity.credentials())
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@dataclass
class Cast:
    """Every role on both sides, each with a token it got by signing in."""

    identities: list[Identity]
    tokens: dict[Identity, str] = field(default_factory=dict)

    @classmethod
    async def enrol(cls, store: Store, http: httpx.AsyncClient) -> Cast:
        run = uuid.uuid4().hex[:8]  # the suites share one database per session
        identities = []
        for role in Role:
            for side in SIDES:
                org_id = f"{role.value.replace('_', '-')}-{side}-{run}"
                await auth.create_organisation(store, name=f"{role.value} {side}", role=role, org_id=org_id)
                secret = secrets.token_urlsafe(24)
                if role in PEOPLE:
                    user = await auth.create_user(store, org_id=org_id, username=f"{role.value}.{side}.{run}",
                                                  password=secret)
                    identities.append(Identity(role, side, org_id, user.username, secret))
                else:
                    client, secret = await auth.create_client(store, org_id=org_id)
                    identities.append(Identity(role, side, org_id, client.client_id, secret))
        cast = cls(identities)
        for identity in identities:
            cast.tokens[identity] = await sign_in(http, identity)
        return cast

    def of(self, role: Role, side: str = "a") -> Identity:
        return next(i for i in self.identities if i.role is role and i.side == side)

    def headers(self, role: Role, side: str = "a") -> dict[str, str]:
        return bearer(self.tokens[self.of(role, side)])

    def __iter__(self) -> Iterator[Identity]:
        return iter(self.identities)


# -- what they call about ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scene:
    """Office A's case (clinic A, reception A) with its departure under way: the principal (TB class B1) has been
    assessed and screened, the spouse assessed and found fit, a flight is booked, and the principal's fitness
    check is still due, so clinic A's worklist shows the case."""

    case: Case
    today: date  # by the departure's clock, which runs ahead of the wall clock
    now: datetime
    exam_day: date  # of both assessments
    screened_on: date  # the principal's screening
    exit_permit_reference: str
    travel_document_reference: str
    booking_ref: str
    other_case_id: str  # office B's own case, never started
    papers: FiledPapers | None = None  # file_papers(), for the suites that read documents

    @property
    def case_id(self) -> str:
        return self.case.case_id

    @property
    def principal(self) -> str:
        return self.case.people[0].person_id

    @property
    def spouse(self) -> str:
        return self.case.people[1].person_id

    def object_ids(self) -> list[str]:
        """Ids only office A's case and its organisations' views may mention."""
        return [self.case_id, *(p.person_id for p in self.case.people), self.booking_ref]

    def update_body(self) -> dict[str, Any]:
        """The case as it is, sent back whole: every person keeps their id."""
        return self.case.model_dump(mode="json", exclude={"case_id", "office_id"})


def assessment_of(person_id: str, exam_date: date, tb_class: TbClass, findings: str,
                  needs: list[str] | None = None) -> dict[str, Any]:
    return {"person_id": person_id, "exam_date": exam_date.isoformat(), "tb_class": tb_class.value,
            "findings": findings, "functional_needs": needs or []}


async def _submit(http: httpx.AsyncClient, headers: dict[str, str], case_id: str, kind: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(f"/medical/cases/{case_id}/{kind}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def drive_to_manifest(world: World, http: httpx.AsyncClient, cast: Cast) -> Scene:
    """Everything through the API as the organisations would do it, the clock moved by the time-skipping server."""
    coordinator, clinic = cast.headers(Role.COORDINATOR), cast.headers(Role.MEDICAL_PARTNER)
    today = await world.today()
    body = case_body(today, children=0, reception=cast.of(Role.RECEPTION_TEAM).org_id)
    body["medical_partner_id"] = cast.of(Role.MEDICAL_PARTNER).org_id
    created = await http.post("/cases", json=body, headers=coordinator)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    started = await http.post(f"/cases/{case_id}/departure", headers=coordinator)
    assert started.status_code == 201, started.text
    handle = world.client.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))
    world.started.append(handle)  # stopped when the world closes
    case = await world.store.load_case(case_id)
    assert case is not None
    drive = Drive(world, case, handle)
    principal, spouse = (person.person_id for person in case.people)

    for person_id in (principal, spouse):
        await drive.until_step(Step.HEALTH_ASSESSMENT, person_id, StepState.SCHEDULED)
    exam_day = (await drive.now()).date()
    await _submit(http, clinic, case_id, "assessments",
                  assessment_of(principal, exam_day, TbClass.B1, DIAGNOSIS, ["follow_up_after_arrival"]))
    await _submit(http, clinic, case_id, "assessments",
                  assessment_of(spouse, exam_day, TbClass.NONE, "chest x-ray clear"))

    await drive.until(lambda state: state.booking is not None, every=timedelta(days=1))
    await drive.until_step(Step.PRE_DEPARTURE_SCREENING, principal, StepState.SCHEDULED, every=timedelta(hours=12))
    screened_on = (await drive.now()).date()
    await _submit(http, clinic, case_id, "screenings", {
        "person_id": principal, "screened_on": screened_on.isoformat(), "cleared": True,
        "findings": SCREENING_FINDINGS})
    for person_id in (principal, spouse):
        await drive.until_step(Step.FITNESS_TO_TRAVEL, person_id, StepState.SCHEDULED, every=timedelta(hours=3))
    await _submit(http, clinic, case_id, "fitness-checks", {
        "person_id": spouse, "checked_at": (await drive.now()).isoformat(), "fit": True,
        "findings": FITNESS_FINDINGS, "functional_needs": ["oxygen"]})

    steps = {record.key: record for record in await world.store.step_records(case_id)}
    booked = [b for b in await world.store.bookings(case_id) if b.status is BookingStatus.BOOKED]
    assert booked, "the store has no booked flight"
    document = steps[f"{Step.TRAVEL_DOCUMENT.value}:{principal}"]
    assert steps[Step.EXIT_PERMIT.value].reference and document.reference

    other = case_body(today, children=0, reception=cast.of(Role.RECEPTION_TEAM, "b").org_id)
    other["medical_partner_id"] = cast.of(Role.MEDICAL_PARTNER, "b").org_id
    other_case = await http.post("/cases", json=other, headers=cast.headers(Role.COORDINATOR, "b"))
    assert other_case.status_code == 201, other_case.text

    now = await drive.now()
    return Scene(case=case, today=now.date(), now=now.astimezone(UTC), exam_day=exam_day, screened_on=screened_on,
                 exit_permit_reference=steps[Step.EXIT_PERMIT.value].reference or "",
                 travel_document_reference=document.reference or "", booking_ref=booked[-1].booking.booking_ref,
                 other_case_id=other_case.json()["case_id"])


async def idle_departure(world: World, http: httpx.AsyncClient, cast: Cast) -> str:
    """A new case of office A whose departure has started, asked its partners and now waits for them, with no
    activity in flight: a change sent to it cancels nothing that is running. On the time-skipping test server,
    cancelling an activity just as it completes fails the workflow task (ACTIVITY_UNKNOWN), after which that
    departure answers no more Updates; so each test that changes a departure changes a quiet one, once."""
    coordinator = cast.headers(Role.COORDINATOR)
    body = case_body(await world.today(), children=0, reception=cast.of(Role.RECEPTION_TEAM).org_id)
    body["medical_partner_id"] = cast.of(Role.MEDICAL_PARTNER).org_id
    created = await http.post("/cases", json=body, headers=coordinator)
    assert created.status_code == 201, created.text
    case_id = str(created.json()["case_id"])
    started = await http.post(f"/cases/{case_id}/departure", headers=coordinator)
    assert started.status_code == 201, started.text
    handle = world.client.get_workflow_handle_for(DepartureWorkflow.run, departure_workflow_id(case_id))
    world.started.append(handle)
    for _ in range(400):
        description = await handle.describe()
        if await world.store.departure_phase(case_id) and not description.raw_description.pending_activities:
            return case_id
        await asyncio.sleep(0.05)
    raise AssertionError("the departure never settled")


# -- the papers of the departure -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FiledPapers:
    """Document ids of office A's case, and the manifest of its flight for reception A."""

    travel_pack: str
    medical_summary: str
    manifest: str
    movement_id: str
    organisation_id: str  # reception A

    @property
    def manifest_path(self) -> str:
        return f"/movements/{self.movement_id}/manifests/{self.organisation_id}"


async def file_papers(store: Store, scene: Scene, cast: Cast) -> FiledPapers:
    """The papers the departure has issued by now, and those it has not yet issued filed as it would file them, so
    that a suite can read each kind whether or not the departure got that far."""
    archive = DocumentArchive(store)
    held = {stored.kind: stored for stored in await archive.for_case(scene.case_id)}  # the latest of each kind
    booking = next(b.booking for b in reversed(await store.bookings(scene.case_id)) if b.status is BookingStatus.BOOKED)
    pack = held.get(DocumentKind.TRAVEL_PACK) or await papers.travel_pack(store, scene.case, booking)
    medical = held.get(DocumentKind.MEDICAL_SUMMARY) or await papers.medical_summary(store, scene.case)
    movement, reception = papers.movement_of(booking), cast.of(Role.RECEPTION_TEAM).org_id
    manifest = await archive.latest(document_subject(DocumentKind.ARRIVAL_MANIFEST, movement=movement,
                                                     organisation_id=reception))
    if manifest is None:
        roster = await manifest_roster(store, movement, reception)
        assert roster is not None, "office A's family holds no seat for reception A"
        manifest = await papers.manifest(store, booking, reception, roster.passengers, issuer_id=scene.case.office_id)
    return FiledPapers(pack.document_id, medical.document_id, manifest.document_id, movement, reception)
