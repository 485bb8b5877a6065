"""Prediction values on the wire: reading inputs, resolving them, writing results.

Uploads are faked: ``fetch`` serves a dict of URLs, and ``store`` records what it
is given and answers with a made-up URL.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from openfxn.server.errors import InvalidRequest
from openfxn.server.predictors.values import ConversionError, Raw, to_object
from openfxn.server.services.values import (
    DEFAULT_DATA_URL_LIMIT,
    WireInput,
    parse_data_url_limit,
    read_input,
    to_raw,
    to_wire,
)

OCTET_URL = "data:application/octet-stream;base64,"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def data_url(data: bytes, mime: str = "application/octet-stream") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


class Uploads:
    """A stand-in for the server's uploads: what fetch serves, what store keeps."""

    def __init__(self, served: dict[str, tuple[bytes, str | None]] | None = None):
        self.served = served or {}
        self.fetched: list[str] = []
        self.stored: list[tuple[bytes, str, str]] = []

    async def fetch(self, url: str) -> tuple[bytes, str | None]:
        self.fetched.append(url)
        return self.served[url]

    async def store(self, data: bytes, mime: str, name: str) -> str:
        self.stored.append((data, mime, name))
        return f"https://uploads.test/{name}/{len(self.stored)}"


async def resolve(name: str, wire: Any, uploads: Uploads | None = None) -> Raw:
    return await to_raw(read_input(name, wire), (uploads or Uploads()).fetch)


# ---------- dataUrlLimit ----------


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        (None, None),
        ("None", None),
        ("undefined", None),
        ("", None),
        ("  ", None),
        ("null", None),
        ("-1", None),
        ("1.5", None),
        ("1e3", None),
        ("4_096", None),
        ("٣", None),
        ("0", 0),
        ("4096", 4096),
        (" 10 ", 10),
        ("007", 7),
    ],
)
def test_parse_data_url_limit(text: str | None, limit: int | None) -> None:
    assert parse_data_url_limit(text) == limit


# ---------- Values ----------


async def test_the_python_clients_recorded_string_value() -> None:
    wire = json.loads(
        '{"name":{"data":"data:application/octet-stream;base64,UGV0ZXI=",'
        '"type":"string","shape":null}}'
    )

    value = read_input("name", wire["name"])
    raw = await to_raw(value, Uploads().fetch)

    assert value == WireInput("name", "string", None, f"{OCTET_URL}UGV0ZXI=")
    assert raw == Raw("string", None, b"Peter")
    assert to_object(raw, Path()) == "Peter"


async def test_a_value_may_leave_out_a_null_shape() -> None:
    raw = await resolve("name", {"data": f"{OCTET_URL}UGV0ZXI=", "type": "string"})

    assert raw == Raw("string", None, b"Peter")


async def test_a_tensor_value() -> None:
    data = struct.pack("<6f", *range(6))

    raw = await resolve(
        "x", {"data": data_url(data), "type": "float32", "shape": [2, 3]}
    )

    assert raw == Raw("float32", [2, 3], data)


async def test_a_scalar_value() -> None:
    raw = await resolve("x", {"data": data_url(b"\x07"), "type": "uint8", "shape": []})

    assert raw == Raw("uint8", [], b"\x07")


async def test_a_null_value() -> None:
    assert await resolve("x", {"data": None, "type": "null", "shape": None}) == Raw(
        "null", None, None
    )


async def test_python_009_image_shapes_are_ignored() -> None:
    wire = {"data": data_url(PNG, "image/png"), "type": "image", "shape": [1, 2, 2, 3]}

    raw = await resolve("photo", wire)

    assert raw == Raw("image", None, PNG, "image/png")


async def test_upload_urls_are_fetched() -> None:
    url = "https://uploads.test/value/abc/rgba"
    uploads = Uploads({url: (PNG, "application/octet-stream")})

    raw = await resolve("rgba", {"data": url, "type": "image", "shape": None}, uploads)

    assert uploads.fetched == [url]
    assert raw == Raw("image", None, PNG, "image/png")


