"""Access keys: generation, checksum and digest.

A key reads ``ofxn_`` + 32 base62 characters (about 190 random bits) + a
6-character base62 CRC32 of the random part. The prefix lets secret scanners
find leaked keys; the checksum lets the server turn away mistyped or invented
keys without a database lookup. Only the SHA-256 digest is stored: the keys
carry enough entropy that a slow hash would add cost and no safety.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib

PREFIX = "ofxn_"
ALPHABET = string.digits + string.ascii_letters
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH


def generate_key() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return PREFIX + body + checksum(body)


def checksum(body: str) -> str:
    return to_base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def to_base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def is_well_formed(key: str) -> bool:
    """True when ``key`` has our prefix, length and a matching checksum."""
    if len(key) != KEY_LENGTH or not key.startswith(PREFIX):
        return False
    body = key[len(PREFIX) : len(PREFIX) + BODY_LENGTH]
    if not (body.isascii() and body.isalnum()):  # ALPHABET's characters only
        return False
    return secrets.compare_digest(checksum(body), key[-CHECKSUM_LENGTH:])


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hint(key: str) -> str:
    """A harmless reminder of which key this is: its start and its last four."""
    return f"{key[: len(PREFIX) + 4]}…{key[-4:]}"


def new_key_id() -> str:
    return "key_" + "".join(secrets.choice(ALPHABET) for _ in range(16))
