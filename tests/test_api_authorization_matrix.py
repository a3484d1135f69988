"""The authorization matrix: every route of the app × every role × the organisation that owns the object and
another organisation of the same role, plus a caller with no token. Real tokens from POST /auth/token, nothing
overridden, on both databases; office A's departure runs on the time-skipping server until it has medical
results, a booked flight and a manifest (tests/api_harness.py).

POLICY below is the whole policy in one table: a route the app gains without an entry fails
test_the_policy_names_every_route_of_the_app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest
import pytest_asyncio

from api.app import create_app
from api.principal import MEDICAL_ROLES, Role
from domain.medical import TbClass
from tests.api_harness import (
    DIAGNOSIS,
    FAST_PARTNERS,
    SCREENING_FINDINGS,
    Cast,
    FiledPapers,
    Identity,
    Scene,
    api_routes,
    assessment_of,
    bearer,
    drive_to_manifest,
    file_papers,
    harness_settings,
    idle_departure,
    medical_leaks,
    serving,
    sign_in,
)
from tests.departure_harness import open_world

Route = tuple[str, str]  # (method, path template)


class Reach(StrEnum):
    PUBLIC = "anyone, with or without a token"
    OWN_TOKEN = "any signed-in caller, for its own tokens only; another account's token is a 403"
    OWN_OBJECT = "the organisation of the role that owns the object; another organisation of the role gets 404"
    OWN_LIST = "every organisation of the role, each shown only its own objects"
    OWN_NEW = "every organisation of the role, creating for itself"
    # No case names its permit authority, document issuer or travel partner: a partner's answer is authorised by
    # its role and by the reference the partner itself issued for our request.
    ROLE = "every organisation of the role"


@dataclass(frozen=True)
class Policy:
    roles: frozenset[Role]
    reach: Reach


EVERYONE = frozenset(Role)


def only(role: Role, reach: Reach) -> Policy:
    return Policy(frozenset({role}), reach)


COORDINATOR, CLINIC, RECEPTION = Role.COORDINATOR, Role.MEDICAL_PARTNER, Role.RECEPTION_TEAM
CASE_PARTIES = frozenset({COORDINATOR, CLINIC})
DOCUMENT_READERS = frozenset({COORDINATOR, CLINIC, RECEPTION})
MANIFEST_READERS = frozenset({COORDINATOR, RECEPTION})
MANIFEST = "/movements/{movement_id}/manifests/{organisation_id}"
MOVEMENT = "/movements/{movement_id}"

# Who may call each route, and what of it. The matrix calls the routes in this order (reads, then results and
# callbacks, then the case's changes, the departure's end and revocations last), so that no owner's change hides
# what a later route should show.
POLICY: dict[Route, Policy] = {
    ("GET", "/openapi.json"):                                 Policy(EVERYONE, Reach.PUBLIC),
    ("GET", "/docs"):                                         Policy(EVERYONE, Reach.PUBLIC),
    ("GET", "/docs/oauth2-redirect"):                         Policy(EVERYONE, Reach.PUBLIC),
    ("GET", "/redoc"):                                        Policy(EVERYONE, Reach.PUBLIC),
    ("GET", "/partners/contract.json"):                       Policy(EVERYONE, Reach.PUBLIC),
    # The process's own: liveness, readiness (database and Temporal) and Prometheus metrics (api/observability.py).
    ("GET", "/healthz"):                                      Policy(EVERYONE, Reach.PUBLIC),
    ("GET", "/readyz"):                                       Policy(EVERYONE, Reach.PUBLIC),
    ("GET", "/metrics"):                                      Policy(EVERYONE, Reach.PUBLIC),
    ("POST", "/auth/token"):                                  Policy(EVERYONE, Reach.PUBLIC),
    ("GET", "/cases"):                                        only(COORDINATOR, Reach.OWN_LIST),
    ("GET", "/cases/{case_id}"):                              only(COORDINATOR, Reach.OWN_OBJECT),
    ("GET", "/cases/{case_id}/timeline"):                     only(COORDINATOR, Reach.OWN_OBJECT),
    ("GET", "/medical/worklist"):                             only(CLINIC, Reach.OWN_LIST),
    ("GET", "/medical/cases/{case_id}/people/{person_id}"):   only(CLINIC, Reach.OWN_OBJECT),
    ("GET", "/arrivals"):                                     only(RECEPTION, Reach.OWN_LIST),
    ("GET", "/arrivals/{case_id}/manifest"):                  only(RECEPTION, Reach.OWN_OBJECT),
    # Documents: each caller asks for a paper its role may hold (CALLS says which); which kinds each role may
    # read is test_api_documents.py's, and the medical summary's is test_only_clinic_a_downloads_the_medical_summary.
    ("GET", "/cases/{case_id}/documents"):                    Policy(CASE_PARTIES, Reach.OWN_OBJECT),
    ("GET", "/documents/{document_id}"):                      Policy(DOCUMENT_READERS, Reach.OWN_OBJECT),
    ("GET", "/documents/{document_id}/pdf"):                  Policy(DOCUMENT_READERS, Reach.OWN_OBJECT),
    ("GET", MANIFEST):                                        Policy(MANIFEST_READERS, Reach.OWN_OBJECT),
    ("GET", f"{MANIFEST}/manifest.csv"):                      Policy(MANIFEST_READERS, Reach.OWN_OBJECT),
    ("GET", f"{MANIFEST}/manifest.pdf"):                      Policy(MANIFEST_READERS, Reach.OWN_OBJECT),
    ("GET", f"{MANIFEST}/versions"):                          Policy(MANIFEST_READERS, Reach.OWN_OBJECT),
    ("GET", "/verify/{reference}"):                           Policy(EVERYONE, Reach.PUBLIC),
    ("GET", MOVEMENT):                                        Policy(MANIFEST_READERS, Reach.OWN_OBJECT),
    ("GET", "/reception/webhook"):                            only(RECEPTION, Reach.ROLE),
    ("POST", "/medical/cases/{case_id}/assessments"):         only(CLINIC, Reach.OWN_OBJECT),
    ("POST", "/medical/cases/{case_id}/screenings"):          only(CLINIC, Reach.OWN_OBJECT),
    ("POST", "/medical/cases/{case_id}/fitness-checks"):      only(CLINIC, Reach.OWN_OBJECT),
    ("POST", "/callbacks/exit-permits/{reference}"):          only(Role.EXIT_PERMIT_AUTHORITY, Reach.ROLE),
    ("POST", "/callbacks/travel-documents/{reference}"):      only(Role.TRAVEL_DOCUMENT_ISSUER, Reach.ROLE),
    ("POST", "/callbacks/bookings/{booking_ref}"):            only(Role.TRAVEL_PARTNER, Reach.ROLE),
    ("POST", f"{MOVEMENT}/boarding"):                         only(COORDINATOR, Reach.OWN_OBJECT),
    ("POST", f"{MOVEMENT}/arrival"):                          only(RECEPTION, Reach.OWN_OBJECT),
    ("PUT", "/reception/webhook"):                            only(RECEPTION, Reach.ROLE),
    ("POST", "/charters"):                                    only(COORDINATOR, Reach.ROLE),
    ("POST", "/charters/{movement_id}/proposal"):             only(COORDINATOR, Reach.OWN_OBJECT),
    ("POST", "/charters/{movement_id}/allocation"):           only(COORDINATOR, Reach.OWN_OBJECT),
    ("POST", "/cases"):                                       only(COORDINATOR, Reach.OWN_NEW),
    ("PUT", "/cases/{case_id}"):                              only(COORDINATOR, Reach.OWN_OBJECT),
    ("POST", "/cases/{case_id}/departure"):                   only(COORDINATOR, Reach.OWN_OBJECT),
    ("POST", "/cases/{case_id}/departure/defer"):             only(COORDINATOR, Reach.OWN_OBJECT),
    ("POST", "/cases/{case_id}/departure/date"):              only(COORDINATOR, Reach.OWN_OBJECT),
    ("POST", "/cases/{case_id}/departure/cancel"):            only(COORDINATOR, Reach.OWN_OBJECT),
    ("GET", "/audit"):                                        only(COORDINATOR, Reach.OWN_LIST),
    ("POST", "/auth/revoke"):                                 Policy(EVERYONE, Reach.OWN_TOKEN),
}
# Documentation describes the medical schemas; it carries nobody's data.
DOCUMENTATION = frozenset({("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
                           ("GET", "/redoc"), ("GET", "/partners/contract.json")})

ALLOWED = "2xx"
# The flight of office A's family has not flown yet: its movement lets the owner through (no 401, 403 or 404) and
# refuses the change for the movement's state (409). Office A has no family ready for its charter, so the one it
# asks for is refused by name (422). Each succeeds in test_api_movements.py.
REFUSED_BY_STATE = {("POST", f"{MOVEMENT}/boarding"): 409, ("POST", f"{MOVEMENT}/arrival"): 409,
                    ("POST", "/charters/{movement_id}/allocation"): 422}


def expected(policy: Policy, caller: Identity | None) -> str | int:
    """ALLOWED, or the one status this caller must get. Every request of the matrix is well-formed, so an
    allowed caller gets a 2xx, never a 401, 403, 404 or a 5xx."""
    if policy.reach is Reach.PUBLIC:
        return ALLOWED
    if caller is None:
        return 401
    if caller.role not in policy.roles:
        return 403
    if caller.side == "a" or policy.reach in (Reach.OWN_LIST, Reach.OWN_NEW, Reach.ROLE):
        return ALLOWED
    return 403 if policy.reach is Reach.OWN_TOKEN else 404


# -- the requests --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    form: dict[str, str] | None = None
    bearer: bool = True  # the token route is authenticated by its form instead


@dataclass(frozen=True)
class Stage:
    scene: Scene
    cast: Cast
    spare_tokens: dict[Identity, str]  # side A's second tokens, for the revocations
    quiet: dict[str, str]  # defer, date, cancel -> a departure of office A of its own (api_harness.idle_departure)
    papers: FiledPapers
    charter: str = ""  # movement id of a charter office A has chartered

    def paper_for(self, caller: Identity | None) -> str:
        """The paper side A's organisation of the caller's role holds: the clinic its medical summary, the
        reception team its manifest, the rest the family's travel pack."""
        role = caller.role if caller else COORDINATOR
        if role is CLINIC:
            return self.papers.medical_summary
        return self.papers.manifest if role is RECEPTION else self.papers.travel_pack


