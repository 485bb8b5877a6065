"""The client's I/O-free core: requests, retries, replies and errors.

``Core`` knows the server's URL and the access key. It builds each request
whole, decides whether a failed attempt is tried again and after how long,
writes the one log line per attempt, and turns error replies into the
exceptions of :mod:`openfxn._client.errors`. It performs no I/O itself: its
methods are plans (see :mod:`.effects`) that a driver runs.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import random
import urllib.parse
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from openfxn._client.errors import (
    ConnectionError,
    ConversionError,
    OpenfxnError,
    TimeoutError,
    error_for_status,
)
from openfxn._client.sansio.effects import (
    Failure,
    OpenStream,
    Plan,
    ProgressCallback,
    Request,
    Response,
    Sleep,
)

logger = logging.getLogger("openfxn.client")

ModelT = TypeVar("ModelT", bound=BaseModel)
EnumT = TypeVar("EnumT", bound=StrEnum)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0
RETRY_AFTER_CAP_S = 30.0
"""A server asking for a longer wait than this gets its error raised instead."""
DEFAULT_UPLOAD_THRESHOLD = 4096
"""Values of this many bytes or more are uploaded; smaller ones travel inline."""


class Core:
    """The state every plan shares: where the server is, and how to call it."""

    def __init__(
        self,
        access_key: str | None,
        api_url: str,
        *,
        max_retries: int = 2,
        upload_threshold: int = DEFAULT_UPLOAD_THRESHOLD,
    ) -> None:
        self.access_key = access_key
        self.api_url = api_url.rstrip("/")
        self.max_retries = max_retries
        self.upload_threshold = upload_threshold
        origin = urllib.parse.urlsplit(self.api_url)
        self.origin = (origin.scheme.lower(), origin.netloc.lower())

    # ---------- building requests ----------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object | None] | None = None,
        body: Any = None,
        accept: str = "application/json",
    ) -> Request:
        """A request to the API at ``path``, with the access key if there is one.

        ``params`` with a None value are left out; ``body`` is sent as JSON
        unless it is None.
        """
        query = urllib.parse.urlencode(
            {
                name: _param(value)
                for name, value in (params or {}).items()
                if value is not None
            }
        )
        headers = self.headers(accept)
        content = None
        if body is not None:
            content = encode_json(body)
            headers["Content-Type"] = "application/json"
        url = self.api_url + path + (f"?{query}" if query else "")
        return Request(method, url, headers, content, path=path)

    def upload_request(
        self,
        url: str,
        data: bytes,
        mime: str,
        progress: ProgressCallback | None = None,
    ) -> Request:
        """A PUT of ``data`` to a signed upload URL, which needs no credentials."""
        headers: dict[str, str | bytes] = {
            "Content-Type": mime,
            "Content-Length": str(len(data)),
            "User-Agent": user_agent(),
        }
        return Request("PUT", url, headers, data, progress, path=_path_of(url))

    def headers(self, accept: str = "application/json") -> dict[str, str | bytes]:
        headers: dict[str, str | bytes] = {"Accept": accept, "User-Agent": user_agent()}
        if self.access_key:
            # UTF-8, so that any key a predictor's owner hands out can be sent.
            headers["Authorization"] = f"Bearer {self.access_key}".encode()
        return headers

    def is_own(self, url: str) -> bool:
        """Whether ``url`` is on this client's server (so it may see the key)."""
        parts = urllib.parse.urlsplit(url)
        return (parts.scheme.lower(), parts.netloc.lower()) == self.origin

    # ---------- calling ----------

    def send(self, request: Request, *, stream: bool = False) -> Plan[Response]:
        """Send ``request``, retrying what may be retried; raise for errors.

        With ``stream``, the reply's body is left to read as it arrives.
        """
        effect = OpenStream(request) if stream else request
        attempt = 0
        while True:
            outcome = yield effect
            log(request, outcome)
            delay = self.retry_delay(request, outcome, attempt)
            if delay is None:
                return checked(request, outcome)
            attempt += 1
            yield Sleep(delay)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object | None] | None = None,
        body: Any = None,
    ) -> Plan[Any]:
        """The JSON reply of an API call."""
        response = yield from self.send(
            self.request(method, path, params=params, body=body)
        )
        return decode_json(response, path)

    def fetch(self, url: str) -> Plan[Response]:
        """GET ``url``; the access key goes along only to this client's server."""
        if self.is_own(url):
            headers = self.headers("*/*")
        else:
            headers = {"Accept": "*/*", "User-Agent": user_agent()}
        response = yield from self.send(
            Request("GET", url, headers, path=_path_of(url))
        )
        return response

    def retry_delay(
        self, request: Request, outcome: Response | Failure, attempt: int
    ) -> float | None:
        """Seconds to wait before trying ``request`` again, or None not to.

        Only idempotent requests are tried again after a reply or a failure
        that came once the request was sent; any request is tried again when
        it could not be sent at all.
        """
        if attempt >= self.max_retries:
            return None
        idempotent = request.method in IDEMPOTENT_METHODS
        if isinstance(outcome, Failure):
            return backoff(attempt) if idempotent or not outcome.sent else None
        if outcome.status not in RETRIED_STATUSES or not idempotent:
            return None
        asked = retry_after(outcome)
        if asked is None:
            return backoff(attempt)
        return asked if asked <= RETRY_AFTER_CAP_S else None


