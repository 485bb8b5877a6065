"""Convert prediction values between raw bytes and the objects ``predict`` uses.

This module runs inside the predictor's worker process, in the predictor's own
environment, where only the predictor's requirements are installed. So it needs
nothing but the standard library. numpy and Pillow are imported only when an
input needs them (an array, an image), and they are the predictor's own copies.
For results they are looked up in ``sys.modules``: a result can only be a numpy
array or a PIL image if ``predict`` imported numpy or Pillow itself. pydantic
is looked up the same way. The server imports this module too, for ``Raw``,
``validate`` and ``sniff``.

A value crosses the process boundary as a ``Raw``: a dtype, a shape and bytes,
laid out as in the 2023 platform's wire format::

    dtype                         bytes                             shape
    null                          none (data is None)               None
    int8 int16 int32 int64        the elements, little-endian,      [] for one
    uint8 uint16 uint32 uint64    in C order                        number
    float16 float32 float64
    bool                          one byte per element, 0 or 1      [] for one
    string                        UTF-8                             None
    list, dict                    JSON text                         None
    image                         an image file (PNG for results)   None
    video audio model binary      the file's bytes                  None

Inputs, ``to_object``: what ``predict`` receives for each dtype::

    null                   None
    numbers, bool          int, float or bool when the shape is []. Otherwise
                           a numpy array of that dtype and shape (writable,
                           native byte order) when numpy is installed in the
                           predictor's environment, else nested lists of int,
                           float or bool of that shape
    string                 str
    list, dict             the parsed JSON: a list, a dict
    image                  a PIL.Image.Image, already decoded. Without Pillow
                           in the environment this is an error that says to
                           add it to the predictor's requirements
    video audio model      a pathlib.Path to a new file in the scratch folder,
    binary                 named with a suffix from the MIME when it is known
                           (.mp4, .wav, .glb ...), sniffed from the bytes
                           otherwise

Every input is checked first (``validate``): the data must hold exactly the
elements of its shape, bools must be 0 or 1, strings UTF-8, and JSON must parse
to a list or a dict as the dtype says.

Results, ``from_object``: the dtype of each value ``predict`` may return::

    None                          null
    bool                          bool, shape []
    int                           int64, shape [] (beyond int64: an error)
    float                         float64, shape []
    str                           string
    an Enum member                as its value
    numpy array or scalar         its own dtype and shape; complex, string,
                                  object and other dtypes are an error
    list, tuple                   list, as JSON
    dict, dataclass, pydantic     dict, as JSON
    model
    PIL.Image.Image               image, as PNG (lossless; modes PNG cannot hold
                                  become RGB, RGBA, LA or 16-bit grayscale, and
                                  float (F) images are an error)
    pathlib.Path to a file        image, audio, video, model or binary, from the
                                  file's MIME; the bytes are read at once
    bytes, bytearray, memoryview, the same, from the sniffed MIME
    io.BytesIO

Python's numbers are 64-bit, hence int64 and float64. Inside lists and dicts,
numpy scalars and arrays, tuples, Enum members, dataclasses and pydantic models
become plain JSON, and integer keys become strings as ``json.dumps`` makes
them. Anything else in them, and NaN or infinite floats (which JSON cannot
hold), is an error that names where it is.

MIME types are sniffed from magic bytes (``sniff``), then guessed from a file's
suffix; a zip file's suffix comes first, as it tells a .usdz model from other
zips. Only images that Pillow opens without plugins (PNG, JPEG, GIF, WebP,
BMP, TIFF) have the image dtype; an image file of another kind, such as SVG, is
binary. Errors are ``ConversionError``, whose message says what to change.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import io
import json
import math
import mimetypes
import pathlib
import struct
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, TypeGuard

__all__ = [
    "DTYPES",
    "ELEMENT_FORMATS",
    "FILE_DTYPES",
    "OCTET_STREAM",
    "ConversionError",
    "Raw",
    "from_object",
    "guess_mime",
    "sniff",
    "suffix_for",
    "to_object",
    "validate",
]

# The struct codes of the dtypes whose data holds raw little-endian elements.
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
FILE_DTYPES = ("image", "video", "audio", "model", "binary")
JSON_DTYPES = {"list": list, "dict": dict}
DTYPES = ("null", "string", *ELEMENT_FORMATS, "list", "dict", *FILE_DTYPES)
OCTET_STREAM = "application/octet-stream"

_INT64_RANGE = range(-(2**63), 2**63)
# Maps every byte but 0 to 1: a bool array whose bytes were set through a view
# may hold other values, and the wire allows only 0 and 1.
_BOOL_BYTES = bytes([0] + [1] * 255)
_RETURNABLE = (
    "None, a bool, int, float or str, a list, tuple or dict of JSON values, a "
    "dataclass or pydantic model, a numpy array or scalar, a PIL image, a "
    "pathlib.Path to a file, or bytes (also bytearray, memoryview, io.BytesIO)"
)


class ConversionError(Exception):
    """A value that cannot be converted. The message says why and what to do."""


@dataclass(frozen=True)
class Raw:
    """A value as it crosses the process boundary: its dtype, shape and bytes."""

    type: str
    """A dtype name, one of ``DTYPES``."""
    shape: list[int] | None
    """The dimensions (``[]`` for one number) for numbers and bool, else None."""
    data: bytes | None
    """The bytes, laid out as the module docstring says; None only for null."""
    mime: str | None = None
    """The MIME type of an image, video, audio, model or binary, when known."""


# ---------- checks ----------


def validate(raw: Raw) -> None:
    """Check that ``raw``'s bytes are what its dtype and shape say they are.

    Raises ConversionError otherwise. Image, video, audio, model and binary
    bytes are not checked here: only opening the file tells.
    """
    data = _data(raw)
    if data is None:
        return
    if raw.type in ELEMENT_FORMATS:
        _check_elements(raw.type, raw.shape, data)
    elif raw.type == "string":
        _text(data)
    elif raw.type in JSON_DTYPES:
        _json(raw.type, data)


def _data(raw: Raw) -> bytes | None:
    if raw.type not in DTYPES:
        raise ConversionError(
            f"{raw.type!r} is not a dtype: use one of {', '.join(DTYPES)}."
        )
    if raw.type == "null":
        return None
    if not isinstance(raw.data, bytes):
        raise ConversionError(f"The {raw.type} value has no data.")
    return raw.data


def _check_elements(dtype: str, shape: list[int] | None, data: bytes) -> list[int]:
    if not _is_shape(shape):
        raise ConversionError(
            f"The {dtype} value needs a shape: a list of sizes, or [] for a "
            f"single {'bool' if dtype == 'bool' else 'number'}, not {shape!r}."
        )
    size = struct.calcsize("<" + ELEMENT_FORMATS[dtype])
    count = math.prod(shape)
    if len(data) != count * size:
        raise ConversionError(
            f"A {dtype} value of shape {shape} has {count} element"
            f"{'' if count == 1 else 's'} of {size} byte{'' if size == 1 else 's'}, "
            f"{count * size} bytes in all, but its data has {len(data)} bytes."
        )
    if dtype == "bool" and data.translate(None, b"\x00\x01"):
        raise ConversionError("A bool value must have one byte per element, 0 or 1.")
    return shape


def _is_shape(shape: object) -> TypeGuard[list[int]]:
    return isinstance(shape, list) and all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0
        for size in shape
    )


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConversionError(
            f"The string is not valid UTF-8 (at byte {error.start})."
        ) from None


def _json(dtype: str, data: bytes) -> Any:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ConversionError(
            f"The {dtype} value is not valid JSON ({error})."
        ) from None
    expected = JSON_DTYPES[dtype]
    if not isinstance(value, expected):
        raise ConversionError(
            f"The {dtype} value holds JSON {_json_kind(value)}, not "
            f"{'an array' if expected is list else 'an object'}."
        )
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else f"a {type(value).__name__}"


# ---------- inputs: raw to object ----------


def to_object(raw: Raw, scratch: pathlib.Path) -> Any:
    """The object ``predict`` receives for ``raw``: see the module docstring.

    Files for video, audio, model and binary inputs are written to ``scratch``,
    which must exist; the caller owns them and removes the folder afterwards.
    """
    data = _data(raw)
    if data is None:
        return None
    if raw.type in ELEMENT_FORMATS:
        shape = _check_elements(raw.type, raw.shape, data)
        if not shape:
            return struct.unpack("<" + ELEMENT_FORMATS[raw.type], data)[0]
        return _array(raw.type, shape, data)
    if raw.type == "string":
        return _text(data)
    if raw.type in JSON_DTYPES:
        return _json(raw.type, data)
    if raw.type == "image":
        return _image(data)
    return _file(data, raw.mime, scratch)


def _array(dtype: str, shape: list[int], data: bytes) -> Any:
    try:
        numpy: Any = importlib.import_module("numpy")
    except ImportError:
        count = math.prod(shape)
        items = struct.unpack(f"<{count}{ELEMENT_FORMATS[dtype]}", data)
        return _nested(list(items), shape)
    # A bytearray makes the array writable, as predict may expect of an input.
    little = numpy.frombuffer(
        bytearray(data), dtype=numpy.dtype(dtype).newbyteorder("<")
    )
    return little.astype(numpy.dtype(dtype), copy=False).reshape(shape)


def _nested(items: list[Any], shape: list[int]) -> list[Any]:
    """``items`` as nested lists of ``shape``, as numpy's ``tolist`` gives."""
    if len(shape) <= 1:
        return items
    step = math.prod(shape[1:])
    return [
        _nested(items[index * step : (index + 1) * step], shape[1:])
        for index in range(shape[0])
    ]


