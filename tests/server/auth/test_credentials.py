from __future__ import annotations

import base64

import pytest

from openfxn.server.auth.credentials import parse_authorization
from openfxn.server.errors import Unauthenticated


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_bearer_returns_the_key() -> None:
    assert parse_authorization("Bearer ofxn_abc") == "ofxn_abc"


def test_scheme_is_case_insensitive() -> None:
    assert parse_authorization("bearer k1") == "k1"
    assert parse_authorization(basic(b"k2:").replace("Basic", "BASIC")) == "k2"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer None", "Bearer null", "null", "undefined", "Bearer "]
)
def test_placeholders_mean_anonymous(header: str | None) -> None:
    assert parse_authorization(header) is None


def test_basic_auth_accepts_empty_password() -> None:
    assert parse_authorization(basic(b"ofxn_key:")) == "ofxn_key"


def test_basic_auth_decodes_utf8_keys() -> None:
    assert parse_authorization(basic("👁👄👁:".encode())) == "👁👄👁"


def test_basic_auth_splits_at_first_colon() -> None:
    assert parse_authorization(basic(b"key:pass:word")) == "key"


def test_basic_auth_tolerates_missing_padding() -> None:
    header = basic(b"abcd:").rstrip("=")

    assert parse_authorization(header) == "abcd"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"no-colon", "no colon"),
        (b":password", "username is empty"),
        (b"k\x00x:", "control characters"),
        (b"k\x7fx:", "control characters"),
        ("é:".encode("latin-1"), "not UTF-8"),
    ],
)
def test_basic_auth_rejects_malformed_credentials(raw: bytes, problem: str) -> None:
    with pytest.raises(Unauthenticated, match=problem):
        parse_authorization(basic(raw))


def test_basic_auth_rejects_bad_base64() -> None:
    with pytest.raises(Unauthenticated, match="base64"):
        parse_authorization("Basic !!!not-base64")


def test_bearer_rejects_control_characters() -> None:
    with pytest.raises(Unauthenticated, match="control characters"):
        parse_authorization("Bearer ab\tc")


def test_header_over_4_kib_is_rejected() -> None:
    with pytest.raises(Unauthenticated, match="4 KiB"):
        parse_authorization("Bearer " + "k" * 4096)


def test_unknown_scheme_names_the_supported_ones() -> None:
    with pytest.raises(Unauthenticated, match="Bearer KEY"):
        parse_authorization("Digest username=x")
