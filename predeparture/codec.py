"""Encrypts every workflow payload before it reaches the Temporal server.

Workflow inputs, results, signals and activity arguments carry names, dates of birth and medical results; the
Temporal server, its database and anyone reading its UI must only ever see ciphertext. Each payload is the
serialized Payload protobuf sealed with AES-256-GCM under a fresh 12-byte nonce, laid out as nonce || ciphertext,
which is the format of Temporal's own encryption samples, so their codec server can decrypt it for the UI.

The key id travels in the payload's metadata so keys can be rotated: encode always uses the current key, decode
picks whichever known key the payload names, so histories written under an older key stay readable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
_TAG_BYTES = 16


class PayloadDecryptionError(ValueError):
    """An encrypted payload cannot be opened: unknown key id, wrong key, or altered bytes."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, key_id: str, key: bytes, previous_keys: Mapping[str, bytes] | None = None) -> None:
        super().__init__()
        if not key_id:
            raise ValueError("the encryption key id must not be empty")
        keys = {**(previous_keys or {}), key_id: key}
        for each_id, each_key in keys.items():
            if len(each_key) != KEY_BYTES:
                raise ValueError(f"encryption key {each_id!r} must be {KEY_BYTES} bytes, got {len(each_key)}")
        self.key_id = key_id
        self._current = AESGCM(key)
        self._by_id = {each_id: AESGCM(each_key) for each_id, each_key in keys.items()}

    @property
    def known_key_ids(self) -> Sequence[str]:
        return tuple(self._by_id)

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self._seal(payload) for payload in payloads]

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self._open(payload) for payload in payloads]

    def _seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: self.key_id.encode()},
            data=nonce + sealed,
        )

    def _open(self, payload: Payload) -> Payload:
        # Payloads written before encryption was switched on, or by another codec-less client, pass through.
        if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._by_id.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._by_id))
            raise PayloadDecryptionError(
                f"payload was encrypted with key id {key_id!r}, which this process does not have (known: {known})"
            )
        if len(payload.data) < NONCE_BYTES + _TAG_BYTES:
            raise PayloadDecryptionError(f"encrypted payload under key id {key_id!r} is truncated")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plaintext = cipher.decrypt(nonce, sealed, None)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"encrypted payload under key id {key_id!r} failed authentication: it was altered, "
                "or the key behind that id has changed"
            ) from None
        return Payload.FromString(plaintext)