def _image(data: bytes) -> Any:
    try:
        image_module: Any = importlib.import_module("PIL.Image")
    except ImportError:
        raise ConversionError(
            "This input is an image, which predict receives as a PIL.Image.Image, "
            "but Pillow is not installed in the predictor's environment: add "
            "'pillow' to its requirements."
        ) from None
    try:
        image = image_module.open(io.BytesIO(data))
        image.load()  # decode now, so that a broken file fails here and not later
    except Exception as error:  # Pillow raises many kinds for a file it cannot read
        # Pillow's "cannot identify image file <_io.BytesIO ...>" names no file.
        unknown = type(error).__name__ == "UnidentifiedImageError"
        problem = "it is not an image file that Pillow knows" if unknown else error
        raise ConversionError(
            f"The image cannot be read ({problem}): send a PNG, JPEG, GIF, WebP, "
            "BMP or TIFF file."
        ) from None
    return image


def _file(data: bytes, mime: str | None, scratch: pathlib.Path) -> pathlib.Path:
    suffix = suffix_for(mime) or suffix_for(sniff(data))
    with tempfile.NamedTemporaryFile(
        dir=scratch, prefix="input-", suffix=suffix, delete=False
    ) as file:
        file.write(data)
    return pathlib.Path(file.name)


# ---------- results: object to raw ----------


