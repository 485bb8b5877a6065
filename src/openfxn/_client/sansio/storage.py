"""Plans for uploads: a signed URL, the PUT of the bytes, and reading them back."""

from __future__ import annotations

import io
import pathlib
import re
import urllib.parse

from openfxn._client.errors import ConversionError
from openfxn._client.models import UploadType
from openfxn._client.sansio import mimes
from openfxn._client.sansio.core import Core, member
from openfxn._client.sansio.effects import Plan, ProgressCallback

File = bytes | bytearray | memoryview | io.BytesIO | str | pathlib.PurePath
"""Bytes to upload, or the path of a file."""

UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


def file_name(name: str) -> str:
    """``name`` as the server accepts an upload's name: no slashes or controls."""
    return UNSAFE_NAME.sub("_", name)[-255:] or "upload"


class StoragePlans:
    def __init__(self, core: Core) -> None:
        self.core = core

    def create_upload_url(
        self, name: str, type: UploadType | str, key: str | None
    ) -> Plan[str]:
        body = {"name": file_name(name), "type": member(UploadType, type), "key": key}
        reply = yield from self.core.call("POST", "/uploads", body=body)
        return str(reply)

    def upload(
        self,
        data: bytes,
        name: str,
        type: UploadType | str,
        mime: str,
        key: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Plan[str]:
        """Upload ``data``; its URL, without the signature that was only for the PUT."""
        signed = yield from self.create_upload_url(name, type, key)
        yield from self.core.send(
            self.core.upload_request(signed, data, mime, progress)
        )
        return urllib.parse.urlsplit(signed)._replace(query="", fragment="").geturl()

    def upload_file(
        self,
        file: File,
        name: str | None,
        type: UploadType | str,
        mime: str | None,
        progress: ProgressCallback | None,
    ) -> Plan[str]:
        data, path_name = read_file(file)
        # Bytes are named for what they hold, so that the URL says it: upload.png.
        name = name or path_name or "upload" + mimes.suffix_for(mimes.sniff(data))
        mime = mime or mimes.of_file(data, name)
        url = yield from self.upload(data, name, type, mime, None, progress)
        return url

    def download(self, url: str) -> Plan[bytes]:
        response = yield from self.core.fetch(url)
        return response.content


def read_file(file: File) -> tuple[bytes, str | None]:
    """The bytes of ``file``, and its name when it is a file."""
    if isinstance(file, io.BytesIO):
        return file.getvalue(), None
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file), None
    path = pathlib.Path(file)
    try:
        return path.read_bytes(), path.name
    except OSError as error:
        raise ConversionError(
            f"The file '{path}' cannot be uploaded: {error.strerror}."
        ) from None
