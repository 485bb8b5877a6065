"""Python objects to wire values and back, keeping every bit of precision.

Sending (``encode``): the dtype each kind of object gets::

    None                        null
    bool                        bool, shape []
    int                         int32 when it fits, else int64, else uint64
                                (below 2**64); larger ones are refused
    float                       float64, shape []
    str                         string (UTF-8)
    numpy array or scalar       its own dtype and shape (float16 to uint64,
                                bool); complex, string and object arrays are
                                refused
    list, tuple                 list, as JSON
    dict, dataclass, pydantic   dict, as JSON (numpy numbers, tuples, enums,
    model                       dataclasses and models inside become JSON)
    an Enum member              as its value
    bytes, bytearray,           binary
    memoryview, io.BytesIO
    PIL image                   image: PNG, or TIFF for modes PNG cannot hold
    pathlib.Path                image, audio, video, model or binary, from the
                                file's type; the file must exist
    Value                       sent as it is

Receiving (``decode``): numbers and bools of shape ``[]`` are Python ``int``,
``float`` and ``bool``; other shapes are numpy arrays of their dtype (nested
lists without numpy); strings, lists and dicts are themselves; images are
loaded ``PIL.Image.Image`` objects (the file's bytes without Pillow); audio,
video, model and binary values are ``bytes``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import importlib
import io
import json
import math
import pathlib
import struct
import sys
import urllib.parse
from dataclasses import dataclass
from typing import Any

from openfxn._client.errors import ConversionError
from openfxn._client.models import Value
from openfxn._client.sansio import images, mimes

ELEMENT_FORMATS = {
    "int8": "b",
    "int16": "h",
    "int32": "i",
    "int64": "q",
    "uint8": "B",
    "uint16": "H",
    "uint32": "I",
    "uint64": "Q",
    "float16": "e",
    "float32": "f",
    "float64": "d",
    "bool": "?",
}
INT32 = range(-(2**31), 2**31)
INT64 = range(-(2**63), 2**63)
UINT64 = range(2**64)
# Maps every byte but 0 to 1: the bytes of a bool array set through a view may
# hold anything, and the wire allows only 0 and 1.
BOOL_BYTES = bytes([0] + [1] * 255)


@dataclass(frozen=True)
class Encoded:
    """A value ready to send: its dtype, shape, bytes and their MIME type."""

    type: str
    shape: list[int] | None
    data: bytes | None
    mime: str = mimes.OCTET_STREAM

    def wire(self, data: str | None) -> dict[str, Any]:
        """The wire Value, with ``data`` the data: or upload URL of the bytes."""
        shape = self.shape if self.type in ELEMENT_FORMATS else None
        return {"data": data, "type": self.type, "shape": shape}


# ---------- sending ----------


def encode(value: Any, name: str) -> Encoded | Value:
    """The wire form of ``value``, the input called ``name`` (for errors)."""
    if value is None:
        return Encoded("null", None, None)
    if isinstance(value, Value):
        return value
    if isinstance(value, enum.Enum):
        return encode(value.value, name)
    if is_numpy(value):
        return encode_array(sys.modules["numpy"].asarray(value), name)
    if isinstance(value, bool):
        return Encoded("bool", [], b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return encode_int(int(value), name)
    if isinstance(value, float):
        return Encoded("float64", [], struct.pack("<d", value))
    if isinstance(value, str):
        return Encoded("string", None, utf8(value, name))
    if isinstance(value, bytes | bytearray | memoryview | io.BytesIO):
        return encode_bytes(value)
    if images.is_image(value):
        data, mime = images.encode(value, name)
        return Encoded("image", None, data, mime)
    if isinstance(value, pathlib.PurePath):
        return encode_file(pathlib.Path(value), name)
    if isinstance(value, list | tuple):
        return encode_json("list", value, name)
    if isinstance(value, dict) or is_record(value):
        return encode_json("dict", value, name)
    raise ConversionError(
        f"Input '{name}' is {a(value)}, which has no wire form. Send None, a bool, "
        "int, float or str, a list, tuple or dict, a dataclass or pydantic model, "
        "a numpy array or scalar, bytes, a PIL image or a pathlib.Path."
    )


def encode_int(value: int, name: str) -> Encoded:
    for dtype, allowed in (("int32", INT32), ("int64", INT64), ("uint64", UINT64)):
        if value in allowed:
            return Encoded(dtype, [], struct.pack("<" + ELEMENT_FORMATS[dtype], value))
    raise ConversionError(
        f"Input '{name}' is an integer beyond what 64 bits hold (-2**63 to "
        "2**64 - 1): send it as a str, or as a float if it may lose precision."
    )


def encode_array(array: Any, name: str) -> Encoded:
    dtype = array.dtype
    if dtype.name not in ELEMENT_FORMATS:
        raise ConversionError(
            f"Input '{name}' is a numpy array of {dtype.name}, which has no "
            f"dtype on the wire: cast it to one of {', '.join(ELEMENT_FORMATS)}, "
            "or send array.tolist()."
        )
    little = array.astype(dtype.newbyteorder("<"), copy=False)
    data = little.tobytes(order="C")
    if dtype.name == "bool":
        data = data.translate(BOOL_BYTES)
    return Encoded(dtype.name, [int(size) for size in array.shape], data)


def encode_bytes(value: bytes | bytearray | memoryview | io.BytesIO) -> Encoded:
    data = value.getvalue() if isinstance(value, io.BytesIO) else bytes(value)
    return Encoded("binary", None, data, mimes.sniff(data) or mimes.OCTET_STREAM)


def encode_file(path: pathlib.Path, name: str) -> Encoded:
    if not path.is_file():
        problem = "is a folder" if path.is_dir() else "does not exist"
        raise ConversionError(
            f"Input '{name}' is the path '{path}', which {problem}: give the path "
            "of a file."
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConversionError(
            f"Input '{name}' is the file '{path}', which cannot be read: "
            f"{error.strerror}."
        ) from None
    mime = mimes.of_file(data, path.name)
    return Encoded(mimes.file_dtype(data, mime), None, data, mime)


def encode_json(dtype: str, value: Any, name: str) -> Encoded:
    plain = to_json(value, name, frozenset())
    text = json.dumps(plain, allow_nan=False)
    return Encoded(dtype, None, utf8(text, name))


def to_json(value: Any, where: str, within: frozenset[int]) -> Any:
    """``value`` as plain JSON data; ``where`` places it, for errors."""
    if isinstance(value, enum.Enum):
        return to_json(value.value, where, within)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConversionError(
                f"Input {where} holds {value}, which JSON cannot hold: use None, "
                "or send the numbers as a numpy array."
            )
        return float(value)
    if is_numpy(value):
        if value.dtype.kind not in "biuf":
            raise ConversionError(
                f"Input {where} holds a numpy {value.dtype.name}, which JSON "
                "cannot hold: use numbers or bools."
            )
        return to_json(value.tolist(), where, within)
    if isinstance(value, list | tuple | dict) or is_record(value):
        if id(value) in within:
            raise ConversionError(f"Input {where} contains itself.")
        return to_json_container(value, where, within | {id(value)})
    raise ConversionError(
        f"Input {where} is {a(value)}, which JSON cannot hold: lists and dicts "
        "may hold None, bool, int, float, str, lists, tuples, dicts, "
        "dataclasses, pydantic models and numpy numbers."
    )


def to_json_container(value: Any, where: str, within: frozenset[int]) -> Any:
    if isinstance(value, list | tuple):
        return [
            to_json(item, f"{where}[{index}]", within)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, dict):
        value = record_fields(value)
    plain = {}
    for key, item in value.items():
        if isinstance(key, enum.Enum):
            key = key.value
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)  # as json.dumps writes integer keys
        if not isinstance(key, str):
            raise ConversionError(
                f"Input {where} has the key {key!r}, but JSON keys are strings."
            )
        plain[key] = to_json(item, f"{where}[{key!r}]", within)
    return plain


def is_numpy(value: object) -> bool:
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return False
    # numpy's str_ and bytes_ are also str and bytes, and sent as those.
    return isinstance(value, numpy.ndarray) or (
        isinstance(value, numpy.generic) and not isinstance(value, str | bytes)
    )


def is_record(value: object) -> bool:
    """Whether ``value`` is a dataclass instance or a pydantic model."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return True
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def record_fields(record: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(record):
        # Not dataclasses.asdict, which deep-copies every field.
        return {
            field.name: getattr(record, field.name)
            for field in dataclasses.fields(record)
        }
    fields: dict[str, Any] = record.model_dump(mode="json", by_alias=True)
    return fields


def utf8(text: str, name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ConversionError(
            f"Input '{name}' is a string with a lone surrogate at index "
            f"{error.start}, which UTF-8 cannot hold."
        ) from None


def a(value: object) -> str:
    """'a set', 'a numpy.datetime64': the kind of ``value``, for messages."""
    kind = type(value)
    qualified = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        qualified = f"{kind.__module__.partition('.')[0]}.{qualified}"
    return f"{'an' if qualified[0].lower() in 'aeiou' else 'a'} {qualified}"


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# ---------- receiving ----------


def is_data_url(url: str) -> bool:
    return url[:5].lower() == "data:"


def read_data_url(url: str) -> tuple[bytes, str | None]:
    """The bytes and media type of ``data:[<type>][;base64],<data>``."""
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise ConversionError("A result's data URL has no ',' before its data.")
    media_type, _, last = header.rpartition(";")
    if last.strip().lower() != "base64":
        return urllib.parse.unquote_to_bytes(payload), header or None
    try:
        return base64.b64decode(payload, validate=True), media_type or None
    except (binascii.Error, ValueError):
        raise ConversionError("A result's data URL is not valid base64.") from None


def decode(value: Value, data: bytes | None) -> Any:
    """The Python object for ``value``, whose bytes are ``data``."""
    if value.type == "null" or data is None:
        return None
    if value.type in ELEMENT_FORMATS:
        return decode_elements(value.type, value.shape, data)
    if value.type in ("string", "list", "dict"):
        return decode_text(value.type, data)
    if value.type == "image":
        return images.decode(data)
    return data


def decode_text(dtype: str, data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
        return text if dtype == "string" else json.loads(text)
    except (
        ValueError
    ) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ConversionError(f"A {dtype} result cannot be read: {error}.") from None


def decode_elements(dtype: str, shape: list[int] | None, data: bytes) -> Any:
    code = ELEMENT_FORMATS[dtype]
    size = struct.calcsize("<" + code)
    if shape is None:  # lenient: a lone element is a scalar, more a flat array
        shape = [] if len(data) == size else [len(data) // size]
    count = math.prod(shape)
    if len(data) != count * size:
        raise ConversionError(
            f"A {dtype} result of shape {shape} should have {count * size} bytes "
            f"but has {len(data)}."
        )
    if not shape:
        return struct.unpack("<" + code, data)[0]
    try:
        numpy: Any = importlib.import_module("numpy")
    except ImportError:
        return nested(list(struct.unpack(f"<{count}{code}", data)), shape)
    little = numpy.frombuffer(
        bytearray(data), dtype=numpy.dtype(dtype).newbyteorder("<")
    )
    return little.astype(numpy.dtype(dtype), copy=False).reshape(shape)


def nested(items: list[Any], shape: list[int]) -> list[Any]:
    """``items`` as nested lists of ``shape``, as numpy's ``tolist`` gives."""
    if len(shape) <= 1:
        return items
    step = math.prod(shape[1:])
    return [
        nested(items[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])
    ]
