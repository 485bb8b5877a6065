from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from openfxn.server.storage.objects import LocalStorage, Storage, StoredObject

NOTEBOOK_KEY = "uploads/ann/notebook/5f0c/greeter.ipynb"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "outside" / "objects"


@pytest.fixture
def storage(root: Path) -> LocalStorage:
    return LocalStorage(root)


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


async def test_put_then_get_round_trips(storage: Storage) -> None:
    await storage.put(NOTEBOOK_KEY, b'{"cells": []}', "application/x-ipynb+json")

    stored = await storage.get(NOTEBOOK_KEY)

    assert stored == StoredObject(b'{"cells": []}', "application/x-ipynb+json")


async def test_empty_object_round_trips(storage: Storage) -> None:
    await storage.put("values/empty", b"", "application/octet-stream")

    assert await storage.get("values/empty") == StoredObject(
        b"", "application/octet-stream"
    )


async def test_content_type_lives_in_a_sidecar(
    storage: LocalStorage, root: Path
) -> None:
    await storage.put("media/a.png", b"\x89PNG", "image/png")

    assert (root / "media" / "a.png").read_bytes() == b"\x89PNG"
    sidecar = json.loads((root / "media" / "a.png.meta.json").read_text())
    assert sidecar == {"content_type": "image/png"}


async def test_overwrite_replaces_data_and_type(storage: Storage) -> None:
    await storage.put("values/x", b"old", "text/plain")
    await storage.put("values/x", b"new bytes", "application/json")

    assert await storage.get("values/x") == StoredObject(
        b"new bytes", "application/json"
    )


async def test_missing_object_is_none(storage: Storage) -> None:
    assert await storage.get("values/missing") is None
    assert not await storage.exists("values/missing")


async def test_exists_after_put(storage: Storage) -> None:
    await storage.put("values/x", b"1", "text/plain")

    assert await storage.exists("values/x")
    assert not await storage.exists("values")


async def test_delete_removes_object_and_sidecar(
    storage: LocalStorage, root: Path
) -> None:
    await storage.put("values/x", b"1", "text/plain")

    await storage.delete("values/x")

    assert await storage.get("values/x") is None
    assert files_under(root) == ["values"]


async def test_delete_of_missing_object_is_quiet(storage: Storage) -> None:
    await storage.delete("values/never")
    await storage.delete("values/never/below")


async def test_missing_sidecar_reads_as_octet_stream(
    storage: LocalStorage, root: Path
) -> None:
    await storage.put("values/x", b"1", "text/plain")
    (root / "values" / "x.meta.json").unlink()

    assert await storage.get("values/x") == StoredObject(
        b"1", "application/octet-stream"
    )


async def test_large_object_is_written_whole_without_temporaries(
    storage: LocalStorage, root: Path
) -> None:
    data = os.urandom(3 * 1024 * 1024)

    await storage.put("values/big", data, "application/octet-stream")

    assert (root / "values" / "big").read_bytes() == data
    assert files_under(root) == ["values", "values/big", "values/big.meta.json"]


async def test_failed_write_keeps_old_object_and_no_temporary(
    storage: LocalStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await storage.put("values/x", b"old", "text/plain")

    def fail(source: str, destination: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        await storage.put("values/x", b"new", "application/json")
    monkeypatch.undo()

    assert await storage.get("values/x") == StoredObject(b"old", "text/plain")
    assert files_under(root) == ["values", "values/x", "values/x.meta.json"]


async def test_concurrent_puts_leave_one_whole_object(storage: Storage) -> None:
    versions = [bytes([index]) * 100_000 for index in range(8)]

    await asyncio.gather(
        *(storage.put("values/race", data, "text/plain") for data in versions)
    )

    stored = await storage.get("values/race")
    assert stored is not None and stored.data in versions


async def test_unicode_and_odd_names_stay_inside_root(
    storage: LocalStorage, root: Path
) -> None:
    keys = [
        "uploads/ann/notebook/ключ/résumé café.ipynb",
        "a/..%2F..%2Fescape",
        "a/...",
    ]

    for key in keys:
        await storage.put(key, b"1", "text/plain")

    for key in keys:
        assert (root / key).is_file()
        assert await storage.get(key) == StoredObject(b"1", "text/plain")


async def test_key_of_512_bytes_is_accepted(storage: Storage) -> None:
    key = "/".join(["a" * 127] * 4)
    assert len(key.encode()) == 511

    await storage.put(key + "b", b"1", "text/plain")

    assert await storage.exists(key + "b")


async def test_object_and_folder_cannot_share_a_path(storage: Storage) -> None:
    await storage.put("values/a", b"1", "text/plain")

    with pytest.raises(ValueError, match="folder of objects"):
        await storage.put("values/a/b", b"2", "text/plain")
    with pytest.raises(ValueError, match="folder of objects"):
        await storage.put("values", b"3", "text/plain")
    assert await storage.get("values/a/b") is None
    assert await storage.get("values") is None
    await storage.delete("values")
    assert await storage.get("values/a") == StoredObject(b"1", "text/plain")


@pytest.mark.parametrize("content_type", ["", "text/html\r\nSet-Cookie: a=b", "a\x00"])
async def test_bad_content_type_is_refused(storage: Storage, content_type: str) -> None:
    with pytest.raises(ValueError, match="content type"):
        await storage.put("values/x", b"1", content_type)

    assert not await storage.exists("values/x")


BAD_KEYS = {
    "empty": "",
    "absolute": "/etc/passwd",
    "parent": "../escape",
    "parent deeper": "a/../../escape",
    "parent at end": "a/..",
    "dot": "a/./b",
    "only dots": "..",
    "double slash": "a//b",
    "trailing slash": "a/b/",
    "backslash": "a\\..\\..\\escape",
    "nul": "a\x00b",
    "newline": "a\nb",
    "over 512 bytes": "/".join(["a" * 100] * 6),
    "over 512 bytes of unicode": "é" * 257,
    "part too long": "a/" + "b" * 246,
    "sidecar name": "values/x.meta.json",
    "sidecar name in capitals": "values/X.META.JSON",
    "sidecar name as folder": "values/x.meta.json/y",
    "lone surrogate": "a/\udc80",
}


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
async def test_bad_keys_are_refused_everywhere(
    storage: LocalStorage, root: Path, key: str
) -> None:
    with pytest.raises(ValueError, match="storage key"):
        await storage.put(key, b"1", "text/plain")
    with pytest.raises(ValueError, match="storage key"):
        await storage.get(key)
    with pytest.raises(ValueError, match="storage key"):
        await storage.exists(key)
    with pytest.raises(ValueError, match="storage key"):
        await storage.delete(key)

    assert files_under(root.parent.parent) == []