def _decision(number: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {"status": "issued", "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=300)).isoformat(), "document_number": number}


def _revocation(stage: Stage, caller: Identity | None) -> Call:
    # Everyone aims at a spare token of side A's account of its own role: its own on side A, another's on side B.
    owner = stage.cast.of(caller.role if caller else COORDINATOR, "a")
    return Call("/auth/revoke", form={"token": stage.spare_tokens[owner]})


def _token(stage: Stage, caller: Identity | None) -> Call:
    return Call("/auth/token", form=(caller or stage.cast.of(COORDINATOR)).credentials(), bearer=False)


def _case_body(stage: Stage, caller: Identity | None) -> dict[str, Any]:
    return stage.scene.update_body() | {"reference": f"NBO-{uuid.uuid4().hex[:6].upper()}"}


def _charter_body() -> dict[str, Any]:
    """A flight of its own each time: a flight has one movement a day."""
    departs = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    return {"flight_number": f"CH{uuid.uuid4().hex[:6]}", "departs_at": departs.isoformat(),
            "arrives_at": (departs + timedelta(hours=14)).isoformat(), "origin": "NBO",
            "destination_country": "CA", "destination_city": "Winnipeg", "seats": 200}


CALLS: dict[Route, Callable[[Stage, Identity | None], Call]] = {
    ("GET", "/openapi.json"): lambda s, c: Call("/openapi.json"),
    ("GET", "/docs"): lambda s, c: Call("/docs"),
    ("GET", "/docs/oauth2-redirect"): lambda s, c: Call("/docs/oauth2-redirect"),
    ("GET", "/redoc"): lambda s, c: Call("/redoc"),
    ("GET", "/partners/contract.json"): lambda s, c: Call("/partners/contract.json"),
    ("GET", "/healthz"): lambda s, c: Call("/healthz"),
    ("GET", "/readyz"): lambda s, c: Call("/readyz"),
    ("GET", "/metrics"): lambda s, c: Call("/metrics"),
    ("POST", "/auth/token"): _token,
    ("GET", "/cases"): lambda s, c: Call("/cases"),
    ("GET", "/cases/{case_id}"): lambda s, c: Call(f"/cases/{s.scene.case_id}"),
    ("GET", "/cases/{case_id}/timeline"): lambda s, c: Call(f"/cases/{s.scene.case_id}/timeline"),
    ("GET", "/medical/worklist"): lambda s, c: Call("/medical/worklist"),
    ("GET", "/medical/cases/{case_id}/people/{person_id}"):
        lambda s, c: Call(f"/medical/cases/{s.scene.case_id}/people/{s.scene.principal}"),
    ("GET", "/arrivals"): lambda s, c: Call("/arrivals"),
    ("GET", "/arrivals/{case_id}/manifest"): lambda s, c: Call(f"/arrivals/{s.scene.case_id}/manifest"),
    ("GET", "/cases/{case_id}/documents"): lambda s, c: Call(f"/cases/{s.scene.case_id}/documents"),
    ("GET", "/documents/{document_id}"): lambda s, c: Call(f"/documents/{s.paper_for(c)}"),
    ("GET", "/documents/{document_id}/pdf"): lambda s, c: Call(f"/documents/{s.paper_for(c)}/pdf"),
    ("GET", MANIFEST): lambda s, c: Call(s.papers.manifest_path),
    ("GET", f"{MANIFEST}/manifest.csv"): lambda s, c: Call(f"{s.papers.manifest_path}/manifest.csv"),
    ("GET", f"{MANIFEST}/manifest.pdf"): lambda s, c: Call(f"{s.papers.manifest_path}/manifest.pdf"),
    ("GET", f"{MANIFEST}/versions"): lambda s, c: Call(f"{s.papers.manifest_path}/versions"),
    ("GET", "/verify/{reference}"): lambda s, c: Call(f"/verify/{s.papers.travel_pack}"),
    ("GET", MOVEMENT): lambda s, c: Call(f"/movements/{s.papers.movement_id}"),
    ("GET", "/reception/webhook"): lambda s, c: Call("/reception/webhook"),
    # The results clinic A already sent (answered again, unchanged), and the principal's fitness check still due.
    ("POST", "/medical/cases/{case_id}/assessments"): lambda s, c: Call(
        f"/medical/cases/{s.scene.case_id}/assessments",
        json=assessment_of(s.scene.principal, s.scene.exam_day, TbClass.B1, DIAGNOSIS, ["follow_up_after_arrival"])),
    ("POST", "/medical/cases/{case_id}/screenings"): lambda s, c: Call(
        f"/medical/cases/{s.scene.case_id}/screenings",
        json={"person_id": s.scene.principal, "screened_on": s.scene.screened_on.isoformat(), "cleared": True,
              "findings": SCREENING_FINDINGS}),
    ("POST", "/medical/cases/{case_id}/fitness-checks"): lambda s, c: Call(
        f"/medical/cases/{s.scene.case_id}/fitness-checks",
        json={"person_id": s.scene.principal, "checked_at": s.scene.now.isoformat(), "fit": True}),
    ("POST", "/callbacks/exit-permits/{reference}"): lambda s, c: Call(
        f"/callbacks/exit-permits/{s.scene.exit_permit_reference}", json=_decision("EP-448120")),
    ("POST", "/callbacks/travel-documents/{reference}"): lambda s, c: Call(
        f"/callbacks/travel-documents/{s.scene.travel_document_reference}", json=_decision("ETD-7781")),
    ("POST", "/callbacks/bookings/{booking_ref}"): lambda s, c: Call(
        f"/callbacks/bookings/{s.scene.booking_ref}", json={"status": "confirmed"}),
    ("POST", f"{MOVEMENT}/boarding"): lambda s, c: Call(
        f"/movements/{s.papers.movement_id}/boarding", json={"boarded_person_ids": [s.scene.principal]}),
    ("POST", f"{MOVEMENT}/arrival"): lambda s, c: Call(f"/movements/{s.papers.movement_id}/arrival"),
    ("POST", "/charters"): lambda s, c: Call("/charters", json=_charter_body()),
    ("POST", "/charters/{movement_id}/proposal"): lambda s, c: Call(f"/charters/{s.charter}/proposal"),
    ("POST", "/charters/{movement_id}/allocation"): lambda s, c: Call(
        f"/charters/{s.charter}/allocation", json={"case_ids": [s.scene.case_id]}),
    ("PUT", "/reception/webhook"): lambda s, c: Call("/reception/webhook", json={
        "url": "https://reception.example.org/hooks", "secret": "a-shared-secret-of-forty-characters-0001"}),
    ("POST", "/cases"): lambda s, c: Call("/cases", json=_case_body(s, c) | {"people": [
        {k: v for k, v in p.items() if k != "person_id"} for p in s.scene.update_body()["people"]]}),
    ("PUT", "/cases/{case_id}"): lambda s, c: Call(f"/cases/{s.scene.case_id}", json=_case_body(s, c)),
    ("POST", "/cases/{case_id}/departure"): lambda s, c: Call(f"/cases/{s.scene.case_id}/departure"),
    ("POST", "/cases/{case_id}/departure/defer"): lambda s, c: Call(
        f"/cases/{s.quiet['defer']}/departure/defer",
        json={"not_before": (s.scene.today + timedelta(days=60)).isoformat(), "reason": "family asked to wait"}),
    ("POST", "/cases/{case_id}/departure/date"): lambda s, c: Call(
        f"/cases/{s.quiet['date']}/departure/date",
        json={"date": (s.scene.today + timedelta(days=75)).isoformat(), "reason": "charter moved"}),
    ("POST", "/cases/{case_id}/departure/cancel"): lambda s, c: Call(
        f"/cases/{s.quiet['cancel']}/departure/cancel", json={"reason": "case withdrawn"}),
    ("GET", "/audit"): lambda s, c: Call("/audit"),
    ("POST", "/auth/revoke"): _revocation,
}


# -- running it ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exchange:
    route: Route
    caller: Identity | None
    status: int
    body: Any  # the JSON answer, or None for HTML and empty answers

    @property
    def who(self) -> str:
        return self.caller.label if self.caller else "no token"

    @property
    def what(self) -> str:
        return f"{self.route[0]} {self.route[1]} as {self.who}"


@dataclass(frozen=True)
class Matrix:
    stage: Stage
    exchanges: list[Exchange]
    medical_summary: dict[str, int] = field(default_factory=dict)  # who -> status of GET its PDF

    def answers(self, route: Route) -> list[Exchange]:
        return [e for e in self.exchanges if e.route == route]


def callers(cast: Cast) -> list[Identity | None]:
    # Outsiders before the owner, so that the owner's change (a cancellation, a revocation) comes last.
    return [None, *(i for i in cast if i.side == "b"), *(i for i in cast if i.side == "a")]


@pytest_asyncio.fixture(scope="module")
async def matrix(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Matrix]:
    async with open_world(database_url, f"tq-matrix-{uuid.uuid4().hex[:8]}", FAST_PARTNERS) as world:
        # Production limits, except that this one test client signs in every account of both sides, twice, from
        # one address.
        settings = harness_settings(tmp_path_factory.mktemp("matrix"), world.task_queue,
                                    rate_limit_login="200/minute")
        async with serving(settings, world.store, world.client) as (_, http):
            cast = await Cast.enrol(world.store, http)
            scene = await drive_to_manifest(world, http, cast)
            spare = {identity: await sign_in(http, identity) for identity in cast if identity.side == "a"}
            quiet = {change: await idle_departure(world, http, cast) for change in ("defer", "date", "cancel")}
            charter = await http.post("/charters", json=_charter_body(), headers=cast.headers(COORDINATOR))
            assert charter.status_code == 201, charter.text
            stage = Stage(scene, cast, spare, quiet, await file_papers(world.store, scene, cast),
                          charter.json()["movement_id"])
            exchanges = []
            for route in POLICY:
                for caller in callers(cast):
                    call = CALLS[route](stage, caller)
                    headers = bearer(cast.tokens[caller]) if caller is not None and call.bearer else {}
                    response = await http.request(route[0], call.path, json=call.json, data=call.form,
                                                  headers=headers)
                    is_json = "json" in response.headers.get("content-type", "")
                    exchanges.append(Exchange(route, caller, response.status_code,
                                              response.json() if is_json else None))
            medical = {}
            for caller in callers(cast):
                headers = bearer(cast.tokens[caller]) if caller is not None else {}
                response = await http.get(f"/documents/{stage.papers.medical_summary}/pdf", headers=headers)
                medical[caller.label if caller else "no token"] = response.status_code
            yield Matrix(stage, exchanges, medical)


def test_the_policy_names_every_route_of_the_app() -> None:
    app = create_app()  # the routes only: no request is made
    routes = set(api_routes(app))
    assert routes - POLICY.keys() == set(), "routes without an entry in POLICY: say who may call them"
    assert POLICY.keys() - routes == set(), "POLICY names routes the app no longer has"
    assert CALLS.keys() == POLICY.keys()
    assert all(policy.roles for policy in POLICY.values())


def test_every_route_answers_every_caller_as_the_policy_says(matrix: Matrix) -> None:
    wrong = []
    for exchange in matrix.exchanges:
        want = expected(POLICY[exchange.route], exchange.caller)
        if want == ALLOWED and exchange.route in REFUSED_BY_STATE:
            want = REFUSED_BY_STATE[exchange.route]
        ok = 200 <= exchange.status < 300 if want == ALLOWED else exchange.status == want
        if not ok:
            detail = exchange.body.get("detail") if isinstance(exchange.body, dict) else None
            wrong.append(f"{exchange.what}: expected {want}, got {exchange.status} ({detail})")
    assert not wrong, "\n".join(wrong)
    roles_seen = {e.caller.role for e in matrix.exchanges if e.caller is not None}
    assert roles_seen == set(Role) and len(matrix.exchanges) == len(POLICY) * (1 + 2 * len(Role))


def test_each_organisation_lists_only_its_own_objects(matrix: Matrix) -> None:
    scene = matrix.stage.scene
    for route, policy in POLICY.items():
        if policy.reach not in (Reach.OWN_LIST, Reach.OWN_NEW):
            continue
        for exchange in matrix.answers(route):
            if exchange.caller is None or exchange.caller.role not in policy.roles:
                continue
            text = str(exchange.body)
            if policy.reach is Reach.OWN_NEW:
                assert exchange.body["office_id"] == exchange.caller.org_id, exchange.what
            elif exchange.caller.side == "a":
                assert scene.case_id in text, f"{exchange.what} does not show office A's case"
            else:
                shown = [object_id for object_id in scene.object_ids() if object_id in text]
                assert not shown, f"{exchange.what} shows side A's {shown}"
    other = [e for e in matrix.answers(("GET", "/cases")) if e.caller and e.caller.label == "coordinator/b"]
    assert scene.other_case_id in str(other[0].body), "office B lists its own case"


def test_no_one_but_the_clinic_of_the_case_is_shown_a_medical_field_or_value(matrix: Matrix) -> None:
    leaks = []
    for exchange in matrix.exchanges:
        if exchange.route in DOCUMENTATION:
            continue
        caller = exchange.caller
        if caller is not None and caller.role in MEDICAL_ROLES and caller.side == "a":
            continue  # clinic A's own medical views: the next test
        leaks += [f"{exchange.what}: {leak}" for leak in medical_leaks(exchange.body)]
    assert not leaks, "\n".join(leaks)
    checked = [e for e in matrix.exchanges if e.caller is None or e.caller.role not in MEDICAL_ROLES]
    assert sum(1 for e in checked if 200 <= e.status < 300 and e.body) >= 20, "too few answers to judge by"


def test_clinic_a_alone_reads_the_diagnosis(matrix: Matrix) -> None:
    route = ("GET", "/medical/cases/{case_id}/people/{person_id}")
    by_caller = {e.who: e for e in matrix.answers(route)}
    medical_file = by_caller["medical_partner/a"]
    assert medical_file.status == 200
    assert medical_file.body["assessment"]["tb_class"] == "B1"
    assert medical_file.body["assessment"]["findings"] == DIAGNOSIS
    assert medical_file.body["screening"]["findings"] == SCREENING_FINDINGS
    assert medical_file.body["screening"]["cleared"] is True
    assert by_caller["medical_partner/b"].status == 404
    assert medical_leaks(medical_file.body), "the leak detector must recognise a real medical view"
    # Reception A's manifest has the needs the clinic found, and nothing of how it found them.
    manifest = next(e for e in matrix.answers(("GET", "/arrivals/{case_id}/manifest"))
                    if e.who == "reception_team/a").body
    needs = {t["person_id"]: t["functional_needs"] for t in manifest["travellers"]}
    scene = matrix.stage.scene
    assert needs[scene.principal] == ["follow_up_after_arrival"] and needs[scene.spouse] == ["oxygen"]


def test_only_clinic_a_downloads_the_medical_summary(matrix: Matrix) -> None:
    """Not office A, whose case it is, nor reception A, which receives the family: the diagnosis is clinic A's."""
    answers = matrix.medical_summary
    assert answers.pop("medical_partner/a") == 200
    assert answers.pop("no token") == 401
    wrong = {who: status for who, status in answers.items()
             if status != (404 if who.split("/")[0] in {r.value for r in DOCUMENT_READERS} else 403)}
    assert not wrong, wrong