@pytest.mark.parametrize(
    ("dtype", "declared", "mime"),
    [
        ("audio", "audio/mpeg", "audio/mpeg"),
        ("audio", "Audio/MPEG; rate=44100", "audio/mpeg"),
        ("audio", None, "audio/wav"),
        ("audio", "application/octet-stream", "audio/wav"),
        ("image", "image/jpeg", "image/png"),
        ("binary", None, None),
    ],
)
async def test_file_mimes_come_from_the_declaration_then_the_bytes(
    dtype: str, declared: str | None, mime: str | None
) -> None:
    url = "https://uploads.test/file"
    content = PNG if dtype == "image" else b"RIFF\x00\x00\x00\x00WAVE"
    content = b"\x00\x01" if dtype == "binary" else content
    uploads = Uploads({url: (content, declared)})

    raw = await resolve("file", {"data": url, "type": dtype}, uploads)

    assert raw.mime == mime


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("data:,Hello%2C%20World", b"Hello, World"),
        ("data:text/plain;charset=utf-8,caf%C3%A9", "café".encode()),
        ("data:;base64,UGV0ZXI=", b"Peter"),
        ("DATA:application/octet-stream;BASE64,UGV0ZXI=", b"Peter"),
        ("data:application/octet-stream;base64,UGV0\nZXI=", b"Peter"),
        ("data:application/octet-stream;base64,UGV0ZXI", b"Peter"),
        ("data:application/octet-stream;base64,UGV0ZXI%3D", b"Peter"),
        ("data:application/octet-stream;base64,-_8=", b"\xfb\xff"),
        ("data:application/octet-stream;base64,+/8=", b"\xfb\xff"),
        ("data:application/octet-stream;base64,", b""),
    ],
)
async def test_data_urls_are_decoded(url: str, data: bytes) -> None:
    raw = await resolve("x", {"data": url, "type": "binary"})

    assert raw.data == data


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (
            {"data": data_url(b"\x00" * 4), "type": "float32"},
            "Input 'x' is a float32 Value, so it needs a shape: a list of sizes, [] "
            "for a single number (or bool), not null.",
        ),
        ({"data": data_url(b"\x00"), "type": "int8", "shape": [-1]}, "not [-1]."),
        ({"data": data_url(b"\x00"), "type": "int8", "shape": "[]"}, 'not "[]".'),
        (
            {"data": "file:///etc/passwd", "type": "binary"},
            "Input 'x' has data that is not a URL: send a data: URL",
        ),
        ({"data": "/uploads/a", "type": "binary"}, "not a URL"),
        ({"data": 42, "type": "binary"}, "not a URL"),
        (
            {"data": "data:application/octet-stream;base64UGV0", "type": "binary"},
            "Input 'x' has a data URL without a comma",
        ),
        (
            {"data": "data:application/octet-stream;base64,!!!!", "type": "binary"},
            "Input 'x' has a data URL whose data is not base64.",
        ),
        (
            {"data": data_url(b"\x00" * 20), "type": "float32", "shape": [2, 3]},
            "Input 'x' is invalid. A float32 value of shape [2, 3] has 6 elements of 4 "
            "bytes, 24 bytes in all, but its data has 20 bytes.",
        ),
        (
            {"data": data_url(b"\x02"), "type": "bool", "shape": [1]},
            "Input 'x' is invalid. A bool value must have one byte per element",
        ),
        ({"data": data_url(b"\xff"), "type": "string"}, "not valid UTF-8"),
        ({"data": data_url(b"{"), "type": "dict"}, "not valid JSON"),
        ({"data": data_url(b"{}"), "type": "list"}, "holds JSON an object"),
        (
            {"data": None, "type": "string"},
            "Input 'x' has no value: send its data (a data: URL or an upload URL) "
            "with its type, or one convenience field such as stringValue.",
        ),
    ],
)
async def test_bad_values_are_refused_naming_the_input(
    wire: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await resolve("x", wire)

    assert message in caught.value.message


# ---------- plain JSON ----------


@pytest.mark.parametrize(
    ("plain", "raw"),
    [
        ("Yusuf", Raw("string", None, b"Yusuf")),
        ("", Raw("string", None, b"")),
        (True, Raw("bool", [], b"\x01")),
        (False, Raw("bool", [], b"\x00")),
        (3, Raw("int64", [], struct.pack("<q", 3))),
        (-(2**63), Raw("int64", [], struct.pack("<q", -(2**63)))),
        (0.1, Raw("float64", [], struct.pack("<d", 0.1))),
        ([1, "a", None], Raw("list", None, b'[1, "a", null]')),
        ({"a": [1.5]}, Raw("dict", None, b'{"a": [1.5]}')),
        (None, Raw("null", None, None)),
        # Not Values: the type is not a dtype, or there is no data key.
        ({"type": "cat", "data": 1}, Raw("dict", None, b'{"type": "cat", "data": 1}')),
        ({"type": "string"}, Raw("dict", None, b'{"type": "string"}')),
        (
            {"stringValue": "x", "extra": 1},
            Raw("dict", None, b'{"stringValue": "x", "extra": 1}'),
        ),
    ],
    ids=repr,
)
async def test_plain_json_values(plain: Any, raw: Raw) -> None:
    assert await resolve("x", plain) == raw


async def test_the_docs_example_body() -> None:
    body = {"name": "Yusuf"}

    inputs = {name: await resolve(name, value) for name, value in body.items()}

    assert inputs == {"name": Raw("string", None, b"Yusuf")}


@pytest.mark.parametrize(
    ("plain", "message"),
    [
        (2**63, "Input 'x' has an integer beyond the int64 range"),
        ("\ud800", "Input 'x' is a string with a lone surrogate"),
        ({1, 2}, "Input 'x' is a set, which is not a JSON value."),
        ([{1}], "Input 'x' is not JSON data"),
    ],
    ids=repr,
)
def test_plain_values_that_cannot_be_inputs(plain: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        read_input("x", plain)

    assert message in caught.value.message


# ---------- convenience fields ----------


@pytest.mark.parametrize(
    ("wire", "raw"),
    [
        ({"stringValue": "hi"}, Raw("string", None, b"hi")),
        ({"floatValue": 0.5}, Raw("float64", [], struct.pack("<d", 0.5))),
        ({"floatValue": 2}, Raw("float64", [], struct.pack("<d", 2))),
        ({"intValue": -7}, Raw("int64", [], struct.pack("<q", -7))),
        ({"boolValue": True}, Raw("bool", [], b"\x01")),
        ({"listValue": [1, 2]}, Raw("list", None, b"[1, 2]")),
        ({"dictValue": {"k": "v"}}, Raw("dict", None, b'{"k": "v"}')),
        ({"floatArray": [1, 2.5]}, Raw("float64", [2], struct.pack("<2d", 1, 2.5))),
        ({"intArray": [1, 2, 3]}, Raw("int64", [3], struct.pack("<3q", 1, 2, 3))),
        ({"boolArray": [True, False]}, Raw("bool", [2], b"\x01\x00")),
        ({"floatArray": []}, Raw("float64", [0], b"")),
        # A type chooses the dtype; a shape that fits shapes an array.
        (
            {"type": "float32", "floatValue": 0.5},
            Raw("float32", [], struct.pack("<f", 0.5)),
        ),
        (
            {"data": None, "type": "uint8", "intArray": [1, 2, 3, 4], "shape": [2, 2]},
            Raw("uint8", [2, 2], bytes([1, 2, 3, 4])),
        ),
        ({"type": "string", "stringValue": "hi"}, Raw("string", None, b"hi")),
        # A GraphQL ValueInput: every field present, most of them null.
        (
            {
                "name": "x",
                "data": None,
                "type": None,
                "shape": None,
                "stringValue": None,
                "floatValue": None,
                "intValue": 42,
                "boolValue": None,
                "listValue": None,
                "dictValue": None,
                "floatArray": None,
                "intArray": None,
                "boolArray": None,
            },
            Raw("int64", [], struct.pack("<q", 42)),
        ),
    ],
    ids=lambda wire: next(iter(wire)) if isinstance(wire, dict) else "",
)
async def test_convenience_fields(wire: dict[str, Any], raw: Raw) -> None:
    assert await resolve("x", wire) == raw


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (
            {"stringValue": "a", "intValue": 1},
            "Input 'x' sets stringValue and intValue: set only one of them.",
        ),
        (
            {"type": "float32", "stringValue": "a"},
            "Input 'x': stringValue gives the type string, not float32: leave the "
            "type out",
        ),
        (
            {"type": "int32", "floatValue": 0.5},
            "Input 'x': floatValue cannot have the type int32: use one of float16, "
            "float32, float64, or leave the type out.",
        ),
        ({"intValue": 0.5}, "Input 'x': intValue must be an integer."),
        ({"intValue": True}, "must be an integer"),
        ({"floatValue": "1"}, "Input 'x': floatValue must be a number."),
        ({"boolValue": 1}, "boolValue must be a bool."),
        ({"floatArray": [1, None]}, "floatArray must be a list of numbers."),
        ({"boolArray": True}, "boolArray must be a list of bools."),
        ({"listValue": {}}, "listValue must be an array."),
        ({"dictValue": []}, "dictValue must be an object."),
        ({"stringValue": 3}, "stringValue must be a string."),
        (
            {"type": "uint8", "intValue": 300},
            "Input 'x' does not fit in uint8",
        ),
        ({"type": "float16", "floatValue": 1e6}, "does not fit in float16"),
        (
            {"intArray": [1, 2, 3], "shape": [2, 2]},
            "Input 'x': intArray has 3 elements, which do not fit the shape [2, 2]: "
            "send a shape whose sizes multiply to the element count",
        ),
        ({"stringValue": None, "floatValue": None}, "Input 'x' has no value"),
    ],
)
def test_bad_convenience_fields_are_refused(wire: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        read_input("x", wire)

    assert message in caught.value.message


# ---------- results ----------


def number(dtype: str, *items: Any) -> bytes:
    return struct.pack(
        f"<{len(items)}{ {'float32': 'f', 'int64': 'q'}[dtype] }", *items
    )


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (
            Raw("string", None, b"Peter"),
            {"data": f"{OCTET_URL}UGV0ZXI=", "shape": None, "stringValue": "Peter"},
        ),
        (
            Raw("float32", [], number("float32", 0.5)),
            {"data": data_url(number("float32", 0.5)), "shape": [], "floatValue": 0.5},
        ),
        (
            Raw("int64", [2], number("int64", 1, -2)),
            {"shape": [2], "intArray": [1, -2]},
        ),
        (Raw("bool", [], b"\x01"), {"shape": [], "boolValue": True}),
        (Raw("bool", [1, 2], b"\x00\x01"), {"boolArray": [False, True]}),
        (
            Raw("float16", [2], struct.pack("<2e", 1.5, -2)),
            {"floatArray": [1.5, -2.0]},
        ),
        (Raw("list", None, b"[1, [2]]"), {"listValue": [1, [2]]}),
        (Raw("dict", None, b'{"a": null}'), {"dictValue": {"a": None}}),
        (
            Raw("image", None, PNG, "image/png"),
            {"data": data_url(PNG, "image/png"), "shape": None},
        ),
        # An image's bytes say what it is, whatever else was said of it.
        (Raw("image", None, PNG, None), {"data": data_url(PNG, "image/png")}),
        (
            Raw("audio", None, b"ID3\x04", "audio/mpeg"),
            {"data": data_url(b"ID3\x04", "audio/mpeg")},
        ),
        (Raw("binary", None, b"\x00"), {"data": data_url(b"\x00")}),
        (Raw("null", None, None), {"data": None, "type": "null", "shape": None}),
    ],
    ids=lambda raw: raw.type if isinstance(raw, Raw) else "",
)
async def test_small_results_are_inline_with_their_convenience_fields(
    raw: Raw, fields: dict[str, Any]
) -> None:
    uploads = Uploads()

    wire = await to_wire(raw, None, uploads.store, "result")

    assert wire["type"] == raw.type
    assert wire["data"] is None or wire["data"].startswith("data:")
    assert wire.items() >= fields.items()
    convenience = set(wire) - {"data", "type", "shape"}
    assert convenience == set(fields) - {"data", "type", "shape"}
    assert uploads.stored == []


