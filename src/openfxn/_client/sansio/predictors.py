"""Plans for predictors: finding, creating from a file, waiting, removing."""

from __future__ import annotations

import builtins
import mimetypes
import pathlib
import time
from collections.abc import Mapping
from typing import Any

from openfxn._client.errors import ConversionError, TimeoutError
from openfxn._client.models import (
    Acceleration,
    AccessMode,
    Predictor,
    PredictorStatus,
    UploadType,
    User,
)
from openfxn._client.sansio.core import Core, member, parse, parse_list, segment
from openfxn._client.sansio.effects import Plan, ProgressCallback, Sleep
from openfxn._client.sansio.storage import StoragePlans

Source = str | pathlib.PurePath
"""A local file (a path), or a URL: an upload URL of the server or a data: URL."""

FIRST_POLL_S = 0.25
POLL_CAP_S = 2.0
MIMES = {".ipynb": "application/x-ipynb+json", ".py": "text/x-python"}


class PredictorPlans:
    def __init__(self, core: Core, storage: StoragePlans) -> None:
        self.core = core
        self.storage = storage

    def retrieve(self, tag: str) -> Plan[Predictor]:
        reply = yield from self.core.call("GET", f"/predictors/{segment(tag)}")
        return parse(Predictor, reply)

    def list(
        self,
        owner: str | None,
        status: PredictorStatus | str | None,
        offset: int | None,
        count: int | None,
    ) -> Plan[list[Predictor]]:
        if owner is None:
            me = yield from self.core.call("GET", "/user")
            owner = parse(User, me).username
        params = {
            "status": member(PredictorStatus, status),
            "offset": offset,
            "count": count,
        }
        path = f"/users/{segment(owner.removeprefix('@'))}/predictors"
        reply = yield from self.core.call("GET", path, params=params)
        return parse_list(Predictor, reply)

    def search(
        self, query: str | None, offset: int | None, count: int | None
    ) -> Plan[builtins.list[Predictor]]:
        params = {"query": query, "offset": offset, "count": count}
        reply = yield from self.core.call("GET", "/predictors", params=params)
        return parse_list(Predictor, reply)

    def create(
        self,
        tag: str,
        source: Source,
        *,
        access: AccessMode | str | None = None,
        description: str | None = None,
        media: Source | None = None,
        acceleration: Acceleration | str | None = None,
        environment: Mapping[str, str] | None = None,
        license: str | None = None,
        overwrite: bool | None = None,
        progress: ProgressCallback | None = None,
    ) -> Plan[Predictor]:
        notebook = yield from self.upload(source, UploadType.NOTEBOOK, progress)
        media_url = None
        if media is not None:
            media_url = yield from self.upload(media, UploadType.MEDIA, progress)
        fields: dict[str, Any] = {
            "tag": tag,
            "notebook": notebook,
            "access": member(AccessMode, access),
            "description": description,
            "media": media_url,
            "acceleration": member(Acceleration, acceleration),
            "license": license,
            "overwrite": overwrite,
        }
        if environment is not None:
            fields["environment"] = [
                {"name": name, "value": value} for name, value in environment.items()
            ]
        body = {name: value for name, value in fields.items() if value is not None}
        reply = yield from self.core.call("POST", "/predictors", body=body)
        return parse(Predictor, reply)

    def upload(
        self, source: Source, kind: UploadType, progress: ProgressCallback | None
    ) -> Plan[str]:
        """The URL of ``source``: itself when it is one, else its file uploaded."""
        if isinstance(source, str) and is_url(source):
            return source
        path = pathlib.Path(source)
        data = read_source(path, kind)
        mime = MIMES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        url = yield from self.storage.upload(
            data, path.name, kind, mime or "application/octet-stream", None, progress
        )
        return url

    def wait(self, tag: str, timeout: float) -> Plan[Predictor]:
        """Poll ``tag`` until it leaves PROVISIONING, backing off to 2 s."""
        deadline = time.monotonic() + timeout
        delay = FIRST_POLL_S
        while True:
            predictor = yield from self.retrieve(tag)
            if predictor.status != PredictorStatus.PROVISIONING:
                return predictor
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"{tag} is still PROVISIONING after {timeout:.0f} s. Installing "
                    "its requirements may take longer: wait again, or read its log "
                    "with predictors.retrieve."
                )
            yield Sleep(min(delay, left))
            delay = min(delay * 1.5, POLL_CAP_S)

    def delete(self, tag: str) -> Plan[bool]:
        reply = yield from self.core.call("DELETE", f"/predictors/{segment(tag)}")
        return reply is True

    def archive(self, tag: str) -> Plan[Predictor]:
        reply = yield from self.core.call("POST", f"/predictors/{segment(tag)}/archive")
        return parse(Predictor, reply)


def is_url(text: str) -> bool:
    return text.split(":", 1)[0].lower() in ("http", "https", "data")


def read_source(path: pathlib.Path, kind: UploadType) -> bytes:
    what = "source" if kind == UploadType.NOTEBOOK else "media"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        problem = "does not exist"
    except IsADirectoryError:
        problem = "is a folder"
    except OSError as error:
        problem = f"cannot be read ({error.strerror})"
    raise ConversionError(
        f"The predictor's {what} '{path}' {problem}: give the path of a file "
        "(.py or .ipynb for the source), or a URL."
    )