def checked(request: Request, outcome: Response | Failure) -> Response:
    """``outcome`` when it is a success; the matching exception otherwise."""
    if isinstance(outcome, Failure):
        raise failure_error(request, outcome)
    if outcome.status >= 400:
        raise api_error(outcome)
    return outcome


def failure_error(request: Request, failure: Failure) -> OpenfxnError:
    where = (
        f"{request.method} {urllib.parse.urlsplit(request.url).netloc}{request.path}"
    )
    if failure.kind == "timeout":
        return TimeoutError(
            f"{where} timed out ({failure.message}). The server may be busy: try "
            "again, or give the client a longer timeout."
        )
    return ConnectionError(
        f"{where} failed: {failure.message}. Check that the server is running and "
        "that the API URL (OPENFXN_API_URL) is right."
    )


def api_error(response: Response) -> OpenfxnError:
    """The exception for an error reply, carrying the server's message(s)."""
    message, errors = None, None
    try:
        envelope = json.loads(response.content)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict):
        if isinstance(envelope.get("error"), str):
            message = envelope["error"]
        listed = envelope.get("errors")
        if isinstance(listed, list):
            errors = [
                str(item.get("message")) if isinstance(item, dict) else str(item)
                for item in listed
            ]
    if message is None:
        text = response.content[:200].decode("utf-8", "replace").strip()
        said = f": {text}" if text else "."
        message = (
            errors[0] if errors else f"The server answered {response.status}{said}"
        )
    return error_for_status(response.status, message, errors)


def decode_json(response: Response, path: str) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise OpenfxnError(
            f"The reply to {path} is not JSON: is the API URL that of an openfxn "
            "server?"
        ) from None


def parse(model: type[ModelT], data: Any) -> ModelT:
    """``data`` as ``model``; an unexpected reply is an OpenfxnError, not a crash."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise unexpected(model.__name__, error) from None


def parse_list(model: type[ModelT], data: Any) -> list[ModelT]:
    try:
        return TypeAdapter(list[model]).validate_python(data)  # type: ignore[valid-type]
    except ValidationError as error:
        raise unexpected(f"a list of {model.__name__}", error) from None


def unexpected(what: str, error: ValidationError) -> OpenfxnError:
    return OpenfxnError(
        f"The server's reply is not {what} as this client knows it "
        f"({error.error_count()} problem(s), first: {error.errors()[0]['msg']}). "
        "Is the client older than the server?"
    )


def member(kind: type[EnumT], value: str | None) -> EnumT | None:
    """``value`` as a member of ``kind``, whatever its case ("public" too)."""
    if value is None:
        return None
    try:
        return kind(str(value).upper())
    except ValueError:
        known = ", ".join(kind)
        raise ConversionError(
            f"{value!r} is not a {kind.__name__}: use one of {known}."
        ) from None


def encode_json(body: Any) -> bytes:
    try:
        return json.dumps(body, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise ConversionError(f"The request cannot be sent as JSON: {error}.") from None


def log(request: Request, outcome: Response | Failure) -> None:
    # The path only: the query of an upload URL holds its signature.
    if isinstance(outcome, Failure):
        logger.info(
            "%s %s failed (%s) %.0fms",
            request.method, request.path, outcome.message, outcome.elapsed_ms,
        )  # fmt: skip
    else:
        logger.info(
            "%s %s %d %.0fms",
            request.method, request.path, outcome.status, outcome.elapsed_ms,
        )  # fmt: skip


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter, so that many clients do not retry at once."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_after(response: Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def segment(text: str) -> str:
    """``text`` as path segments, escaped; ``@`` and ``/`` stay as tags need
    them, and dot segments are escaped so that no path can climb out."""
    parts = [
        urllib.parse.quote(part, safe="@")
        if part not in (".", "..")
        else part.replace(".", "%2E")
        for part in text.split("/")
    ]
    return "/".join(parts)


@functools.cache
def user_agent() -> str:
    try:
        version = importlib.metadata.version("openfxn")
    except importlib.metadata.PackageNotFoundError:  # a source tree never installed
        version = "0.0.0"
    return f"openfxn-python/{version}"


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path
