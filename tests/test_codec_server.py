"""The codec server the Temporal UI calls: Temporal's remote codec protocol over HTTP, payloads in clear for a signed-in
operator only, every decode audited, CORS for the UI's origin; and the dev server told about it only when it is on.
On both databases (the accounts and the audit trail are in the store)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter

from api.auth import service as auth
from api.principal import Role
from domain.audit import AuditEvent
from domain.case import Case
from domain.departure import DepartureInput, departure_workflow_id
from domain.policy import DestinationPolicy
from predeparture.codec import ENCRYPTED_ENCODING, EncryptionCodec
from predeparture.codec_server import COOKIE, DECODED, create_codec_app
from predeparture.devstack import dev_server_command
from predeparture.settings import ApiSettings, CodecServerSettings, Settings
from store.repository import Store
from tests.departure_harness import TEST_KEY, World, open_world, quiet_simulator
from tests.factories import family
from workflows.departure import DepartureWorkflow

UI = "http://127.0.0.1:8233"
NAMESPACE = "default"
PLAINTEXT = b'{"given_name":"Zainab","findings":"pulmonary tuberculosis, treated"}'


def payloads_body(payloads: list[Payload]) -> dict[str, object]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


def payloads_of(response: httpx.Response) -> list[Payload]:
    return list(json_format.Parse(response.content, Payloads()).payloads)


@dataclass
class Cast:
    """An operator, a coordinator and a clinic (people), a travel partner and an operator's system (clients), each
    with a token; made once for the module, since every password is hashed the slow way."""

    settings: Settings
    store: Store
    tokens: dict[str, str]
    operator: tuple[str, str]  # username, password
    run: str  # in every organisation id here: the session's tests share one database


@dataclass
class CodecWorld:
    cast: Cast
    codec: EncryptionCodec
    http: httpx.AsyncClient
    recorded_before: int = 0

    @property
    def store(self) -> Store:
        return self.cast.store

    def headers(self, who: str | None, origin: str | None = UI) -> dict[str, str]:
        headers = {"X-Namespace": NAMESPACE, "Content-Type": "application/json"}
        if who is not None:
            headers["Authorization"] = f"Bearer {self.cast.tokens[who]}"
        if origin is not None:
            headers["Origin"] = origin
        return headers

    async def decode(self, payloads: list[Payload], who: str | None = "operator",
                     **options: str | None) -> httpx.Response:
        return await self.http.post("/decode", json=payloads_body(payloads), headers=self.headers(who, **options))

    async def all_decodes_recorded(self) -> list[AuditEvent]:
        return [e for e in await self.store.audit_events(NAMESPACE)
                if e.action == DECODED and e.detail["org_id"].endswith(self.cast.run)]

    async def decodes_recorded(self) -> list[AuditEvent]:
        """Those of this test."""
        return (await self.all_decodes_recorded())[self.recorded_before:]


async def _person(store: Store, role: Role, run: str, password: str) -> str:
    org = await auth.create_organisation(store, name=f"{role.value} {run}", role=role, org_id=f"{role.value}-{run}")
    user = await auth.create_user(store, org_id=org.org_id, username=f"{role.value}.{run}", password=password)
    return user.username


@pytest_asyncio.fixture(scope="module")
async def cast(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cast]:
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("codec"),
                        database_url=database_url, codec_server=CodecServerSettings(enabled=True),
                        api=ApiSettings(jwt_secret="k" * 40, auth_cache_ttl=timedelta(0)))
    store = Store.from_url(database_url)
    await store.migrate()
    authority = auth.Authority.from_settings(settings, store)
    run, password = uuid.uuid4().hex[:8], "a long passphrase for tests"
    tokens = {}
    for name, role in (("operator", Role.OPERATOR), ("coordinator", Role.COORDINATOR),
                       ("clinic", Role.MEDICAL_PARTNER)):
        username = await _person(store, role, run, password)
        tokens[name] = (await authority.password_grant(username, password, None)).access_token
    for name, role in (("partner", Role.TRAVEL_PARTNER), ("operator_system", Role.OPERATOR)):
        org = await auth.create_organisation(store, name=name, role=role, org_id=f"{name}-{run}")
        client, secret = await auth.create_client(store, org_id=org.org_id)
        tokens[name] = (await authority.client_grant(client.client_id, secret, None)).access_token
    yield Cast(settings, store, tokens, (f"operator.{run}", password), run)
    await store.close()


@pytest_asyncio.fixture
async def codec_world(cast: Cast) -> AsyncIterator[CodecWorld]:
    codec = EncryptionCodec("test", TEST_KEY)
    transport = httpx.ASGITransport(app=create_codec_app(cast.settings, cast.store, codec))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8234") as http:
        world = CodecWorld(cast, codec, http)
        world.recorded_before = len(await world.all_decodes_recorded())
        yield world


async def test_encode_then_decode_round_trips_through_the_server_as_the_worker_codec_does(
        codec_world: CodecWorld) -> None:
    clear = Payload(metadata={"encoding": b"json/plain"}, data=PLAINTEXT)

    encoded = await codec_world.http.post("/encode", json=payloads_body([clear]),
                                          headers=codec_world.headers("operator"))
    assert encoded.status_code == 200, encoded.text
    [sealed] = payloads_of(encoded)
    assert sealed.metadata["encoding"] == ENCRYPTED_ENCODING and b"Zainab" not in sealed.data
    assert await codec_world.codec.decode([sealed]) == [clear]  # the worker's codec opens what the server sealed

    by_worker = await codec_world.codec.encode([clear])
    for payload in (sealed, *by_worker):
        decoded = await codec_world.decode([payload])
        assert decoded.status_code == 200, decoded.text
        assert payloads_of(decoded) == [clear]
        assert decoded.headers["cache-control"] == "no-store"
        assert decoded.headers["access-control-allow-origin"] == UI


async def test_a_payload_from_a_departure_history_is_decoded_for_an_operator(
        codec_world: CodecWorld, database_url: str, task_queue: str, document_renderer: object) -> None:
    async with open_world(database_url, task_queue, quiet_simulator(), document_renderer) as world:  # type: ignore[arg-type]
        case = family((await world.env.get_current_time()).date(), passports=True)
        result = await loaded_case_payload(world, case)
    assert case.people[0].given_name.encode() not in result.data  # the history holds ciphertext only

    decoded = await codec_world.decode([result])

    assert decoded.status_code == 200, decoded.text
    [clear] = payloads_of(decoded)
    assert pydantic_data_converter.payload_converter.from_payload(clear, Case) == case
    [record] = await codec_world.decodes_recorded()
    assert record.detail["payloads"] == "1"


async def loaded_case_payload(world: World, case: Case) -> Payload:
    """The result of the departure's load_case activity, as its history holds it: the family, names and all."""
    await world.store.save_case(case)
    handle = await world.client.start_workflow(
        DepartureWorkflow.run, DepartureInput(case_id=case.case_id, policy=DestinationPolicy()),
        id=departure_workflow_id(case.case_id), task_queue=world.task_queue)
    world.started.append(handle)
    for _ in range(200):
        history = await handle.fetch_history()
        scheduled = {e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
                     for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED}
        for e in history.events:
            attributes = e.activity_task_completed_event_attributes
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and \
                    scheduled[attributes.scheduled_event_id] == "load_case":
                return attributes.result.payloads[0]
        await world.env.sleep(timedelta(seconds=1))
    raise AssertionError("the departure never loaded its case")


