"""Objects by key: the storage interface, and its implementation on local disk.

A key is a relative, ``/``-separated path such as
``uploads/ann/notebook/5f0c…/greeter.ipynb``. Parts of keys come from users,
so every implementation checks them with :func:`check_key`, which refuses
anything that could name a place outside the storage.

:class:`LocalStorage` keeps an object at ``root/<key>`` and its content type
beside it, in ``root/<key>.meta.json``. Each file is written to a temporary
file in the same folder and renamed into place, so readers see the whole old
file or the whole new one, never part of either. The two files cannot change
together, so the content type goes first: an object is never visible without
one, and a reader racing an overwrite may at worst pair the old bytes with the
new type. Disk cannot hold both ``a`` and ``a/b``; storing the second of
those raises ``ValueError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MAX_KEY_BYTES = 512
# File names stop at 255 bytes on common file systems; the sidecar adds its suffix.
META_SUFFIX = ".meta.json"
MAX_PART_BYTES = 255 - len(META_SUFFIX)
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    content_type: str


class Storage(Protocol):
    """Where objects live; implementations check keys with :func:`check_key`."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing any object already there."""

    async def get(self, key: str) -> StoredObject | None:
        """The object under ``key``, or None when there is none."""

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    async def delete(self, key: str) -> None:
        """Remove the object under ``key``; a missing object is not an error."""


def check_key(key: str) -> None:
    """Raise ``ValueError`` unless ``key`` names a place inside the storage."""
    problem = key_problem(key)
    if problem is not None:
        raise ValueError(f"The storage key {key[:100]!r} is not valid: {problem}.")


def key_problem(key: str) -> str | None:
    if not key:
        return "it is empty"
    if has_control_character(key):
        return "it contains a control character, such as NUL or a newline"
    if "\\" in key:
        return "it contains a backslash; separate its parts with /"
    try:
        size = len(key.encode())
    except UnicodeEncodeError:
        return "it is not valid Unicode"
    if size > MAX_KEY_BYTES:
        return f"it has {size} bytes, over the limit of {MAX_KEY_BYTES}"
    if key.startswith("/"):
        return "it starts with /, and keys are relative"

    return part_problem(key.split("/"))


def part_problem(parts: list[str]) -> str | None:
    if "" in parts:
        return "it has an empty part (// or a / at the end)"
    if "." in parts or ".." in parts:
        return "it has a . or .. part"
    if any(len(part.encode()) > MAX_PART_BYTES for part in parts):
        return f"a part of it is over {MAX_PART_BYTES} bytes"
    # The sidecar of `a` is `a.meta.json`; a key may not overwrite it.
    if any(part.lower().endswith(META_SUFFIX) for part in parts):
        return f"a part of it ends in {META_SUFFIX}, which is kept for content types"

    return None


def check_content_type(content_type: str) -> None:
    if not content_type or has_control_character(content_type):
        raise ValueError(
            f"The content type {content_type[:100]!r} is not valid: it must be "
            "non-empty, with no control characters."
        )


def has_control_character(text: str) -> bool:
    return any(ord(character) < 0x20 or ord(character) == 0x7F for character in text)


class LocalStorage:
    """Objects as files under ``root``, each with a ``.meta.json`` sidecar."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path(key)
        check_content_type(content_type)
        meta = json.dumps({"content_type": content_type}).encode()
        await asyncio.to_thread(self.write, key, path, data, meta)

    async def get(self, key: str) -> StoredObject | None:
        return await asyncio.to_thread(self.read, self.path(key))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.remove, self.path(key))

    def path(self, key: str) -> Path:
        check_key(key)
        return self.root.joinpath(*key.split("/"))

    def write(self, key: str, path: Path, data: bytes, meta: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(sidecar(path), meta)
            write_atomically(path, data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as error:
            raise ValueError(
                f"Cannot store {key[:100]!r}: an object and a folder of objects "
                "would share a path, which local storage cannot hold. Use keys "
                "where no key is the folder of another."
            ) from error

    def read(self, path: Path) -> StoredObject | None:
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

        return StoredObject(data, read_content_type(path))

    def remove(self, path: Path) -> None:
        # The object goes first, so it is never visible without its type.
        for target in (path, sidecar(path)):
            with contextlib.suppress(
                FileNotFoundError, NotADirectoryError, IsADirectoryError
            ):
                target.unlink()


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


def read_content_type(path: Path) -> str:
    try:
        meta = json.loads(sidecar(path).read_bytes())
    except (OSError, ValueError):
        # Placed by hand, or left by a crash between the two renames.
        return DEFAULT_CONTENT_TYPE
    content_type = meta.get("content_type") if isinstance(meta, dict) else None

    return content_type if isinstance(content_type, str) else DEFAULT_CONTENT_TYPE


def write_atomically(path: Path, data: bytes) -> None:
    # A short fixed prefix keeps the temporary name within the 255-byte limit.
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=".put-", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
