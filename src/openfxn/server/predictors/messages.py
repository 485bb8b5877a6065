"""The messages between the server and a prediction worker, one JSON line each.

The server writes to the worker's stdin; the worker writes to a file
descriptor of its own (its stdout is diverted to stderr, so nothing the
predictor prints can forge a message). Values travel as :class:`Raw`, their
bytes in base64.

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
the lines, the same JSON some eighty times faster for a large value.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
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


@dataclass
class Decoder:
    """Turns lines into messages; ``errors`` counts lines that were not one."""

    errors: list[str] = field(default_factory=list)

    def decode(self, line: bytes) -> Message | None:
        try:
            return decode(line)
        except (ValueError, KeyError, TypeError) as error:
            self.errors.append(f"{type(error).__name__}: {error}")
            return None


def encode(message: Message) -> bytes:
    body: dict[str, Any] = {"kind": NAMES[type(message)]}
    for name, value in vars(message).items():
        body[name] = encode_field(value)
    if orjson is not None:
        return orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE)
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def encode_field(value: Any) -> Any:
    if isinstance(value, Raw):
        return encode_raw(value)
    if isinstance(value, list):
        return [encode_field(item) for item in value]
    if isinstance(value, dict):
        return {name: encode_field(item) for name, item in value.items()}
    return value


def encode_raw(raw: Raw) -> dict[str, Any]:
    data = None if raw.data is None else base64.b64encode(raw.data).decode()
    return {
        "raw": True,
        "type": raw.type,
        "shape": raw.shape,
        "data": data,
        "mime": raw.mime,
    }


def decode(line: bytes) -> Message:
    body = json.loads(line) if orjson is None else orjson.loads(line)
    kind = KINDS[body.pop("kind")]
    fields = {name: decode_field(value) for name, value in body.items()}
    message: Message = kind(**fields)
    return message


def decode_field(value: Any) -> Any:
    if isinstance(value, dict) and value.get("raw") is True:
        data = value["data"]
        return Raw(
            type=value["type"],
            shape=value["shape"],
            data=None if data is None else base64.b64decode(data),
            mime=value.get("mime"),
        )
    if isinstance(value, list):
        return [decode_field(item) for item in value]
    if isinstance(value, dict):
        return {name: decode_field(item) for name, item in value.items()}
    return value
