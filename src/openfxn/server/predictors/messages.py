"""The messages between the server and a prediction worker.

The server writes to the worker's stdin; the worker writes to a file
descriptor of its own (its stdout is diverted to stderr, so nothing the
predictor prints can forge a message). A message is a line of JSON, its
header, followed by the bytes of the values it carries, back to back: each
value (a :class:`Raw`) in the header gives its ``size``, and the header's
``bytes`` their total. Values cross as they are, without base64, which
would cost more than the rest of the trip for a large one (a 400 KB tensor:
encoding, then parsing the JSON string and decoding it, some 2 ms).

Server to worker::

    Predict(id, inputs)      run predict once with these inputs

Worker to server::

    Ready(cold_start_ms)     the module loaded; predictions may come
    LoadFailed(error)        the module did not load; the worker exits
    Partial(id, results)     a generator predictor yielded these results
    Done(id, results, error, latency_ms, logs)
                             the prediction ended: results, or the error
                             with its traceback when predict raised

Standard library only: this module runs inside the predictor's environment.
Where orjson is importable (always on the server's side), it writes and reads
the headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .values import Raw

try:
    import orjson
except ImportError:  # a predictor's environment without it
    orjson = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Predict:
    id: str
    inputs: dict[str, Raw]


@dataclass(frozen=True)
class Ready:
    cold_start_ms: float


@dataclass(frozen=True)
class LoadFailed:
    error: str


@dataclass(frozen=True)
class Partial:
    id: str
    results: list[Raw]


@dataclass(frozen=True)
class Done:
    id: str
    results: list[Raw] | None
    error: str | None
    latency_ms: float
    logs: str = ""


Message = Predict | Ready | LoadFailed | Partial | Done

KINDS: dict[str, type[Any]] = {
    "predict": Predict,
    "ready": Ready,
    "load_failed": LoadFailed,
    "partial": Partial,
    "done": Done,
}
NAMES = {kind: name for name, kind in KINDS.items()}


def encode(message: Message) -> bytes:
    """The header line of ``message``, then the bytes of its values."""
    payloads: list[bytes] = []
    body: dict[str, Any] = {"kind": NAMES[type(message)]}
    for name, value in vars(message).items():
        body[name] = encode_field(value, payloads)
    body["bytes"] = sum(len(payload) for payload in payloads)
    if orjson is not None:
        head = orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE)
    else:
        head = json.dumps(body, separators=(",", ":")).encode() + b"\n"
    return head + b"".join(payloads) if payloads else head


def encode_field(value: Any, payloads: list[bytes]) -> Any:
    if isinstance(value, Raw):
        if value.data is not None:
            payloads.append(value.data)
        size = None if value.data is None else len(value.data)
        return {
            "raw": True,
            "type": value.type,
            "shape": value.shape,
            "size": size,
            "mime": value.mime,
        }
    if isinstance(value, list):
        return [encode_field(item, payloads) for item in value]
    if isinstance(value, dict):
        return {name: encode_field(item, payloads) for name, item in value.items()}
    return value


def read_header(line: bytes) -> tuple[dict[str, Any], int]:
    """A message's header, and the number of bytes of values after it.

    Raises ValueError when the line is not a header."""
    body = json.loads(line) if orjson is None else orjson.loads(line)
    if not isinstance(body, dict):
        raise ValueError("a message's header is a JSON object")
    size = body.pop("bytes", 0)
    if not isinstance(size, int) or size < 0:
        raise ValueError("a message's header gives the bytes that follow it")
    return body, size


def decode(header: dict[str, Any], payload: bytes) -> Message:
    """The message of ``header`` (from ``read_header``) and its values' bytes.

    Raises ValueError, KeyError or TypeError when they do not make one."""
    kind = KINDS[header.pop("kind")]
    taken = Taken(payload)
    fields = {name: decode_field(value, taken) for name, value in header.items()}
    if taken.at != len(payload):
        raise ValueError("the values' sizes do not add up to the bytes sent")
    message: Message = kind(**fields)
    return message


class Taken:
    """The bytes of a message's values, handed out in order."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.at = 0

    def take(self, size: int) -> bytes:
        if not isinstance(size, int) or size < 0 or self.at + size > len(self.payload):
            raise ValueError("a value's size runs past the bytes sent")
        start, self.at = self.at, self.at + size
        if start == 0 and size == len(self.payload):
            return self.payload  # the one value: no copy
        return self.payload[start : self.at]


def decode_field(value: Any, taken: Taken) -> Any:
    if isinstance(value, dict) and value.get("raw") is True:
        size = value["size"]
        return Raw(
            type=value["type"],
            shape=value["shape"],
            data=None if size is None else taken.take(size),
            mime=value.get("mime"),
        )
    if isinstance(value, list):
        return [decode_field(item, taken) for item in value]
    if isinstance(value, dict):
        return {name: decode_field(item, taken) for name, item in value.items()}
    return value