@pytest.mark.parametrize(
    ("limit", "size", "inline"),
    [
        (None, DEFAULT_DATA_URL_LIMIT - 1, True),
        (None, DEFAULT_DATA_URL_LIMIT, False),
        (10, 9, True),
        (10, 10, False),
        (10, 11, False),
        (0, 0, False),
        (1, 0, True),
    ],
)
async def test_results_at_or_above_the_limit_are_stored(
    limit: int | None, size: int, inline: bool
) -> None:
    uploads = Uploads()
    raw = Raw("string", None, b"a" * size)

    wire = await to_wire(raw, limit, uploads.store, "long_text")

    if inline:
        assert wire["data"] == data_url(raw.data or b"")
        assert uploads.stored == []
        assert wire["stringValue"] == "a" * size
    else:
        assert wire["data"] == "https://uploads.test/long_text/1"
        assert uploads.stored == [(raw.data, "application/octet-stream", "long_text")]
        assert "stringValue" not in wire


async def test_stored_results_keep_only_scalar_convenience_fields() -> None:
    uploads = Uploads()
    array = Raw("float32", [3], number("float32", 1, 2, 3))
    scalar = Raw("float32", [], number("float32", 1))

    stored_array = await to_wire(array, 0, uploads.store, "a")
    stored_scalar = await to_wire(scalar, 0, uploads.store, "s")

    assert stored_array == {
        "data": "https://uploads.test/a/1",
        "type": "float32",
        "shape": [3],
    }
    assert stored_scalar["floatValue"] == 1.0
    assert stored_scalar["data"] == "https://uploads.test/s/2"


