"""The worker's value codec: results to Raw and back, for every dtype.

Each round trip turns an object into a ``Raw`` with ``from_object`` and back with
``to_object``, and checks both the ``Raw`` (dtype, shape, bytes) and the object
that ``predict`` would receive. The last tests run the module in a Python that
has neither numpy nor Pillow, as a predictor's environment may be.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import math
import struct
import subprocess
import sys
import textwrap
import wave
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pydantic
import pytest
from PIL import Image

from openfxn.server.predictors import values
from openfxn.server.predictors.values import (
    ELEMENT_FORMATS,
    ConversionError,
    Raw,
    from_object,
    sniff,
    to_object,
    validate,
)

NUMERIC = [dtype for dtype in ELEMENT_FORMATS if dtype != "bool"]
SHAPES = [[], [3], [2, 3]]


def round_trip(value: Any, scratch: Path) -> tuple[Raw, Any]:
    raw = from_object(value, scratch)
    validate(raw)
    return raw, to_object(raw, scratch)


def sample_array(dtype: str, shape: list[int]) -> np.ndarray[Any, Any]:
    """Values that test the extremes of ``dtype``: its limits, or fine fractions."""
    count = math.prod(shape)
    if dtype == "bool":
        items: list[Any] = [index % 2 == 0 for index in range(count)]
    elif dtype.startswith("float"):
        info = np.finfo(dtype)
        items = [info.max, info.tiny, -1 / 3, 0.1, -0.0, info.eps][:count]
    else:
        info_ = np.iinfo(dtype)
        items = [info_.max, info_.min, 0, 1, -1 if info_.min else 2, 7][:count]
    return np.array(items, dtype=dtype).reshape(shape)


# ---------- numbers and bools ----------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", list(ELEMENT_FORMATS))
def test_arrays_round_trip_with_their_dtype_and_shape(
    dtype: str, shape: list[int], tmp_path: Path
) -> None:
    array = sample_array(dtype, shape)

    raw, restored = round_trip(array, tmp_path)

    assert (raw.type, raw.shape) == (dtype, shape)
    assert raw.data == array.astype(array.dtype.newbyteorder("<")).tobytes()
    if shape:
        assert isinstance(restored, np.ndarray)
        assert restored.dtype == np.dtype(dtype)
        assert restored.flags.writeable
        np.testing.assert_array_equal(restored, array)
    else:
        # One number becomes a Python number, as the wire table has it.
        expected = {"bool": bool}.get(dtype, float if "float" in dtype else int)
        assert type(restored) is expected
        assert restored == array.item()


@pytest.mark.parametrize(
    ("value", "dtype"),
    [
        (True, "bool"),
        (False, "bool"),
        (0, "int64"),
        (2**63 - 1, "int64"),
        (-(2**63), "int64"),
        (0.1, "float64"),
        (1 / 3, "float64"),
        (5e-324, "float64"),
        (1.7976931348623157e308, "float64"),
        (-math.inf, "float64"),
        (np.int32(-3), "int32"),
        (np.uint64(2**64 - 1), "uint64"),
        (np.float16(1.5), "float16"),
        (np.float32(0.1), "float32"),
        (np.float64(0.1), "float64"),
        (np.bool_(True), "bool"),
    ],
    ids=repr,
)
def test_scalars_keep_their_value_exactly(
    value: Any, dtype: str, tmp_path: Path
) -> None:
    raw, restored = round_trip(value, tmp_path)

    assert (raw.type, raw.shape) == (dtype, [])
    assert restored == value
    assert type(restored) in (bool, int, float)


def test_nan_survives_as_a_float(tmp_path: Path) -> None:
    _, restored = round_trip(math.nan, tmp_path)

    assert math.isnan(restored)


def test_big_endian_fortran_and_strided_arrays_go_out_as_little_endian_c_order(
    tmp_path: Path,
) -> None:
    base = np.arange(12, dtype=">i4").reshape(3, 4)
    for array in (base, np.asfortranarray(base), base[:, ::2], base.T):
        raw, restored = round_trip(array, tmp_path)

        assert raw.shape == list(array.shape)
        assert raw.data == np.ascontiguousarray(array, dtype="<i4").tobytes()
        np.testing.assert_array_equal(restored, array)


@pytest.mark.parametrize("shape", [[0], [2, 0], [0, 3]], ids=str)
def test_empty_arrays_keep_their_shape(shape: list[int], tmp_path: Path) -> None:
    raw, restored = round_trip(np.zeros(shape, dtype=np.float32), tmp_path)

    assert (raw.shape, raw.data) == (shape, b"")
    assert restored.shape == tuple(shape)


def test_a_zero_dimensional_array_is_a_scalar(tmp_path: Path) -> None:
    raw, restored = round_trip(np.array(2.5, dtype=np.float32), tmp_path)

    assert (raw.type, raw.shape, restored) == ("float32", [], 2.5)


def test_bool_arrays_are_sent_as_zero_and_one_bytes(tmp_path: Path) -> None:
    # A bool view of other bytes holds values numpy still calls True.
    array = np.array([0, 2, 255, 1], dtype=np.uint8).view(np.bool_)

    raw = from_object(array, tmp_path)

    assert raw.data == b"\x00\x01\x01\x01"


# ---------- strings and JSON ----------


@pytest.mark.parametrize("text", ["", "Peter", "héllo wörld 😀", "line\nbreak"])
def test_strings_are_utf8(text: str, tmp_path: Path) -> None:
    raw, restored = round_trip(text, tmp_path)

    assert (raw.type, raw.shape, raw.data) == ("string", None, text.encode())
    assert restored == text


@dataclasses.dataclass
class Box:
    label: str
    score: Any
    corners: Any


class Prediction(pydantic.BaseModel):
    label: str = pydantic.Field(alias="className")
    score: float


class Color(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "dtype", "expected"),
    [
        ([], "list", []),
        ([1, "a", None, True, 2.5], "list", [1, "a", None, True, 2.5]),
        ((1, (2, 3)), "list", [1, [2, 3]]),
        (
            [np.int32(3), np.float32(0.5), np.bool_(False), np.arange(3)],
            "list",
            [3, 0.5, False, [0, 1, 2]],
        ),
        ({"a": {"b": [np.uint8(7)]}}, "dict", {"a": {"b": [7]}}),
        ({1: "cat", np.int64(2): "dog"}, "dict", {"1": "cat", "2": "dog"}),
        ({Color.RED: Color.RED}, "dict", {"red": "red"}),
        (
            Box("cat", np.float32(0.75), np.array([[0, 1], [2, 3]])),
            "dict",
            {"label": "cat", "score": 0.75, "corners": [[0, 1], [2, 3]]},
        ),
        (
            [Prediction(className="cat", score=0.5)],
            "list",
            [{"className": "cat", "score": 0.5}],
        ),
        (
            Prediction(className="dog", score=1),
            "dict",
            {"className": "dog", "score": 1.0},
        ),
    ],
    ids=lambda value: type(value).__name__,
)
def test_lists_and_dicts_become_plain_json(
    value: Any, dtype: str, expected: Any, tmp_path: Path
) -> None:
    raw, restored = round_trip(value, tmp_path)

    assert (raw.type, raw.shape) == (dtype, None)
    assert raw.data is not None
    assert json.loads(raw.data) == expected
    assert restored == expected


def test_json_is_written_with_the_python_clients_separators(tmp_path: Path) -> None:
    raw = from_object({"a": [1, 2]}, tmp_path)

    assert raw.data == b'{"a": [1, 2]}'


def test_enum_results_are_their_values(tmp_path: Path) -> None:
    class Size(enum.IntEnum):
        LARGE = 3

    assert from_object(Color.RED, tmp_path).data == b"red"
    assert from_object(Size.LARGE, tmp_path) == from_object(3, tmp_path)


def test_null(tmp_path: Path) -> None:
    raw, restored = round_trip(None, tmp_path)

    assert raw == Raw("null", None, None)
    assert restored is None


# ---------- images ----------


def pattern_image(mode: str) -> Image.Image:
    """An image of ``mode`` whose pixels all differ, so a lossy codec would show."""
    image = Image.new("RGBA", (7, 5))
    image.putdata(
        [
            (x * 36, y * 50, (x + y) * 20, 255 - x * y * 5)
            for y in range(5)
            for x in range(7)
        ]
    )
    return image if mode == "RGBA" else image.convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "1", "I;16"])
def test_images_round_trip_losslessly_as_png(mode: str, tmp_path: Path) -> None:
    image = pattern_image(mode)

    raw, restored = round_trip(image, tmp_path)

    assert (raw.type, raw.shape, raw.mime) == ("image", None, "image/png")
    assert raw.data is not None and raw.data.startswith(b"\x89PNG")
    assert isinstance(restored, Image.Image)
    assert (restored.mode, restored.size) == (image.mode, image.size)
    assert restored.tobytes() == image.tobytes()
    assert restored.getpalette() == image.getpalette()


@pytest.mark.parametrize(
    ("modes", "saved_as"),
    [
        (["CMYK"], "RGB"),
        (["YCbCr"], "RGB"),
        (["RGBa"], "RGBA"),
        (["P", "PA"], "RGBA"),
        (["LA", "La"], "LA"),
        (["L", "I"], "I;16"),
    ],
    ids=lambda modes: modes[-1] if isinstance(modes, list) else modes,
)
def test_images_png_cannot_hold_are_converted(
    modes: list[str], saved_as: str, tmp_path: Path
) -> None:
    image = pattern_image("RGBA")
    for mode in modes:
        image = image.convert(mode)

    _, restored = round_trip(image, tmp_path)

    assert restored.mode == saved_as
    assert restored.size == image.size


def test_a_jpeg_file_opens_as_an_image(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pattern_image("RGB").save(buffer, format="JPEG")

    raw, restored = round_trip(buffer, tmp_path)

    assert (raw.type, raw.mime) == ("image", "image/jpeg")
    assert (restored.format, restored.size) == ("JPEG", (7, 5))


# ---------- files ----------


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(b"\x00\x01" * 100)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scene.usdc", b"PXR-USDC")
    return buffer.getvalue()


MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 16
GLB = b"glTF\x02\x00\x00\x00" + b"\x00" * 16


@pytest.mark.parametrize(
    ("name", "content", "dtype", "mime", "suffix"),
    [
        ("speech.wav", wav_bytes(), "audio", "audio/wav", ".wav"),
        ("clip.mp4", MP4, "video", "video/mp4", ".mp4"),
        ("chair.glb", GLB, "model", "model/gltf-binary", ".glb"),
        ("chair.usdz", zip_bytes(), "model", "model/vnd.usdz+zip", ".usdz"),
        ("bundle.zip", zip_bytes(), "binary", "application/zip", ".zip"),
        ("notes.txt", b"plain text", "binary", "text/plain", ".txt"),
        ("blob", b"\x00\x01\x02", "binary", "application/octet-stream", ""),
        ("misnamed.bin", MP4, "video", "video/mp4", ".mp4"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_paths_become_files_of_their_sniffed_type(
    name: str, content: bytes, dtype: str, mime: str, suffix: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    raw, restored = round_trip(path, tmp_path)

    assert (raw.type, raw.shape, raw.mime, raw.data) == (dtype, None, mime, content)
    assert isinstance(restored, Path)
    assert restored.parent == tmp_path and restored != path
    assert restored.suffix == suffix
    assert restored.read_bytes() == content


def test_a_path_to_an_image_becomes_an_image(tmp_path: Path) -> None:
    path = tmp_path / "photo"
    pattern_image("RGB").save(path, format="PNG")

    raw, restored = round_trip(path, tmp_path)

    assert (raw.type, raw.mime) == ("image", "image/png")
    assert restored.tobytes() == pattern_image("RGB").tobytes()


@pytest.mark.parametrize(
    "make", [bytes, bytearray, memoryview, io.BytesIO], ids=lambda make: make.__name__
)
def test_bytes_are_binary_unless_sniffed_otherwise(make: Any, tmp_path: Path) -> None:
    raw, restored = round_trip(make(b"opaque"), tmp_path)

    assert (raw.type, raw.mime) == ("binary", "application/octet-stream")
    assert restored.read_bytes() == b"opaque"
    assert from_object(make(wav_bytes()), tmp_path).type == "audio"


@pytest.mark.parametrize(
    ("mime", "suffix"),
    [("audio/mpeg", ".mp3"), ("video/webm; codecs=vp9", ".webm"), (None, ".wav")],
)
def test_input_files_are_named_from_their_mime(
    mime: str | None, suffix: str, tmp_path: Path
) -> None:
    path = to_object(Raw("audio", None, wav_bytes(), mime), tmp_path)

    assert path.suffix == suffix


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (
            b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
            "image/bmp",
        ),
        (b"II*\x00", "image/tiff"),
        (b"MM\x00*", "image/tiff"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"ID3\x04", "audio/mpeg"),
        (b"\xff\xfb\x90\x00", "audio/mpeg"),
        (b"fLaC", "audio/flac"),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis", "audio/ogg"),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x80theora", "video/ogg"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        (MP4, "video/mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska", "video/x-matroska"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (GLB, "model/gltf-binary"),
        (b"PK\x03\x04", "application/zip"),
        (b"%PDF-1.7", "application/pdf"),
        (b"BM is how this text begins", None),
        (b"", None),
        (b"{}", None),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_sniff(head: bytes, mime: str | None) -> None:
    assert sniff(head) == mime


# ---------- refused inputs ----------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (Raw("float", [], b"\x00" * 8), "'float' is not a dtype: use one of null,"),
        (Raw("string", None, None), "The string value has no data."),
        (Raw("float32", None, b"\x00" * 4), "The float32 value needs a shape"),
        (Raw("int8", [-1], b""), "needs a shape"),
        (Raw("int8", [True], b"\x00"), "needs a shape"),
        (
            Raw("float32", [2, 3], b"\x00" * 20),
            "A float32 value of shape [2, 3] has 6 elements of 4 bytes, 24 bytes in "
            "all, but its data has 20 bytes.",
        ),
        (Raw("int64", [], b"\x00"), "has 1 element of 8 bytes"),
        (Raw("bool", [2], b"\x01\x02"), "one byte per element, 0 or 1"),
        (Raw("string", None, b"caf\xe9"), "not valid UTF-8 (at byte 3)"),
        (Raw("list", None, b"[1,"), "The list value is not valid JSON"),
        (
            Raw("dict", None, b"[1]"),
            "The dict value holds JSON an array, not an object",
        ),
        (Raw("list", None, b"null"), "holds JSON null, not an array"),
        (Raw("image", None, b"not an image"), "not an image file that Pillow knows"),
    ],
    ids=lambda value: value.type if isinstance(value, Raw) else "",
)
def test_bad_inputs_are_refused_with_the_reason(
    raw: Raw, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConversionError) as caught:
        to_object(raw, tmp_path)

    assert message in str(caught.value)


def test_validate_checks_data_but_not_files() -> None:
    validate(Raw("image", None, b"opened only by to_object"))
    with pytest.raises(ConversionError, match="not valid JSON"):
        validate(Raw("dict", None, b"{"))


# ---------- refused results ----------


class Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2**63, "predict returned 9223372036854775808, which is beyond the int64"),
        (-(2**63) - 1, "beyond the int64 range"),
        (10**100, "numpy.uint64"),
        ({1, 2}, "predict returned a set, which cannot be a result (use a list"),
        (
            Opaque(),
            "predict returned a tests.Opaque, which cannot be a result. Return None",
        ),
        (
            np.array([1j]),
            "numpy array of complex128 cannot be a result: return its real",
        ),
        (np.array(["a"]), "array of str32 cannot be a result: return array.tolist()"),
        (np.array([None]), "array of object cannot be a result"),
        (np.array(["2024-01-01"], dtype="datetime64[D]"), "cast it to one of int8"),
        (np.longdouble(1), "float128 cannot be a result"),
        ("\ud800", "lone surrogate at index 0"),
        ([1, {"a": [math.nan]}], "holds nan at [1]['a'][0], which JSON cannot hold"),
        ({"x": {1, 2}}, "The result holds a set at ['x'], which JSON cannot hold"),
        ([b"bytes"], "holds a bytes at [0]"),
        ([np.datetime64("2024")], "holds a numpy datetime64[Y] at [0]"),
        ({(1, 2): "pair"}, "dict key (1, 2) at the top, but JSON keys are strings"),
        ({"a": {None: 1}}, "dict key None at ['a']"),
        (
            Path("/nonexistent/file.png"),
            "'/nonexistent/file.png', which does not exist",
        ),
        (Image.new("F", (2, 2)), "float pixels (mode F)"),
        (Image.new("I", (2, 2), 70000), "32-bit pixels beyond 0..65535"),
    ],
    ids=lambda value: type(value).__name__,
)
def test_results_without_a_dtype_are_refused_with_advice(
    value: Any, message: str, tmp_path: Path
) -> None:
    if np.longdouble is np.float64 and isinstance(value, np.floating):
        pytest.skip("long double is float64 on this platform")
    with pytest.raises(ConversionError) as caught:
        from_object(value, tmp_path)

    assert message in str(caught.value)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="which is a folder: return the path"):
        from_object(tmp_path, tmp_path)


def test_a_list_that_contains_itself_is_refused(tmp_path: Path) -> None:
    loop: list[Any] = [1]
    loop.append([loop])

    with pytest.raises(ConversionError, match=r"contains itself at \[1\]\[0\]"):
        from_object(loop, tmp_path)


def test_a_shared_item_is_not_a_loop(tmp_path: Path) -> None:
    shared = [1]

    assert to_object(from_object([shared, shared], tmp_path), tmp_path) == [[1], [1]]


def test_an_object_with_array_has_a_hint(tmp_path: Path) -> None:
    class Tensor:
        def __array__(self) -> Any:
            return np.zeros(1)

    with pytest.raises(ConversionError, match=r"\(convert it with numpy.asarray\)"):
        from_object(Tensor(), tmp_path)


# ---------- without numpy and Pillow ----------

# Run by a bare Python: it loads values.py by path, as the worker does.
STDLIB_ONLY = textwrap.dedent(
    """
    import importlib.util, json, pathlib, struct, sys

    assert importlib.util.find_spec("numpy") is None, "numpy is importable"
    assert importlib.util.find_spec("PIL") is None, "Pillow is importable"
    spec = importlib.util.spec_from_file_location("_values", sys.argv[1])
    values = importlib.util.module_from_spec(spec)
    sys.modules["_values"] = values
    spec.loader.exec_module(values)
    scratch = pathlib.Path(sys.argv[2])
    Raw = values.Raw

    def run(function, *arguments):
        try:
            return function(*arguments)
        except values.ConversionError as error:
            return "error: " + str(error)

    matrix = Raw("float32", [2, 3], struct.pack("<6f", 0, 0.5, 1, 1.5, 2, 2.5))
    flags = Raw("bool", [2, 2, 1], bytes([1, 0, 0, 1]))
    empty = Raw("int16", [2, 0], b"")
    wav = Raw("audio", None, b"RIFF\\0\\0\\0\\0WAVEfmt ")
    path = run(values.to_object, wav, scratch)
    results = [None, True, 7, 0.25, "hi", [1, (2, 3)], {"k": [None]}, b"\\x00", path]
    print(json.dumps({
        "matrix": run(values.to_object, matrix, scratch),
        "flags": run(values.to_object, flags, scratch),
        "empty": run(values.to_object, empty, scratch),
        "scalar": run(values.to_object, Raw("uint8", [], b"\\xff"), scratch),
        "image": run(values.to_object, Raw("image", None, b"\\x89PNG"), scratch),
        "path": [path.suffix, path.read_bytes().decode("latin-1")],
        "results": [
            [raw.type, raw.shape, raw.data.decode("latin-1") if raw.data else None]
            for raw in (values.from_object(value, scratch) for value in results)
        ],
        "refused": run(values.from_object, object(), scratch),
    }))
    """
)


def test_the_codec_works_in_a_python_without_numpy_or_pillow(tmp_path: Path) -> None:
    bare_python = getattr(sys, "_base_executable", sys.executable)

    completed = subprocess.run(
        [bare_python, "-I", "-S", "-c", STDLIB_ONLY, values.__file__, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["matrix"] == [[0, 0.5, 1, 1.5, 2, 2.5][:3], [1.5, 2, 2.5]]
    assert report["flags"] == [[[True], [False]], [[False], [True]]]
    assert report["empty"] == [[], []]
    assert report["scalar"] == 255
    assert report["image"].startswith("error: This input is an image")
    assert "add 'pillow' to its requirements" in report["image"]
    assert report["path"] == [".wav", "RIFF\x00\x00\x00\x00WAVEfmt "]
    assert report["results"] == [
        ["null", None, None],
        ["bool", [], "\x01"],
        ["int64", [], struct.pack("<q", 7).decode("latin-1")],
        ["float64", [], struct.pack("<d", 0.25).decode("latin-1")],
        ["string", None, "hi"],
        ["list", None, "[1, [2, 3]]"],
        ["dict", None, '{"k": [null]}'],
        ["binary", None, "\x00"],
        ["audio", None, "RIFF\x00\x00\x00\x00WAVEfmt "],
    ]
    assert report["refused"].startswith("error: predict returned an object")