@pytest.mark.parametrize("who", [None, "coordinator", "clinic", "partner", "operator_system"])
async def test_no_one_but_a_signed_in_operator_gets_plaintext(codec_world: CodecWorld, who: str | None) -> None:
    [sealed] = await codec_world.codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=PLAINTEXT)])

    refused = await codec_world.decode([sealed], who)

    assert refused.status_code == (401 if who is None else 403)
    assert refused.headers["content-type"] == "application/problem+json"
    assert b"Zainab" not in refused.content
    assert refused.headers["access-control-allow-origin"] == UI  # the UI can show why
    if who is None:
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert await codec_world.decodes_recorded() == []
    encode = await codec_world.http.post("/encode", json=payloads_body([sealed]), headers=codec_world.headers(who))
    assert encode.status_code == refused.status_code


async def test_every_decode_is_audited_with_who_where_and_how_many_but_no_content(codec_world: CodecWorld) -> None:
    sealed = await codec_world.codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=PLAINTEXT)] * 3)

    assert (await codec_world.decode(sealed)).status_code == 200
    assert (await codec_world.http.post("/default/decode", json=payloads_body(sealed[:1]),
                                        headers=codec_world.headers("operator", origin=None))).status_code == 200

    records = await codec_world.decodes_recorded()
    assert [(r.object_type, r.object_id, r.detail["payloads"], r.detail["role"]) for r in records] == [
        ("namespace", NAMESPACE, "3", "operator"), ("namespace", NAMESPACE, "1", "operator")]
    assert all(r.actor.startswith(f"operator-{codec_world.cast.run}/user_") for r in records)
    assert "Zainab" not in json.dumps([r.model_dump(mode="json") for r in records])


