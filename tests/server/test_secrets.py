from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from openfxn.server.secrets import KeyRing, SecretError, load_key_ring
from openfxn.server.settings import Settings

KEY = os.urandom(32)


def test_sealed_value_opens_in_its_place() -> None:
    ring = KeyRing(KEY)

    sealed = ring.seal("s3cret", "1|predictor:7|TOKEN")

    assert "s3cret" not in sealed
    assert ring.open(sealed, "1|predictor:7|TOKEN") == "s3cret"


def test_value_moved_elsewhere_fails_to_open() -> None:
    ring = KeyRing(KEY)
    sealed = ring.seal("s3cret", "1|predictor:7|TOKEN")

    for context in (
        "1|predictor:8|TOKEN",
        "2|predictor:7|TOKEN",
        "1|predictor:7|OTHER",
    ):
        with pytest.raises(SecretError):
            ring.open(sealed, context)


def test_rotation_keeps_old_values_readable() -> None:
    old = KeyRing(KEY)
    sealed = old.seal("s3cret", "ctx")
    new_key = os.urandom(32)

    rotated = KeyRing(new_key, [KEY])
    without_old = KeyRing(new_key)

    assert rotated.open(sealed, "ctx") == "s3cret"
    assert rotated.seal("x", "ctx").split(".")[1] != sealed.split(".")[1]
    with pytest.raises(SecretError, match="unknown key"):
        without_old.open(sealed, "ctx")


def test_damaged_value_fails_to_open() -> None:
    ring = KeyRing(KEY)
    sealed = ring.seal("s3cret", "ctx")

    with pytest.raises(SecretError):
        ring.open(sealed[:-4] + "AAAA", "ctx")


def test_generated_key_is_private_and_stable(tmp_path: Path) -> None:
    first = load_key_ring(Settings(data=tmp_path))
    second = load_key_ring(Settings(data=tmp_path))

    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert first.current_id == second.current_id


def test_configured_key_must_be_32_bytes(tmp_path: Path) -> None:
    good = base64.b64encode(KEY).decode()

    ring = load_key_ring(Settings(data=tmp_path, secret_key=good))

    assert ring.open(ring.seal("x", "c"), "c") == "x"
    with pytest.raises(SystemExit, match="32 random bytes"):
        load_key_ring(Settings(data=tmp_path, secret_key="c2hvcnQ="))
