"""Uploads: signed URLs to PUT bytes to, and reading objects back by URL.

An upload URL reads ``<server>/uploads/<username>/<type>/<key>/<name>?expires=
..&signature=..``: the signature binds the path and the expiry, so a PUT needs
no Authorization header. The same URL, passed back later as a notebook, media
or value, resolves to the stored object by its path; its query is ignored.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import time
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from openfxn.server.auth.callers import Caller
from openfxn.server.errors import InvalidRequest, NotFound, PayloadTooLarge
from openfxn.server.services.models import CreateUploadUrlInput, UploadType
from openfxn.server.settings import Settings
from openfxn.server.storage.objects import Storage, StoredObject
from openfxn.server.storage.signing import SignatureError, sign, verify
from openfxn.server.store.tables import Account

PREFIX = "/uploads/"
KINDS = ("media", "notebook", "value")


@dataclass(frozen=True)
class Resolved:
    """The bytes behind a URL, and the file name they came with."""

    data: bytes
    name: str
    content_type: str


class UploadService:
    def __init__(self, storage: Storage, settings: Settings, secret: bytes) -> None:
        self.storage = storage
        self.settings = settings
        self.secret = secret
        self.limits = upload_limits(settings)

    async def create_url(
        self, caller: Caller, request: CreateUploadUrlInput, base_url: str
    ) -> str:
        account = caller.require_account()
        kind = UploadType.VALUE if request.type == UploadType.FEATURE else request.type
        key = request.key or uuid.uuid4().hex
        path = f"{PREFIX}{account.username}/{kind.lower()}/{key}/{request.name}"
        expires = int(time.time()) + self.settings.upload_url_lifetime_s
        return f"{base_url.rstrip('/')}{path}?{sign(path, expires, self.secret)}"

    async def put(
        self, path: str, query: dict[str, str], data: bytes, content_type: str | None
    ) -> None:
        """Store a PUT to a signed upload URL."""
        try:
            verify(path, query, self.secret)
        except SignatureError as error:
            raise InvalidRequest(
                f"This upload URL is not valid: {error}. Ask for a new one with "
                "createUploadUrl."
            ) from None
        kind = path.removeprefix(PREFIX).split("/")[1]
        if len(data) > self.limits[kind]:
            raise PayloadTooLarge(
                f"{kind.upper()} uploads are limited to {self.limits[kind]} bytes; "
                f"this one has {len(data)}."
            )
        guessed = mimetypes.guess_type(path)[0]
        await self.storage.put(
            storage_key(path),
            data,
            content_type or guessed or "application/octet-stream",
        )

    async def store_value(
        self, account: Account, name: str, data: bytes, mime: str, base_url: str
    ) -> str:
        """Store a prediction's result; the URL serves it to whoever holds it
        (the random key makes it unguessable), like an upload URL."""
        extension = mimetypes.guess_extension(mime) or ""
        path = f"{PREFIX}{account.username}/value/{uuid.uuid4().hex}/{name}{extension}"
        await self.storage.put(storage_key(path), data, mime)
        return f"{base_url.rstrip('/')}{path}"

    async def get(self, path: str) -> StoredObject:
        stored = await self.storage.get(storage_key(path))
        if stored is None:
            raise NotFound(f"Nothing was uploaded to {path}.")
        return stored

    async def resolve(self, url: str, what: str) -> Resolved:
        """The bytes of a data: URL or of this server's upload URL."""
        if url.startswith("data:"):
            return decode_data_url(url, what)
        path = unquote(urlsplit(url).path)
        if not path.startswith(PREFIX):
            raise InvalidRequest(
                f"The {what} URL must be an upload URL from createUploadUrl or a "
                f"data: URL; '{url[:80]}' is neither."
            )
        stored = await self.get(path)
        return Resolved(stored.data, path.rsplit("/", 1)[-1], stored.content_type)


def upload_limits(settings: Settings) -> dict[str, int]:
    return {
        "media": settings.max_media_bytes,
        "notebook": settings.max_notebook_bytes,
        "value": settings.max_value_bytes,
    }


def storage_key(path: str) -> str:
    """The storage key of an upload path; refuses paths that are not uploads."""
    parts = path.removeprefix(PREFIX).split("/")
    is_upload = len(parts) == 4 and parts[1] in KINDS and all(parts)
    if not path.startswith(PREFIX) or not is_upload or ".." in parts:
        raise NotFound(f"There is no upload at {path[:200]}.")
    return "uploads/" + "/".join(parts)


def decode_data_url(url: str, what: str) -> Resolved:
    header, separator, payload = url.partition(",")
    if not separator:
        raise InvalidRequest(f"The {what} data: URL has no ',' before its data.")
    content_type, *parameters = header.removeprefix("data:").split(";")
    content_type = content_type or "text/plain"
    names = [p.removeprefix("name=") for p in parameters if p.startswith("name=")]
    try:
        if header.endswith(";base64"):
            data = base64.b64decode(payload, validate=True)
        else:
            data = unquote(payload).encode()
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"The {what} data: URL is not valid base64.") from None
    extension = mimetypes.guess_extension(content_type) or ""
    name = unquote(names[0]).rsplit("/", 1)[-1] if names else f"{what}{extension}"
    return Resolved(data, name, content_type)
