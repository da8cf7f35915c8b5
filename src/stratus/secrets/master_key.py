"""The master key: 32 random bytes, base64url, one line, in ``<home>/master.key`` or STRATUS_MASTER_KEY."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from pathlib import Path

KEY_BYTES = 32
CHECK_SETTING = "master_key_check"


class MasterKeyError(RuntimeError):
    pass


def generate() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def decode(text: str, *, source: str) -> bytes:
    value = text.strip()
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError(f"{source}: the master key is not base64url text") from exc
    if len(raw) != KEY_BYTES:
        raise MasterKeyError(f"{source}: the master key must decode to {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def read(env_value: str | None, path: Path) -> bytes | None:
    """The key from the variable if set, else from the file if readable, else ``None``."""
    if env_value:
        return decode(env_value, source="STRATUS_MASTER_KEY")
    try:
        text = path.read_text()
    except OSError:
        return None
    return decode(text, source=str(path))


def check_value(key: bytes) -> str:
    """A value stored in the database to tell whether a later start holds the same key."""
    return hmac.new(key, b"stratus master key check v1", hashlib.sha256).hexdigest()
