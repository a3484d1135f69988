"""Payload encryption: what reaches the Temporal server must not show a traveller's name or medical result."""

from __future__ import annotations

import base64
import secrets
import stat
import uuid
from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History

with workflow.unsafe.imports_passed_through():
    import pytest
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.converter import DataConverter
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from domain.case import Person, Relationship, Sex
    from domain.medical import AssessmentResult, TbClass
    from predeparture.codec import ENCRYPTED_ENCODING, EncryptionCodec, PayloadDecryptionError
    from predeparture.keys import EncryptionKeyError, load_or_create_key
    from predeparture.settings import Settings
    from predeparture.temporal import data_converter

GIVEN_NAME = "Zainab"
FAMILY_NAME = "Haidari-Qasemi"
FINDINGS = "pulmonary tuberculosis, treated"
LEAKS = (GIVEN_NAME.encode(), FAMILY_NAME.encode(), b"tb_class", b"tuberculosis")


class ClearanceRequest(BaseModel):
    traveller: Person
    assessment: AssessmentResult


class Clearance(BaseModel):
    person_id: str
    traveller_name: str
    cleared: bool
    needs_screening: bool


@activity.defn
async def assess_clearance(request: ClearanceRequest) -> Clearance:
    return Clearance(
        person_id=request.traveller.person_id,
        traveller_name=f"{request.traveller.given_name} {request.traveller.family_name}",
        cleared=request.assessment.cleared,
        needs_screening=request.assessment.needs_screening,
    )


@workflow.defn(sandboxed=True)
class ClearanceWorkflow:
    @workflow.run
    async def run(self, request: ClearanceRequest) -> Clearance:
        return await workflow.execute_activity(assess_clearance, request, start_to_close_timeout=timedelta(seconds=30))


def clearance_request() -> ClearanceRequest:
    traveller = Person(
        given_name=GIVEN_NAME,
        family_name=FAMILY_NAME,
        date_of_birth=date(1991, 3, 14),
        sex=Sex.FEMALE,
        nationality="AFG",
        languages=["fa", "ps"],
        relationship=Relationship.PRINCIPAL,
    )
    assessment = AssessmentResult(
        person_id=traveller.person_id,
        exam_date=date(2026, 1, 10),
        tb_class=TbClass.B1,
        findings=FINDINGS,
        examined_by="clinic_kbl_01",
    )
    return ClearanceRequest(traveller=traveller, assessment=assessment)


def raw_bytes(payloads: list[Payload]) -> bytes:
    return b"".join(payload.SerializeToString() for payload in payloads)


def new_key() -> bytes:
    return secrets.token_bytes(32)


def isolated_settings(tmp_path: Path, **values: object) -> Settings:
    # No .env file and explicit values, so the developer's own PREDEPARTURE_* environment cannot leak in.
    return Settings(_env_file=None, data_dir=tmp_path / "data" / "nested", **values)  # type: ignore[call-arg]


# --- the codec through the full data converter ---


async def test_round_trip_through_the_data_converter_gives_back_the_same_model() -> None:
    converter = data_converter("k1", new_key())
    request = clearance_request()

    payloads = await converter.encode([request])
    (decoded,) = await converter.decode(payloads, [ClearanceRequest])

    assert decoded == request
    assert decoded.assessment.tb_class is TbClass.B1


async def test_encoded_payload_shows_neither_the_name_nor_the_tb_class() -> None:
    request = clearance_request()
    plain = raw_bytes(await pydantic_data_converter.encode([request]))
    # The control proves the check can fail: without the codec everything is readable.
    assert GIVEN_NAME.encode() in plain and b'"tb_class":"B1"' in plain

    payloads = await data_converter("k1", new_key()).encode([request])

    encrypted = raw_bytes(payloads)
    for leak in LEAKS:
        assert leak not in encrypted
    assert payloads[0].metadata["encoding"] == ENCRYPTED_ENCODING
    assert payloads[0].metadata["encryption-key-id"] == b"k1"


async def test_each_encoding_uses_a_fresh_nonce() -> None:
    converter = data_converter("k1", new_key())
    request = clearance_request()

    first, second = (await converter.encode([request]))[0], (await converter.encode([request]))[0]

    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


@pytest.mark.parametrize("position", [0, 11, 12, 40, -1], ids=["nonce", "nonce-end", "body", "middle", "tag"])
async def test_a_tampered_payload_is_refused(position: int) -> None:
    converter = data_converter("k1", new_key())
    (payload,) = await converter.encode([clearance_request()])
    altered = bytearray(payload.data)
    altered[position] ^= 0x01
    tampered = Payload(metadata=dict(payload.metadata), data=bytes(altered))

    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await converter.decode([tampered], [ClearanceRequest])


async def test_a_truncated_payload_is_refused() -> None:
    codec = EncryptionCodec("k1", new_key())
    (payload,) = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"{}")])
    cut = Payload(metadata=dict(payload.metadata), data=payload.data[:20])

    with pytest.raises(PayloadDecryptionError, match="truncated"):
        await codec.decode([cut])


async def test_a_rotated_key_still_reads_payloads_written_under_the_old_one() -> None:
    old_key, new = new_key(), new_key()
    request = clearance_request()
    written_before_rotation = await data_converter("k1", old_key).encode([request])

    rotated = data_converter("k2", new, previous_keys={"k1": old_key})
    (decoded,) = await rotated.decode(written_before_rotation, [ClearanceRequest])
    written_after_rotation = await rotated.encode([request])

    assert decoded == request
    assert written_after_rotation[0].metadata["encryption-key-id"] == b"k2"
    (again,) = await data_converter("k2", new).decode(written_after_rotation, [ClearanceRequest])
    assert again == request


