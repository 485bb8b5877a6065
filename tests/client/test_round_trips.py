"""Every kind of value through a real predictor and back, with each client.

The ``echo`` predictor returns its input as it is, so each value must come back
equal, with its dtype and precision: the server hands ``predict`` a Python
scalar for a number of shape ``[]`` and returns Python ints and floats as
int64 and float64, so scalars come back equal as Python numbers, and arrays
keep their numpy dtype.
"""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageChops

from openfxn import Function
from tests.client.conftest import Tags


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: float
    y: float


PLAIN: dict[str, tuple[Any, Any, str]] = {
    # name: (sent, expected back, dtype of the result)
    "str": ("Grüße, 世界 🌍", "Grüße, 世界 🌍", "string"),
    "empty_str": ("", "", "string"),
    "int": (42, 42, "int64"),
    "int64_beyond_int32": (2**40 + 7, 2**40 + 7, "int64"),
    "int64_min": (-(2**63), -(2**63), "int64"),
    "float64_exact": (0.1, 0.1, "float64"),
    "float64_huge": (1e300, 1e300, "float64"),
    "bool": (True, True, "bool"),
    "none": (None, None, "null"),
    "list": ([1, "a", None, [2.5, False]], [1, "a", None, [2.5, False]], "list"),
    "tuple": ((1, (2, 3)), [1, [2, 3]], "list"),
    "dict": ({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2]}}, "dict"),
    "dataclass": (Point(1.5, -2.0), {"x": 1.5, "y": -2.0}, "dict"),
    "enum": (Colour.RED, "red", "string"),
    "numpy_in_list": ([np.int64(2**40), np.float32(0.5)], [2**40, 0.5], "list"),
    "bytes": (b"\x00\x01\xfe\xff", b"\x00\x01\xfe\xff", "binary"),
    "bytearray": (bytearray(b"abc"), b"abc", "binary"),
    "float32_scalar": (np.float32(0.1), float(np.float32(0.1)), "float64"),
    "int64_scalar": (np.int64(2**62), 2**62, "int64"),
    "bool_scalar": (np.bool_(False), False, "bool"),
}

ARRAYS: dict[str, Any] = {
    "uint8": np.arange(12, dtype=np.uint8).reshape(3, 4),
    "bool": np.array([[True, False], [False, True]]),
    "int8": np.array([-128, 0, 127], dtype=np.int8),
    "int16": np.array([-32768, 32767], dtype=np.int16),
    "int32": np.array([-(2**31), 2**31 - 1], dtype=np.int32),
    "int64": np.array([-(2**63), 2**63 - 1, 2**40], dtype=np.int64),
    "uint16": np.array([0, 65535], dtype=np.uint16),
    "uint32": np.array([0, 2**32 - 1], dtype=np.uint32),
    "uint64": np.array([0, 2**64 - 1, 2**63 + 1], dtype=np.uint64),
    "float16": np.array([0.5, -1.25, 65504.0], dtype=np.float16),
    "float32": np.array([0.1, 1e-30], dtype=np.float32),
    "float64": np.array([0.1, 1 / 3, 1e-300], dtype=np.float64),
    "big_endian": np.array([1.5, -2.25, 1e10], dtype=">f8"),
    "transposed": np.arange(6, dtype=np.int16).reshape(2, 3).T,
    "zero_d": np.array(7, dtype=np.uint16),
    "large": np.linspace(0, 1, 5000),  # 40 kB: uploaded, and fetched back
}


@pytest.mark.parametrize("name", PLAIN)
def test_plain_value_round_trips(fxn: Function, tags: Tags, name: str) -> None:
    sent, expected, dtype = PLAIN[name]

    prediction = fxn.predictions.create(tags.echo, {"value": sent})

    assert prediction.error is None, prediction.error
    assert prediction.results == [expected]
    assert type(prediction.results[0]) is type(expected)
    assert prediction.values and prediction.values[0].type == dtype


@pytest.mark.parametrize("name", ARRAYS)
def test_array_round_trips_with_dtype(fxn: Function, tags: Tags, name: str) -> None:
    array = ARRAYS[name]

    prediction = fxn.predictions.create(tags.echo, {"value": array})

    assert prediction.error is None, prediction.error
    assert prediction.results is not None
    (back,) = prediction.results
    if array.ndim == 0:
        assert back == array.item()
        return
    assert isinstance(back, np.ndarray)
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.shape == array.shape
    assert np.array_equal(back, array)


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "LA", "P", "1", "I;16"])
def test_image_round_trips_exactly(fxn: Function, tags: Tags, mode: str) -> None:
    image = Image.linear_gradient("L").resize((32, 24)).convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((32, 24)))

    prediction = fxn.predictions.create(tags.echo, {"value": image})

    assert prediction.error is None, prediction.error
    assert prediction.results is not None
    (back,) = prediction.results
    assert isinstance(back, Image.Image)
    assert (back.mode, back.size) == (image.mode, image.size)
    assert back.tobytes() == image.tobytes()
    if mode not in ("P", "1", "I;16"):
        assert ImageChops.difference(back, image).getbbox() is None


def test_path_of_text_file_round_trips_bytes(
    fxn: Function, tags: Tags, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("line\n" * 2000, encoding="utf-8")  # 10 kB: uploaded

    prediction = fxn.predictions.create(tags.echo, {"value": path})

    assert prediction.results == [path.read_bytes()]
    assert prediction.values and prediction.values[0].type == "binary"


def test_path_of_png_is_sent_as_image(
    fxn: Function, tags: Tags, tmp_path: Path
) -> None:
    path = tmp_path / "dot.png"
    Image.new("RGB", (3, 3), (10, 200, 30)).save(path)

    prediction = fxn.predictions.create(tags.echo, {"value": path})

    assert prediction.results is not None
    (back,) = prediction.results
    assert isinstance(back, Image.Image)
    assert back.getpixel((1, 1)) == (10, 200, 30)
