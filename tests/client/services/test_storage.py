"""The storage service against a real server, with each client."""

from __future__ import annotations

import io
from pathlib import Path

from openfxn import Function, UploadType, Value
from tests.client.conftest import Tags


def test_upload_bytes_then_download(fxn: Function) -> None:
    data = bytes(range(256)) * 40

    url = fxn.storage.upload(data, name="blob.bin")

    assert "?" not in url  # the PUT's signature is not part of the URL
    assert fxn.storage.download(url) == data


def test_upload_path_and_buffer(fxn: Function, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("first line\n", encoding="utf-8")

    from_path = fxn.storage.upload(path)
    from_buffer = fxn.storage.upload(io.BytesIO(b"buffered"), name="buffer.txt")

    assert from_path.endswith("/notes.txt")
    assert fxn.storage.download(from_path) == b"first line\n"
    assert fxn.storage.download(from_buffer) == b"buffered"


def test_upload_reports_progress(fxn: Function) -> None:
    seen: list[tuple[int, int]] = []

    fxn.storage.upload(
        b"z" * 200_000, name="z.bin", progress=lambda *step: seen.append(step)
    )

    assert seen[0] == (0, 200_000) and seen[-1] == (200_000, 200_000)


def test_create_upload_url_is_signed(fxn: Function) -> None:
    url = fxn.storage.create_upload_url("thing.bin", "media")  # any case

    assert "/media/" in url and "signature=" in url
    assert "/value/" in fxn.storage.create_upload_url("thing.bin", UploadType.VALUE)


def test_uploaded_url_works_as_input(fxn: Function, tags: Tags) -> None:
    url = fxn.storage.upload(b"\x00\x01\x02", name="three.bin")

    prediction = fxn.predictions.create(
        tags.echo, {"value": Value(data=url, type="binary")}
    )

    assert prediction.results == [b"\x00\x01\x02"]
