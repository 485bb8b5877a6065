"""Read prediction inputs off the wire, and write prediction results onto it.

An input arrives in one of three forms (``read_input``):

* A ``Value``: a JSON object with a string ``type`` that is a dtype and a
  ``data`` key, as every client since 2023 sends. ``data`` is a ``data:`` URL
  (base64 or percent-encoded) or an ``http(s)`` URL of an upload. ``shape`` is
  required for numbers and bool (``[]`` for one) and ignored for other dtypes:
  Python 0.0.9 sent images with ``shape: [1, h, w, c]``.
* The convenience fields of the 0.0.9 clients, with ``data`` null or absent:
  exactly one of ``stringValue``, ``floatValue``, ``intValue``, ``boolValue``,
  ``listValue``, ``dictValue``, ``floatArray``, ``intArray``, ``boolArray``. A
  ``type`` sent with them chooses the dtype (``floatValue`` with float32);
  without one a number is 64-bit, as Python's are: float64 and int64. An array
  has shape ``[n]``, or the ``shape`` sent with it when that holds n elements.
  An object is read this way when all its keys are ``Value`` fields (``name``
  too, for a GraphQL ``ValueInput``), at least one of them a convenience field,
  and its ``type`` is absent, null or a dtype.
* Any other JSON, as in the docs' ``{"name": "Yusuf"}``: a str is a string, a
  bool a bool, an int an int64, a float a float64, a list a list, an object a
  dict, and null is null.

``to_raw`` then decodes ``data:`` URLs and hands any other URL to the caller's
``fetch``, and checks the bytes against the dtype and shape, so that a bad input
is refused with 400 before any predictor runs. A file's MIME type is the one its
data URL or fetch declared, unless that is absent or octet-stream; then it is
sniffed from the bytes. For images the sniffed type comes first.

A result goes back as a ``Value`` (``to_wire``): ``data``, ``type`` and
``shape``, where ``data`` is a data URL when the bytes are fewer than the
request's ``dataUrlLimit`` (4096 when the request gives none, the clients' own
upload threshold), and otherwise the URL that the caller's ``store`` returns.
Data URLs carry ``application/octet-stream`` for every dtype but files, as the
clients' own do; images carry their real type (``image/png`` for results), so
that ``data`` works as an ``<img src>``. After these come the convenience fields
that apply, for the 0.0.9 clients: ``boolValue``, ``floatValue`` or ``intValue``
for one number or bool, always; ``stringValue``, ``listValue``, ``dictValue``
and the arrays ``floatArray``, ``intArray`` and ``boolArray`` (flattened in C
order) only when the data is inline, so that a large result is never sent twice
over and streamed objects stay small (GraphQL reads a large string, list or
dict back from storage when a query asks for its field). A number that GraphQL
cannot carry (a float that is NaN or infinite, an integer beyond 32 bits)
leaves its field out.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
import re
import struct
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

from openfxn.server.errors import InvalidRequest
from openfxn.server.predictors.values import (
    DTYPES,
    ELEMENT_FORMATS,
    FILE_DTYPES,
    OCTET_STREAM,
    ConversionError,
    Raw,
    sniff,
    validate,
)

__all__ = [
    "DEFAULT_DATA_URL_LIMIT",
    "Fetch",
    "Store",
    "WireInput",
    "parse_data_url_limit",
    "read_input",
    "to_raw",
    "to_wire",
]

DEFAULT_DATA_URL_LIMIT = 4096
"""Results of fewer bytes than this are inline when the request sets no limit."""

Fetch = Callable[[str], Awaitable[tuple[bytes, str | None]]]
"""Resolves an upload URL to its bytes and Content-Type."""
Store = Callable[[bytes, str, str], Awaitable[str]]
"""Stores bytes (with their MIME type, under a name) and returns their URL."""

CONVENIENCE_FIELDS = (
    "stringValue",
    "floatValue",
    "intValue",
    "boolValue",
    "listValue",
    "dictValue",
    "floatArray",
    "intArray",
    "boolArray",
)
_VALUE_KEYS = frozenset({"data", "type", "shape", "name", *CONVENIENCE_FIELDS})
_FLOAT_DTYPES = ("float16", "float32", "float64")
_INTEGER_DTYPES = tuple(
    dtype for dtype in ELEMENT_FORMATS if dtype not in (*_FLOAT_DTYPES, "bool")
)
_INT64_RANGE = range(-(2**63), 2**63)
_GRAPHQL_INT_RANGE = range(-(2**31), 2**31)
_DIGITS = re.compile(r"[0-9]+")
_URL = re.compile(r"(?i)(data:|https?://)")


@dataclass(frozen=True)
class WireInput:
    """One input as read off the wire, before its data is resolved."""

    name: str
    type: str
    shape: list[int] | None
    data: bytes | str | None
    """The bytes already at hand, a URL for ``to_raw`` to resolve, or None."""


def parse_data_url_limit(text: str | None) -> int | None:
    """The ``dataUrlLimit`` query parameter, or None when it is not a number.

    Clients that set none send "None", "undefined" or "", so anything but a
    non-negative decimal integer counts as unset.
    """
    if text is None or not _DIGITS.fullmatch(text.strip()):
        return None
    return int(text)


# ---------- reading inputs ----------


def read_input(name: str, wire: Any) -> WireInput:
    """Read one input of a REST body or GraphQL ``inputs``, in any of its forms.

    Raises InvalidRequest, naming the input and what to send instead.
    """
    if isinstance(wire, dict) and _is_value(wire):
        return _read_value(name, wire)
    return _read_plain(name, wire)


def _is_value(fields: dict[str, Any]) -> bool:
    dtype = fields.get("type")
    known = isinstance(dtype, str) and dtype in DTYPES
    if known and "data" in fields:
        return True
    return (
        (dtype is None or known)
        and fields.get("data") is None
        and fields.keys() <= _VALUE_KEYS
        and any(field in fields for field in CONVENIENCE_FIELDS)
    )


def _read_value(name: str, fields: dict[str, Any]) -> WireInput:
    dtype: str | None = fields.get("type")
    data = fields.get("data")
    if dtype == "null":
        return WireInput(name, "null", None, None)
    # _is_value admits data only together with a known type.
    if data is not None and dtype is not None:
        return WireInput(name, dtype, _shape(name, dtype, fields), _url(name, data))
    given = [field for field in CONVENIENCE_FIELDS if fields.get(field) is not None]
    if not given:
        raise InvalidRequest(
            f"Input '{name}' has no value: send its data (a data: URL or an upload "
            "URL) with its type, or one convenience field such as stringValue."
        )
    if len(given) > 1:
        raise InvalidRequest(
            f"Input '{name}' sets {' and '.join(given)}: set only one of them."
        )
    field = given[0]
    return _read_convenience(name, field, fields[field], dtype, fields.get("shape"))


def _shape(name: str, dtype: str, fields: dict[str, Any]) -> list[int] | None:
    if dtype not in ELEMENT_FORMATS:
        return None
    shape = fields.get("shape")
    if not _is_shape(shape):
        raise InvalidRequest(
            f"Input '{name}' is a {dtype} Value, so it needs a shape: a list of "
            "sizes, [] for a single number (or bool), not "
            f"{json.dumps(shape)[:60]}."
        )
    return list(shape)


def _is_shape(shape: Any) -> TypeGuard[list[int]]:
    return isinstance(shape, list) and all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0
        for size in shape
    )


def _url(name: str, data: Any) -> str:
    # Only data: and web URLs: a file: URL must never reach a fetch.
    if isinstance(data, str) and _URL.match(data):
        return data
    raise InvalidRequest(
        f"Input '{name}' has data that is not a URL: send a data: URL "
        "('data:application/octet-stream;base64,...') or an http(s) upload URL."
    )


def _read_plain(name: str, value: Any) -> WireInput:
    """Infer the dtype of a plain JSON value, as the Python client infers it."""
    if value is None:
        return WireInput(name, "null", None, None)
    if isinstance(value, bool):
        return WireInput(name, "bool", [], b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return WireInput(name, "int64", [], _pack(name, [value], "int64"))
    if isinstance(value, float):
        return WireInput(name, "float64", [], _pack(name, [value], "float64"))
    if isinstance(value, str):
        return WireInput(name, "string", None, _utf8(name, value))
    if isinstance(value, list | dict):
        dtype = "list" if isinstance(value, list) else "dict"
        return WireInput(name, dtype, None, _json(name, value))
    raise InvalidRequest(
        f"Input '{name}' is a {type(value).__name__}, which is not a JSON value."
    )


def _read_convenience(
    name: str, field: str, value: Any, dtype: str | None, shape: Any
) -> WireInput:
    if field in ("stringValue", "listValue", "dictValue"):
        return _read_text_field(name, field, value, dtype)
    kind = _FIELD_KINDS[field]
    dtype = dtype or kind.default
    if dtype not in kind.dtypes:
        raise InvalidRequest(
            f"Input '{name}': {field} cannot have the type {dtype}: use one of "
            f"{', '.join(kind.dtypes)}, or leave the type out."
        )
    items = value if field.endswith("Array") else [value]
    if not isinstance(items, list) or not all(kind.accepts(item) for item in items):
        noun = f"a list of {kind.plural}" if field.endswith("Array") else kind.one
        raise InvalidRequest(f"Input '{name}': {field} must be {noun}.")
    return WireInput(
        name, dtype, _array_shape(name, field, items, shape), _pack(name, items, dtype)
    )


def _read_text_field(name: str, field: str, value: Any, dtype: str | None) -> WireInput:
    natural = {"stringValue": "string", "listValue": "list", "dictValue": "dict"}[field]
    if dtype not in (None, natural):
        raise InvalidRequest(
            f"Input '{name}': {field} gives the type {natural}, not {dtype}: leave "
            "the type out, or send it as the data of a Value."
        )
    if natural == "string":
        if not isinstance(value, str):
            raise InvalidRequest(f"Input '{name}': stringValue must be a string.")
        return WireInput(name, "string", None, _utf8(name, value))
    if not isinstance(value, list if natural == "list" else dict):
        container = "an array" if natural == "list" else "an object"
        raise InvalidRequest(f"Input '{name}': {field} must be {container}.")
    return WireInput(name, natural, None, _json(name, value))


@dataclass(frozen=True)
class _Kind:
    """What a numeric convenience field holds and which dtypes it may have."""

    one: str
    plural: str
    default: str
    dtypes: tuple[str, ...]
    accepts: Callable[[Any], bool]


def _is_bool(item: Any) -> bool:
    return isinstance(item, bool)


def _is_integer(item: Any) -> bool:
    return isinstance(item, int) and not isinstance(item, bool)


def _is_number(item: Any) -> bool:
    return isinstance(item, int | float) and not isinstance(item, bool)


_FLOATS = _Kind("a number", "numbers", "float64", _FLOAT_DTYPES, _is_number)
_INTEGERS = _Kind("an integer", "integers", "int64", _INTEGER_DTYPES, _is_integer)
_BOOLS = _Kind("a bool", "bools", "bool", ("bool",), _is_bool)
_FIELD_KINDS = {
    "floatValue": _FLOATS,
    "floatArray": _FLOATS,
    "intValue": _INTEGERS,
    "intArray": _INTEGERS,
    "boolValue": _BOOLS,
    "boolArray": _BOOLS,
}


def _array_shape(name: str, field: str, items: list[Any], shape: Any) -> list[int]:
    if not field.endswith("Array"):
        return []
    if shape is None:
        return [len(items)]
    if not _is_shape(shape) or math.prod(shape) != len(items):
        raise InvalidRequest(
            f"Input '{name}': {field} has {len(items)} elements, which do not fit "
            f"the shape {json.dumps(shape)[:60]}: send a shape whose sizes multiply "
            "to the element count, or none for a flat array."
        )
    return list(shape)


def _pack(name: str, items: list[Any], dtype: str) -> bytes:
    if dtype == "int64" and not all(item in _INT64_RANGE for item in items):
        raise InvalidRequest(
            f"Input '{name}' has an integer beyond the int64 range: send it as a "
            "float or a string."
        )
    try:
        return struct.pack(f"<{len(items)}{ELEMENT_FORMATS[dtype]}", *items)
    except (struct.error, OverflowError) as error:
        raise InvalidRequest(
            f"Input '{name}' does not fit in {dtype} ({error}): send a wider type."
        ) from None


def _utf8(name: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(
            f"Input '{name}' is a string with a lone surrogate (an unpaired "
            "\\ud800-\\udfff escape), which UTF-8 cannot hold."
        ) from None


def _json(name: str, value: Any) -> bytes:
    try:
        # Default separators, as the Python client writes JSON values.
        return json.dumps(value).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise InvalidRequest(f"Input '{name}' is not JSON data: {error}.") from None


# ---------- resolving inputs ----------


async def to_raw(value: WireInput, fetch: Fetch) -> Raw:
    """Resolve ``value``'s data to bytes and check them against its dtype.

    ``data:`` URLs are decoded here; any other URL is handed to ``fetch``.
    Raises InvalidRequest when the bytes are not what the dtype and shape say.
    """
    declared: str | None = None
    data = value.data
    if isinstance(data, str):
        if data[:5].lower() == "data:":
            data, declared = _decode_data_url(value.name, data)
        else:
            data, declared = await fetch(data)
    mime = _file_mime(value.type, data, declared) if data is not None else None
    raw = Raw(value.type, value.shape, data, mime)
    try:
        validate(raw)
    except ConversionError as error:
        raise InvalidRequest(f"Input '{value.name}' is invalid. {error}") from None
    return raw


def _decode_data_url(name: str, url: str) -> tuple[bytes, str | None]:
    """The bytes and media type of ``data:[<media type>][;base64],<data>``."""
    comma = url.find(",", 5)  # not partition: the payload is copied once
    if comma < 0:
        raise InvalidRequest(
            f"Input '{name}' has a data URL without a comma before its data: write "
            "'data:<type>;base64,<data>'."
        )
    header, payload = url[5:comma], url[comma + 1 :]
    media_type, _, last = header.rpartition(";")
    if last.strip().lower() != "base64":
        return urllib.parse.unquote_to_bytes(payload), _essence(header)
    return _base64(name, payload), _essence(media_type)


URL_SAFE_TO_STANDARD = str.maketrans("-_", "+/")


def _base64(name: str, payload: str) -> bytes:
    with contextlib.suppress(binascii.Error, ValueError):  # plain base64, at once
        return binascii.a2b_base64(payload, strict_mode=True)
    # Tolerated, as browsers do: percent-escapes, line breaks, missing padding
    # and the URL-safe alphabet.
    text = "".join(urllib.parse.unquote(payload).split())
    if "-" in text or "_" in text:
        text = text.translate(URL_SAFE_TO_STANDARD)
    text += "=" * (-len(text) % 4)
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            f"Input '{name}' has a data URL whose data is not base64."
        ) from None


def _essence(media_type: str | None) -> str | None:
    """'image/png' from 'Image/PNG; q=1'; None when nothing specific is said."""
    essence = (media_type or "").partition(";")[0].strip().lower()
    return essence if essence and essence != OCTET_STREAM else None


def _file_mime(dtype: str, data: bytes, declared: str | None) -> str | None:
    if dtype not in FILE_DTYPES:
        return None
    declared = _essence(declared)
    if dtype == "image":
        return sniff(data) or declared
    return declared or sniff(data)


# ---------- writing results ----------


async def to_wire(
    raw: Raw, data_url_limit: int | None, store: Store, name: str
) -> dict[str, Any]:
    """The result ``raw`` as a wire ``Value`` with its convenience fields.

    ``data`` is inline as a data URL when it has fewer bytes than
    ``data_url_limit`` (``DEFAULT_DATA_URL_LIMIT`` when None), else it is
    ``await store(data, mime, name)``. Raises ConversionError when ``raw`` is
    malformed, which only a predictor that forges its worker's output can do.
    """
    validate(raw)
    if raw.data is None:
        return {"data": None, "type": "null", "shape": None}
    limit = DEFAULT_DATA_URL_LIMIT if data_url_limit is None else data_url_limit
    inline = len(raw.data) < limit
    mime = _file_mime(raw.type, raw.data, raw.mime) or OCTET_STREAM
    if inline:
        url = f"data:{mime};base64,{base64.b64encode(raw.data).decode('ascii')}"
    else:
        url = await store(raw.data, mime, name)
    shape = list(raw.shape or [])
    wire: dict[str, Any] = {
        "data": url,
        "type": raw.type,
        "shape": shape if raw.type in ELEMENT_FORMATS else None,
    }
    return wire | _convenience(raw.type, shape, raw.data, inline)


def convenience(dtype: str, data: bytes) -> dict[str, Any]:
    """The convenience field of a string, list or dict result held in ``data``."""
    return _convenience(dtype, [], data, inline=True)


def _convenience(
    dtype: str, shape: list[int], data: bytes, inline: bool
) -> dict[str, Any]:
    if dtype in ELEMENT_FORMATS:
        return _number_fields(dtype, shape, data, inline)
    if not inline:
        return {}
    if dtype == "string":
        return {"stringValue": data.decode("utf-8")}
    if dtype in ("list", "dict"):
        return {f"{dtype}Value": json.loads(data)}
    return {}


def _number_fields(
    dtype: str, shape: list[int], data: bytes, inline: bool
) -> dict[str, Any]:
    if shape and not inline:
        return {}
    items = list(struct.unpack(f"<{math.prod(shape)}{ELEMENT_FORMATS[dtype]}", data))
    if dtype == "bool":
        kind, fits = "bool", True
    elif dtype in _FLOAT_DTYPES:
        kind, fits = "float", all(math.isfinite(item) for item in items)
    else:
        kind, fits = "int", all(item in _GRAPHQL_INT_RANGE for item in items)
    if not fits:
        return {}
    return {f"{kind}Array": items} if shape else {f"{kind}Value": items[0]}
