"""Where the payload encryption key comes from.

Production sets PREDEPARTURE_ENCRYPTION_KEY (the API and the worker must share it). The embedded run on one machine
has no such secret, so the first process to start makes a key and keeps it in `<data_dir>/encryption.key`, readable
by its owner only; every later process on that data directory reads the same file.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from pathlib import Path

from predeparture.codec import KEY_BYTES
from predeparture.secret_files import read_or_create_secret
from predeparture.settings import Settings

KEY_FILE_NAME = "encryption.key"
ENV_NAME = "PREDEPARTURE_ENCRYPTION_KEY"


class EncryptionKeyError(ValueError):
    """The configured or stored encryption key is not base64 of 32 bytes."""


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def load_or_create_key(settings: Settings) -> tuple[str, bytes]:
    """The current (key id, key): from the setting, else the data directory's key file, else a new key file."""
    if settings.encryption_key is not None:
        return settings.encryption_key_id, _decode(settings.encryption_key.get_secret_value(), ENV_NAME)
    path = key_file(settings)
    return settings.encryption_key_id, _decode(read_or_create_secret(path, generate_key_text), f"the key file {path}")


def generate_key_text() -> str:
    """A fresh key in the form PREDEPARTURE_ENCRYPTION_KEY takes."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _decode(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionKeyError(
            f"{source} is not valid base64; {ENV_NAME} must be base64 of {KEY_BYTES} random bytes "
            "(for example: python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
        ) from None
    if len(key) != KEY_BYTES:
        raise EncryptionKeyError(
            f"{source} decodes to {len(key)} bytes; {ENV_NAME} must be base64 of exactly {KEY_BYTES} bytes "
            "(AES-256-GCM)"
        )
    return key
