"""Reading the credential out of an ``Authorization`` header.

Two schemes carry an access key: ``Bearer KEY`` and Basic with the key as the
username and an empty password (``curl -u KEY:``). Basic is decoded as UTF-8
per RFC 7617, so keys outside ASCII survive, and split at the first colon.
The placeholders that official clients send when they hold no key (``Bearer
None``, ``null``, ...) mean "no credential", not an error.
"""

from __future__ import annotations

import base64
import binascii
import re

from openfxn.server.errors import Unauthenticated

MAX_HEADER_BYTES = 4096
PLACEHOLDERS = frozenset({"", "none", "null", "undefined"})
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def parse_authorization(header: str | None) -> str | None:
    """The credential in ``header``, or None for an anonymous request."""
    if header is None:
        return None
    if len(header.encode("utf-8", "surrogateescape")) > MAX_HEADER_BYTES:
        raise Unauthenticated(
            "The Authorization header is longer than 4 KiB. Send only your access "
            "key, as 'Bearer KEY'."
        )
    header = header.strip()
    if header.lower() in PLACEHOLDERS:
        return None

    scheme, _, parameter = header.partition(" ")
    parameter = parameter.strip()
    match scheme.lower():
        case "bearer":
            credential = None if parameter.lower() in PLACEHOLDERS else parameter
        case "basic":
            credential = parse_basic(parameter)
        case _:
            raise Unauthenticated(
                f"The Authorization scheme '{scheme[:20]}' is not supported. Send "
                "'Bearer KEY', or Basic auth with the key as the username and an "
                "empty password (curl -u KEY:)."
            )
    if credential is not None:
        reject_control_characters(credential)
    return credential


def parse_basic(parameter: str) -> str:
    try:
        raw = base64.b64decode(parameter + "=" * (-len(parameter) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthenticated(
            "The Basic credentials are not valid base64. Let your HTTP client encode "
            "them (curl -u KEY:)."
        ) from None

    username, separator, _password = raw.partition(b":")
    if not separator:
        raise Unauthenticated(
            "The Basic credentials have no colon. Put the access key before a colon "
            "with an empty password: curl -u KEY:"
        )
    try:
        key = username.decode("utf-8")
    except UnicodeDecodeError:
        raise Unauthenticated(
            "The Basic credentials are not UTF-8. Send the access key encoded as UTF-8."
        ) from None
    if not key:
        raise Unauthenticated(
            "The Basic username is empty. Put the access key in the username: "
            "curl -u KEY:"
        )
    return key


def reject_control_characters(credential: str) -> None:
    if CONTROL_CHARACTER.search(credential):
        raise Unauthenticated(
            "The access key contains control characters. Copy the key again, "
            "without line breaks or tabs."
        )
