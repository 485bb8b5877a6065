"""Secrets at rest: AES-256-GCM under a key ring that can rotate.

A sealed value reads ``v1.<key id>.<base64 of nonce + ciphertext>``. The
associated data binds it to where it belongs (owner, predictor, name), so a
ciphertext copied into another row fails to open. The current key seals; the
older keys in ``OPENFXN_OLD_SECRET_KEYS`` still open what they sealed. Without
``OPENFXN_SECRET_KEY`` a key is generated once into ``DATA/secret.key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openfxn.server.settings import Settings

VERSION = "v1"
KEY_FILE = "secret.key"


class SecretError(Exception):
    """A sealed value that cannot be opened: wrong place, unknown key, or damaged."""


class KeyRing:
    def __init__(self, current: bytes, older: list[bytes] | None = None) -> None:
        self.current_id = key_id(current)
        self.keys = {key_id(key): key for key in [current, *(older or [])]}

    def seal(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        payload = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{VERSION}.{self.current_id}.{payload}"

    def open(self, token: str, context: str) -> str:
        version, kid, payload = [*token.split(".", 2), "", ""][:3]
        if version != VERSION or kid not in self.keys:
            raise SecretError(f"sealed with an unknown key ({kid or 'none'})")
        try:
            raw = base64.urlsafe_b64decode(payload)
            opened = AESGCM(self.keys[kid]).decrypt(
                raw[:12], raw[12:], context.encode()
            )
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretError("does not belong here, or is damaged") from None
        return opened.decode()

    def is_current(self, token: str) -> bool:
        """Whether ``token`` was sealed under the current key."""
        return token.startswith(f"{VERSION}.{self.current_id}.")

    def derive(self, purpose: str) -> bytes:
        """A key for another purpose (signing upload URLs), bound to the current key."""
        return hmac.new(
            self.keys[self.current_id], purpose.encode(), hashlib.sha256
        ).digest()


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def decode_key(text: str, origin: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise SystemExit(
            f"{origin} must be the base64 of 32 random bytes; make one with: "
            "openssl rand -base64 32"
        )
    return key


def load_key_ring(settings: Settings) -> KeyRing:
    old = settings.old_secret_keys
    texts = old.get_secret_value().split(",") if old is not None else []
    older = [
        decode_key(text, "OPENFXN_OLD_SECRET_KEYS") for text in texts if text.strip()
    ]
    if settings.secret_key is not None:
        return KeyRing(
            decode_key(settings.secret_key.get_secret_value(), "OPENFXN_SECRET_KEY"),
            older,
        )
    return KeyRing(generated_key(settings.data / KEY_FILE), older)


def generated_key(path: Path) -> bytes:
    """The key in ``path``, created (readable by its owner only) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = base64.b64encode(secrets.token_bytes(32)).decode()
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(text + "\n")
    return decode_key(path.read_text(), str(path))