async def test_stored_images_keep_their_mime() -> None:
    uploads = Uploads()

    await to_wire(Raw("image", None, PNG, "image/png"), 4, uploads.store, "rgba")

    assert uploads.stored == [(PNG, "image/png", "rgba")]


@pytest.mark.parametrize(
    "raw",
    [
        Raw("float64", [], struct.pack("<d", float("nan"))),
        Raw("float32", [2], struct.pack("<2f", 1, float("inf"))),
        Raw("int64", [], number("int64", 2**31)),
        Raw("int64", [2], number("int64", 0, -(2**31) - 1)),
        Raw("uint64", [], struct.pack("<Q", 2**64 - 1)),
    ],
    ids=lambda raw: raw.type,
)
async def test_numbers_graphql_cannot_carry_have_no_convenience_field(
    raw: Raw,
) -> None:
    wire = await to_wire(raw, None, Uploads().store, "x")

    assert set(wire) == {"data", "type", "shape"}


async def test_int32_extremes_keep_their_convenience_field() -> None:
    raw = Raw("int64", [2], number("int64", 2**31 - 1, -(2**31)))

    wire = await to_wire(raw, None, Uploads().store, "x")

    assert wire["intArray"] == [2**31 - 1, -(2**31)]


@pytest.mark.parametrize(
    "raw",
    [
        Raw("float32", [2], b"\x00" * 4),
        Raw("bool", [], b"\x05"),
        Raw("string", None, None),
        Raw("dict", None, b"[]"),
        Raw("tensor", None, b""),
    ],
    ids=lambda raw: raw.type,
)
async def test_malformed_results_raise_conversion_errors(raw: Raw) -> None:
    uploads = Uploads()

    with pytest.raises(ConversionError):
        await to_wire(raw, None, uploads.store, "x")

    assert uploads.stored == []


async def test_a_result_goes_back_in_as_the_same_input() -> None:
    raw = Raw("float32", [2, 2], number("float32", 1, 2, 3, 4))

    wire = await to_wire(raw, None, Uploads().store, "x")

    assert await resolve("x", wire) == raw