async def test_a_tampered_payload_or_an_unknown_key_is_refused_by_name(codec_world: CodecWorld) -> None:
    [sealed] = await codec_world.codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=PLAINTEXT)])
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    [foreign] = await EncryptionCodec("k9", bytes(32)).encode([Payload(data=PLAINTEXT)])

    for bad, says in ((tampered, "failed authentication"), (foreign, "key id 'k9'")):
        refused = await codec_world.decode([sealed, bad])
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("payloads.1: ") and says in refused.json()["detail"]
    other_namespace = await codec_world.http.post("/decode", json=payloads_body([sealed]), headers={
        **codec_world.headers("operator"), "X-Namespace": "elsewhere"})
    assert other_namespace.status_code == 404
    assert (await codec_world.http.post("/decode", content=b"not json", headers=codec_world.headers(
        "operator"))).status_code == 400
    assert await codec_world.decodes_recorded() == []


async def test_the_ui_origin_passes_the_cors_preflight_and_no_other(codec_world: CodecWorld) -> None:
    asked = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}

    allowed = await codec_world.http.options("/decode", headers={"Origin": UI, **asked})
    other = await codec_world.http.options("/decode", headers={"Origin": "https://evil.example", **asked})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert {"authorization", "content-type", "x-namespace"} <= {
        h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")}
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers


async def test_the_ui_sends_the_sign_in_cookie_which_counts_from_its_origin_only(codec_world: CodecWorld) -> None:
    username, password = codec_world.cast.operator
    [sealed] = await codec_world.codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=PLAINTEXT)])

    signed_in = await codec_world.http.post("/sign-in", data={"username": username, "password": password})
    assert signed_in.status_code == 303
    assert "httponly" in signed_in.headers["set-cookie"].lower()
    assert "samesite=strict" in signed_in.headers["set-cookie"].lower()
    assert COOKIE in codec_world.http.cookies

    assert (await codec_world.decode([sealed], None)).status_code == 200
    assert (await codec_world.decode([sealed], None, origin="https://evil.example")).status_code == 403
    assert (await codec_world.decode([sealed], None, origin=None)).status_code == 403

    assert (await codec_world.http.post("/sign-out")).status_code == 303
    codec_world.http.cookies.clear()
    assert (await codec_world.decode([sealed], None)).status_code == 401
    assert len(await codec_world.decodes_recorded()) == 1


async def test_a_coordinator_cannot_sign_in_to_the_codec_server(codec_world: CodecWorld) -> None:
    coordinator = codec_world.cast.operator[0].replace("operator.", "coordinator.")
    page = await codec_world.http.post("/sign-in", data={"username": coordinator,
                                                         "password": codec_world.cast.operator[1]})
    assert page.status_code == 403 and COOKIE not in codec_world.http.cookies


def test_the_dev_server_gets_a_codec_endpoint_only_when_the_codec_server_is_on(tmp_path: Path) -> None:
    base = dict(address="127.0.0.1:7233", namespace=NAMESPACE, db_filename=tmp_path / "t.db")
    off = dev_server_command(**base, ui_port=8233)  # type: ignore[arg-type]
    on = dev_server_command(**base, ui_port=8233, codec_endpoint="http://127.0.0.1:8234")  # type: ignore[arg-type]
    headless = dev_server_command(**base, ui_port=None, codec_endpoint="http://127.0.0.1:8234")  # type: ignore[arg-type]

    assert "--ui-codec-endpoint" not in off and "--ui-codec-endpoint" not in headless
    assert on[on.index("--ui-codec-endpoint") + 1] == "http://127.0.0.1:8234"
    assert CodecServerSettings().enabled is False
