from __future__ import annotations

import time
from urllib.parse import parse_qsl

import pytest

from openfxn.server.storage.signing import SignatureError, sign, verify

SECRET = b"s" * 32
PATH = "/uploads/ann/notebook/5f0c/greeter.ipynb"
EXPIRES = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def signed_query(path: str = PATH, expires: int = EXPIRES) -> dict[str, str]:
    return dict(parse_qsl(sign(path, expires, SECRET)))


def refusal(query: dict[str, str], path: str = PATH, now: float = EXPIRES - 1) -> str:
    with pytest.raises(SignatureError) as raised:
        verify(path, query, SECRET, now=now)
    return raised.value.message


def test_query_string_has_expiry_and_hex_signature() -> None:
    query = sign(PATH, EXPIRES, SECRET)

    assert query.startswith(f"expires={EXPIRES}&signature=")
    assert len(signed_query()["signature"]) == 64


def test_valid_signature_verifies() -> None:
    verify(PATH, signed_query(), SECRET, now=EXPIRES - 1)


def test_uppercase_signature_verifies() -> None:
    query = signed_query()
    query["signature"] = query["signature"].upper()

    verify(PATH, query, SECRET, now=EXPIRES - 1)


def test_default_clock_is_now() -> None:
    later = int(time.time()) + 60

    verify(PATH, signed_query(expires=later), SECRET)
    with pytest.raises(SignatureError, match="expired"):
        verify(PATH, signed_query(expires=later - 120), SECRET)


def test_unicode_path_verifies() -> None:
    path = "/uploads/ann/media/ключ/résumé café.png"

    verify(path, signed_query(path), SECRET, now=EXPIRES - 1)


@pytest.mark.parametrize(
    "path",
    [
        PATH.replace("greeter", "other"),
        PATH + "x",
        PATH.upper(),
        "/uploads/bob/notebook/5f0c/greeter.ipynb",
    ],
)
def test_tampered_path_is_refused(path: str) -> None:
    assert "does not match" in refusal(signed_query(), path=path)


def test_tampered_expiry_is_refused() -> None:
    query = signed_query()
    query["expires"] = str(EXPIRES + 3600)

    assert "does not match" in refusal(query)


def test_other_secret_is_refused() -> None:
    query = dict(parse_qsl(sign(PATH, EXPIRES, b"another secret")))

    assert "does not match" in refusal(query)


def test_expired_signature_says_when() -> None:
    message = refusal(signed_query(), now=EXPIRES + 90)

    assert message == "it expired at 2023-11-14 22:13:20 UTC, 90 s ago"


def test_signature_expires_at_its_second() -> None:
    assert "expired" in refusal(signed_query(), now=EXPIRES)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({}, "it has no `expires` and `signature` parameters"),
        ({"signature": "0" * 64}, "it has no `expires` parameter"),
        ({"expires": str(EXPIRES)}, "it has no `signature` parameter"),
    ],
)
def test_missing_parameters_are_named(query: dict[str, str], says: str) -> None:
    assert refusal(query) == says


@pytest.mark.parametrize("expires", ["", "soon", "-5", "1_700_000_000", "١٢٣", "1.5"])
def test_malformed_expiry_is_refused(expires: str) -> None:
    query = {**signed_query(), "expires": expires}

    assert "is not a Unix time" in refusal(query)


@pytest.mark.parametrize(
    "signature", ["", "z" * 64, "0" * 63, "0" * 65, "é" * 64, "0x" + "0" * 62]
)
def test_malformed_signature_is_refused(signature: str) -> None:
    query = {**signed_query(), "signature": signature}

    assert "not 64 hexadecimal digits" in refusal(query)


def test_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="secret is empty"):
        sign(PATH, EXPIRES, b"")
    with pytest.raises(ValueError, match="secret is empty"):
        verify(PATH, signed_query(), b"", now=EXPIRES - 1)


def test_negative_expiry_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="Unix time"):
        sign(PATH, -1, SECRET)
