"""Encoding Python objects to wire values and decoding them back, offline."""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from openfxn import ConversionError, Value
from openfxn._client.sansio.values import Encoded, decode, encode, read_data_url


def encoded(value: Any) -> Encoded:
    result = encode(value, "x")
    assert isinstance(result, Encoded)
    return result


def back(item: Encoded) -> Any:
    return decode(Value(type=item.type, shape=item.shape), item.data)


@pytest.mark.parametrize(
    ("number", "dtype"),
    [(1, "int32"), (-(2**31), "int32"), (2**31, "int64"), (2**63, "uint64")],
)
def test_int_takes_the_narrowest_exact_dtype(number: int, dtype: str) -> None:
    item = encoded(number)

    assert (item.type, item.shape) == (dtype, [])
    assert back(item) == number


def test_int_beyond_64_bits_is_refused() -> None:
    with pytest.raises(ConversionError, match="64 bits"):
        encode(2**64, "x")


def test_float_is_float64_never_float32() -> None:
    item = encoded(0.1)

    assert item.type == "float64"
    assert struct.unpack("<d", item.data or b"")[0] == 0.1


def test_numpy_scalars_keep_their_dtype() -> None:
    assert encoded(np.float32(0.5)).type == "float32"
    assert encoded(np.float64(0.1)).type == "float64"
    assert encoded(np.uint8(7)).type == "uint8"
    assert encoded(np.bool_(True)).type == "bool"


def test_bool_array_bytes_are_zero_or_one() -> None:
    raw = np.array([0, 2, 255], dtype=np.uint8).view(np.bool_)

    assert encoded(raw).data == b"\x00\x01\x01"


def test_big_endian_array_is_sent_little_endian() -> None:
    item = encoded(np.array([1, 2], dtype=">i4"))

    assert (item.type, item.data) == ("int32", b"\x01\x00\x00\x00\x02\x00\x00\x00")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({1, 2}, "a set"),
        (np.array([1j]), "complex128"),
        ([float("nan")], "JSON cannot hold"),
        ({"a": object()}, "an object"),
        ({(1, 2): "tuple key"}, "JSON keys are strings"),
    ],
)
def test_values_without_wire_form_are_refused(value: Any, problem: str) -> None:
    with pytest.raises(ConversionError, match=problem):
        encode(value, "x")


def test_self_containing_list_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)

    with pytest.raises(ConversionError, match="contains itself"):
        encode(loop, "x")


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="does not exist"):
        encode(tmp_path / "nothing.bin", "x")


@pytest.mark.parametrize(
    ("mode", "mime"),
    [
        ("RGBA", "image/png"),
        ("P", "image/png"),
        ("F", "image/tiff"),
        ("I", "image/tiff"),
        ("CMYK", "image/tiff"),
    ],
)
def test_images_are_encoded_without_loss(mode: str, mime: str) -> None:
    image = Image.linear_gradient("L").resize((8, 8)).convert(mode)
    if mode == "I":
        image = image.point(lambda value: value * 100_000)

    item = encoded(image)
    decoded = back(item)

    assert (item.type, item.mime) == ("image", mime)
    assert decoded.mode == image.mode
    assert decoded.tobytes() == image.tobytes()


def test_image_mode_without_lossless_file_becomes_rgb() -> None:
    item = encoded(Image.new("HSV", (2, 2)))

    assert back(item).mode == "RGB"


def test_pathlib_png_is_an_image_and_text_is_binary(tmp_path: Path) -> None:
    png, text = tmp_path / "a.png", tmp_path / "a.txt"
    Image.new("RGB", (1, 1)).save(png)
    text.write_text("hello", encoding="utf-8")

    assert (encoded(png).type, encoded(png).mime) == ("image", "image/png")
    assert (encoded(text).type, encoded(text).mime) == ("binary", "text/plain")


def test_arrays_decode_to_nested_lists_without_numpy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item = encoded(np.arange(6, dtype=np.int16).reshape(2, 3))
    monkeypatch.setitem(sys.modules, "numpy", None)

    assert back(item) == [[0, 1, 2], [3, 4, 5]]


def test_images_decode_to_bytes_without_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    item = encoded(Image.new("RGB", (1, 1)))
    monkeypatch.setitem(sys.modules, "PIL.Image", None)

    assert back(item) == item.data


def test_missing_shape_is_read_leniently() -> None:
    assert decode(Value(type="int32"), b"\x05\x00\x00\x00") == 5
    assert list(decode(Value(type="uint8"), b"\x01\x02")) == [1, 2]


def test_element_count_must_fit_shape() -> None:
    with pytest.raises(ConversionError, match="should have 8 bytes"):
        decode(Value(type="int32", shape=[2]), b"\x00")


@pytest.mark.parametrize(
    ("url", "data", "mime"),
    [
        (
            "data:application/octet-stream;base64,UGV0ZXI=",
            b"Peter",
            "application/octet-stream",
        ),
        ("data:,Hello%20world", b"Hello world", None),
        ("data:text/plain,a%2Cb", b"a,b", "text/plain"),
    ],
)
def test_data_urls_are_read(url: str, data: bytes, mime: str | None) -> None:
    assert read_data_url(url) == (data, mime)