async def test_an_unknown_key_id_is_refused_naming_the_id() -> None:
    written = await data_converter("k1", new_key()).encode([clearance_request()])

    with pytest.raises(PayloadDecryptionError, match="'k1'.*known: k2"):
        await data_converter("k2", new_key()).decode(written, [ClearanceRequest])


async def test_a_different_key_under_the_same_id_is_refused() -> None:
    written = await data_converter("k1", new_key()).encode([clearance_request()])

    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await data_converter("k1", new_key()).decode(written, [ClearanceRequest])


async def test_unencrypted_payloads_pass_through_decode_unchanged() -> None:
    plain = await pydantic_data_converter.encode([clearance_request()])

    decoded = await EncryptionCodec("k1", new_key()).decode(plain)

    assert decoded == plain


def test_a_key_of_the_wrong_length_is_refused_by_the_codec() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        EncryptionCodec("k1", b"too short")
    with pytest.raises(ValueError, match="'old'"):
        EncryptionCodec("k1", new_key(), previous_keys={"old": b"x" * 16})


# --- where the key comes from ---


def test_a_key_is_generated_once_and_kept_in_the_data_directory(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)

    key_id, key = load_or_create_key(settings)
    key_path = settings.data_dir / "encryption.key"

    assert key_id == "k1" and len(key) == 32
    assert key_path.is_file()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert load_or_create_key(settings) == (key_id, key)
    assert load_or_create_key(isolated_settings(tmp_path)) == (key_id, key)
    assert [p.name for p in settings.data_dir.iterdir()] == ["encryption.key"]


def test_the_key_file_holds_a_value_the_environment_setting_accepts(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    _, generated = load_or_create_key(settings)
    text = (settings.data_dir / "encryption.key").read_text()

    from_setting = isolated_settings(tmp_path / "elsewhere", encryption_key=text.strip(), encryption_key_id="prod-1")

    assert load_or_create_key(from_setting) == ("prod-1", generated)


def test_the_environment_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key = new_key()
    settings = isolated_settings(tmp_path, encryption_key=base64.b64encode(key).decode())

    assert load_or_create_key(settings) == ("k1", key)
    assert not settings.data_dir.exists()


def test_the_environment_key_is_read_from_the_real_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key()
    monkeypatch.setenv("PREDEPARTURE_ENCRYPTION_KEY", base64.b64encode(key).decode())
    monkeypatch.setenv("PREDEPARTURE_ENCRYPTION_KEY_ID", "2026-01")
    monkeypatch.setenv("PREDEPARTURE_DATA_DIR", str(tmp_path / "data"))

    assert load_or_create_key(Settings(_env_file=None)) == ("2026-01", key)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "value", [base64.b64encode(b"x" * 16).decode(), base64.b64encode(b"x" * 33).decode(), "not base64!"]
)
def test_a_wrong_environment_key_is_refused_naming_the_variable(tmp_path: Path, value: str) -> None:
    settings = isolated_settings(tmp_path, encryption_key=value)

    with pytest.raises(EncryptionKeyError, match="PREDEPARTURE_ENCRYPTION_KEY"):
        load_or_create_key(settings)


def test_a_damaged_key_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "encryption.key").write_text(base64.b64encode(b"short").decode())

    with pytest.raises(EncryptionKeyError, match="encryption.key.*PREDEPARTURE_ENCRYPTION_KEY"):
        load_or_create_key(settings)


# --- end to end on a Temporal server ---


async def run_clearance(
    env: WorkflowEnvironment, converter: DataConverter, request: ClearanceRequest
) -> tuple[Client, str, Clearance]:
    """Runs the workflow with worker and client sharing `converter`: (that client, the workflow id, the result)."""
    client = Client(**{**env.client.config(), "data_converter": converter})
    task_queue = f"tq-{uuid.uuid4().hex[:12]}"
    workflow_id = f"dep_{uuid.uuid4().hex[:16]}"
    async with Worker(client, task_queue=task_queue, workflows=[ClearanceWorkflow], activities=[assess_clearance]):
        result = await client.execute_workflow(
            ClearanceWorkflow.run, request, id=workflow_id, task_queue=task_queue, result_type=Clearance
        )
    return client, workflow_id, result


async def history_bytes(client: Client, workflow_id: str) -> bytes:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return History(events=history.events).SerializeToString() + history.to_json().encode()


async def test_the_server_history_never_holds_the_name(time_skipping_env: WorkflowEnvironment) -> None:
    request = clearance_request()
    key = new_key()
    no_codec = Client(**{**time_skipping_env.client.config(), "data_converter": pydantic_data_converter})

    # Control: the same workflow without encryption leaves the name in the history, so the check below can fail.
    _, plain_id, _ = await run_clearance(time_skipping_env, pydantic_data_converter, request)
    assert GIVEN_NAME.encode() in await history_bytes(no_codec, plain_id)

    codec_client, workflow_id, result = await run_clearance(time_skipping_env, data_converter("k1", key), request)

    assert result.traveller_name == f"{GIVEN_NAME} {FAMILY_NAME}"
    assert result.cleared and result.needs_screening
    raw = await history_bytes(no_codec, workflow_id)
    for leak in LEAKS:
        assert leak not in raw
    assert ENCRYPTED_ENCODING in raw
    with pytest.raises(KeyError, match="binary/encrypted"):
        await no_codec.get_workflow_handle_for(ClearanceWorkflow.run, workflow_id).result()
    again = await codec_client.get_workflow_handle_for(ClearanceWorkflow.run, workflow_id).result()
    assert again == result