def from_object(value: Any, scratch: pathlib.Path) -> Raw:
    """The ``Raw`` form of a value that ``predict`` returned or yielded.

    ``scratch`` is the prediction's folder of files; a Path result may point
    into it, as its bytes are read here, before the folder goes. Raises
    ConversionError for a value that has no dtype, saying what may be returned.
    """
    if value is None:
        return Raw("null", None, None)
    if isinstance(value, enum.Enum):
        return from_object(value.value, scratch)
    if _is_numpy(value):
        return _from_array(sys.modules["numpy"].asarray(value))
    if isinstance(value, bool):
        return Raw("bool", [], b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return _from_int(value)
    if isinstance(value, float):
        return Raw("float64", [], struct.pack("<d", value))
    if isinstance(value, str):
        return Raw("string", None, _utf8(value))
    if isinstance(value, bytes | bytearray):
        return _from_bytes(bytes(value))
    if isinstance(value, memoryview):
        return _from_bytes(value.tobytes())
    if isinstance(value, io.BytesIO):
        return _from_bytes(value.getvalue())
    if _is_image(value):
        return _from_image(value)
    if isinstance(value, pathlib.PurePath):
        return _from_path(pathlib.Path(value))
    if isinstance(value, list | tuple):
        return _from_json("list", value)
    if isinstance(value, dict) or _is_record(value):
        return _from_json("dict", value)
    raise ConversionError(
        f"predict returned {_a(value)}, which cannot be a result{_hint(value)}. "
        f"Return {_RETURNABLE}."
    )


def _is_numpy(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return False
    # numpy's str_ and bytes_ scalars are also str and bytes: those rules apply.
    return isinstance(value, numpy.ndarray) or (
        isinstance(value, numpy.generic) and not isinstance(value, str | bytes)
    )


def _from_array(array: Any) -> Raw:
    kind, name = array.dtype.kind, array.dtype.name
    if name not in ELEMENT_FORMATS:
        raise ConversionError(_array_advice(kind, name))
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    data = little.tobytes(order="C")
    if name == "bool":
        data = data.translate(_BOOL_BYTES)
    return Raw(name, [int(size) for size in array.shape], data)


def _array_advice(kind: str, name: str) -> str:
    if kind == "c":
        return (
            f"A numpy array of {name} cannot be a result: return its real and "
            "imaginary parts (array.real, array.imag) as two float arrays."
        )
    if kind in "USO":
        return (
            f"A numpy array of {name} cannot be a result: return array.tolist(), "
            "a list, or cast it to a number dtype."
        )
    return (
        f"A numpy array of {name} cannot be a result: cast it to one of "
        f"{', '.join(ELEMENT_FORMATS)}, e.g. array.astype(numpy.float64)."
    )


def _from_int(value: int) -> Raw:
    if value not in _INT64_RANGE:
        number = str(value) if value.bit_length() <= 128 else "an integer"
        raise ConversionError(
            f"predict returned {number}, which is beyond the int64 range that an "
            "integer result has (-2**63 to 2**63 - 1): return it as a float or a "
            "str, or as a numpy.uint64 if it is below 2**64."
        )
    return Raw("int64", [], struct.pack("<q", value))


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ConversionError(
            f"The string result cannot be UTF-8: it has a lone surrogate at "
            f"index {error.start}."
        ) from None


def _from_bytes(data: bytes) -> Raw:
    mime = sniff(data)
    return Raw(_file_dtype(mime, mime), None, data, mime or OCTET_STREAM)


def _from_path(path: pathlib.Path) -> Raw:
    if not path.is_file():
        problem = "is a folder" if path.is_dir() else "does not exist"
        raise ConversionError(
            f"predict returned the path '{path}', which {problem}: return the path "
            "of a file (a zip file to return a folder)."
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConversionError(
            f"The returned file '{path}' cannot be read: {error.strerror}."
        ) from None
    sniffed = sniff(data)
    # A zip file's suffix says more of what it holds: .usdz, .npz, .docx.
    guessed = guess_mime(path.name) if sniffed in (None, "application/zip") else None
    mime = guessed or sniffed or OCTET_STREAM
    return Raw(_file_dtype(sniffed, mime), None, data, mime)


def _file_dtype(sniffed: str | None, mime: str | None) -> str:
    # Only a sniffed image is known to open; an SVG named .svg is not one.
    if sniffed in _PILLOW_IMAGES:
        return "image"
    top = (mime or "").partition("/")[0]
    return top if top in ("audio", "video", "model") else "binary"


def _is_image(value: Any) -> bool:
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(value, module.Image)


# The modes PNG stores exactly, and what to convert the others to.
_PNG_MODES = frozenset({"1", "L", "LA", "I;16", "I;16B", "P", "RGB", "RGBA"})
_PNG_CONVERSIONS = {
    "PA": "RGBA",
    "RGBa": "RGBA",
    "La": "LA",
    "I;16L": "I;16",
    "I;16N": "I;16",
}


def _from_image(image: Any) -> Raw:
    image = _png_ready(image)
    buffer = io.BytesIO()
    try:
        image.save(buffer, format="PNG")
    except (OSError, ValueError) as error:
        raise ConversionError(
            f"The image result cannot be saved as PNG: {error}."
        ) from None
    return Raw("image", None, buffer.getvalue(), "image/png")


def _png_ready(image: Any) -> Any:
    mode = image.mode
    if mode in _PNG_MODES:
        return image
    if mode == "I":
        low, high = image.getextrema()
        if low < 0 or high > 0xFFFF:
            raise ConversionError(
                "The image result has 32-bit pixels beyond 0..65535, which PNG "
                "cannot hold: scale it to 16 bits, or return a numpy array."
            )
        return image.convert("I;16")
    if mode == "F":
        raise ConversionError(
            "The image result has float pixels (mode F), which PNG cannot hold: "
            "convert it (image.convert('L') for 8 bits) or return a float32 numpy "
            "array."
        )
    # CMYK, YCbCr, LAB, HSV, RGBX and the like have no alpha.
    return image.convert(_PNG_CONVERSIONS.get(mode, "RGB"))


def _from_json(dtype: str, value: Any) -> Raw:
    plain = _plain(value, "", frozenset())
    # NaN and infinities were refused with their place; allow_nan=False is a guard.
    return Raw(dtype, None, json.dumps(plain, allow_nan=False).encode("utf-8"))


def _plain(value: Any, where: str, within: frozenset[int]) -> Any:
    """``value`` as plain JSON data; ``where`` says where it is, for errors."""
    if isinstance(value, enum.Enum):
        return _plain(value.value, where, within)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _finite(float(value), where)
    if _is_numpy(value):
        return _plain_numpy(value, where, within)
    if isinstance(value, list | tuple | dict) or _is_record(value):
        if id(value) in within:
            raise ConversionError(f"The result contains itself at {where}.")
        return _plain_container(value, where, within | {id(value)})
    raise ConversionError(
        f"The result holds {_a(value)} at {where}, which JSON cannot hold"
        f"{_hint(value)}: lists and dicts may hold None, bool, int, float, str, "
        "lists, tuples, dicts, dataclasses, pydantic models and numpy numbers."
    )


def _plain_numpy(value: Any, where: str, within: frozenset[int]) -> Any:
    if value.dtype.kind not in "biuf":
        raise ConversionError(
            f"The result holds a numpy {value.dtype.name} at {where}, which JSON "
            "cannot hold: use numbers or bools."
        )
    # tolist gives Python numbers, in nested lists for an array.
    return _plain(value.tolist(), where, within)


def _plain_container(value: Any, where: str, within: frozenset[int]) -> Any:
    if isinstance(value, list | tuple):
        return [
            _plain(item, f"{where}[{index}]", within)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, dict):
        value = _record_fields(value)
    plain = {}
    for key, item in value.items():
        name = _key(key, where)
        plain[name] = _plain(item, f"{where}[{name!r}]", within)
    return plain


def _key(key: Any, where: str) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    if _is_numpy(key) and key.dtype.kind in "iu":
        key = key.item()
    if isinstance(key, str):
        return str(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)  # as json.dumps writes integer keys
    raise ConversionError(
        f"The result has a dict key {key!r} at {where or 'the top'}, but JSON keys "
        "are strings: use str keys (int keys become strings)."
    )


def _finite(number: float, where: str) -> float:
    if not math.isfinite(number):
        raise ConversionError(
            f"The result holds {number} at {where}, which JSON cannot hold: use "
            "None instead, or return the numbers as a numpy array."
        )
    return number


def _is_record(value: Any) -> bool:
    """Whether ``value`` is a dataclass instance or a pydantic model."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return True
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def _record_fields(record: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(record):
        # Not dataclasses.asdict: it deep-copies every field, arrays included.
        return {
            field.name: getattr(record, field.name)
            for field in dataclasses.fields(record)
        }
    if hasattr(record, "model_dump"):
        # As the official Python client dumps a model it sends.
        fields: dict[str, Any] = record.model_dump(mode="json", by_alias=True)
        return fields
    legacy: dict[str, Any] = record.dict(by_alias=True)  # pydantic 1
    return legacy


def _a(value: Any) -> str:
    """'a set', 'a numpy.datetime64': the kind of ``value``, for messages."""
    kind = type(value)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__", "predictor"):
        name = f"{kind.__module__.partition('.')[0]}.{name}"
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def _hint(value: Any) -> str:
    if hasattr(value, "__array__"):
        return " (convert it with numpy.asarray)"
    if isinstance(value, set | frozenset):
        return " (use a list: sorted(...) gives one in a stable order)"
    return ""


# ---------- MIME types ----------

_PILLOW_IMAGES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}
)
# MIME type -> file suffix, for the types that ``sniff`` finds and a few more.
_SUFFIXES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
    "image/svg+xml": ".svg",
    "image/avif": ".avif",
    "image/heic": ".heic",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mpeg": ".mp3",
    "audio/flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
    "video/x-msvideo": ".avi",
    "video/ogg": ".ogv",
    "video/3gpp": ".3gp",
    "model/gltf-binary": ".glb",
    "model/gltf+json": ".gltf",
    "model/vnd.usdz+zip": ".usdz",
    "model/obj": ".obj",
    "model/stl": ".stl",
    "application/zip": ".zip",
    "application/pdf": ".pdf",
    "application/json": ".json",
    "text/plain": ".txt",
    "text/csv": ".csv",
}
_MIMES = {suffix: mime for mime, suffix in reversed(_SUFFIXES.items())}
_MIMES |= {".jpeg": "image/jpeg", ".tif": "image/tiff", ".m4v": "video/mp4"}


def sniff(data: bytes) -> str | None:
    """The MIME type that ``data``'s magic bytes show, or None when none match."""
    head = data[:64]
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {
            b"WAVE": "audio/wav",
            b"WEBP": "image/webp",
            b"AVI ": "video/x-msvideo",
        }.get(head[8:12])
    if head[4:8] == b"ftyp":
        return _iso_media(head[8:12])
    if head.startswith(b"OggS"):
        return "video/ogg" if b"theora" in data[:256] else "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM
        return "video/webm" if b"webm" in data[:4096] else "video/x-matroska"
    if _is_bmp(head):
        return "image/bmp"
    if _is_mp3(head):
        return "audio/mpeg"
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    return None


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"fLaC", "audio/flac"),
    (b"glTF", "model/gltf-binary"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
)


def _iso_media(brand: bytes) -> str:
    """The MIME type of an ISO media file (MP4 and kin) from its major brand."""
    if brand in (b"M4A ", b"M4B "):
        return "audio/mp4"
    if brand == b"qt  ":
        return "video/quicktime"
    if brand.startswith(b"3g"):
        return "video/3gpp"
    if brand in (b"avif", b"avis"):
        return "image/avif"
    if brand in (b"heic", b"heix", b"mif1", b"msf1"):
        return "image/heic"
    return "video/mp4"


def _is_bmp(head: bytes) -> bool:
    # "BM" alone begins too many text files: the reserved bytes must be zero and
    # the info header one of the sizes BMP versions use.
    return (
        head.startswith(b"BM")
        and len(head) >= 18
        and head[6:10] == b"\x00\x00\x00\x00"
        and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108, 124)
    )


def _is_mp3(head: bytes) -> bool:
    if head.startswith(b"ID3"):
        return True
    # An MPEG audio frame header: 11 sync bits, MPEG 1 or 2, layer III.
    return len(head) >= 2 and head[0] == 0xFF and head[1] in (0xFB, 0xF3, 0xF2, 0xFA)


def suffix_for(mime: str | None) -> str:
    """The file suffix for ``mime`` (".png"), or "" when there is none to give."""
    if not mime:
        return ""
    essence = mime.partition(";")[0].strip().lower()
    if essence == OCTET_STREAM:
        return ""
    return _SUFFIXES.get(essence) or mimetypes.guess_extension(essence) or ""


def guess_mime(name: str) -> str | None:
    """The MIME type that a file name's suffix suggests, or None."""
    suffix = pathlib.PurePath(name).suffix.lower()
    return _MIMES.get(suffix) or mimetypes.guess_type(name, strict=False)[0]
