from __future__ import annotations

import timeit

from openfxn.server.auth import keys


def test_generated_keys_have_prefix_and_checksum() -> None:
    key = keys.generate_key()

    assert key.startswith("ofxn_")
    assert len(key) == keys.KEY_LENGTH
    assert keys.is_well_formed(key)


def test_generated_keys_are_unique() -> None:
    assert len({keys.generate_key() for _ in range(1000)}) == 1000


def test_mistyped_key_fails_the_checksum() -> None:
    key = keys.generate_key()
    replacement = "a" if key[10] != "a" else "b"
    typo = key[:10] + replacement + key[11:]

    assert not keys.is_well_formed(typo)


def test_foreign_strings_are_not_well_formed() -> None:
    for candidate in ("", "ofxn_", "sk_live_abc", "👁👄👁", "ofxn_" + "!" * 38):
        assert not keys.is_well_formed(candidate)


def test_digest_is_sha256_hex_and_not_the_key() -> None:
    key = keys.generate_key()

    assert len(keys.digest(key)) == 64
    assert key not in keys.digest(key)
    assert keys.digest(key) == keys.digest(key)


def test_hint_shows_only_the_ends() -> None:
    key = keys.generate_key()
    hint = keys.hint(key)

    assert hint.startswith(key[:9])
    assert hint.endswith(key[-4:])
    assert key[12:-6] not in hint


def test_verification_costs_microseconds() -> None:
    key = keys.generate_key()

    seconds = timeit.timeit(
        lambda: keys.is_well_formed(key) and keys.digest(key), number=1000
    )

    # A loose bound, to catch a slow KDF slipping in, not a benchmark.
    assert seconds < 1.0
