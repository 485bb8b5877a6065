"""Signature inference and provisioning failures, one fixture file per scenario.

Each predictor in ``tests/fixtures/predictors/signatures/`` has beside it a JSON
file of the same name saying what provisioning must report for it:

* ``inputs`` and ``outputs``: the exact signature. Each parameter lists only its
  non-null fields; every field it leaves out must be null.
* ``defaults``: the decoded ``defaultValue`` of each input that has one, so that
  the base64 in ``inputs`` can be checked by eye.
* ``warnings``: one fragment per warning, in order, those of reading the source
  first and then those of inference, as provisioning logs them.
* ``isGenerator``, and for a notebook its ``card`` and ``requirements``.

Each predictor in ``broken/`` has beside it a JSON file whose ``error`` lists
fragments that the error of the INVALID predictor must contain: the line, the
missing module, the fix to make.

A fixture is loaded the way provisioning loads an upload: ``read_source`` turns
it into a module, which is written as ``predictor.py`` and run by the shim in a
subprocess of this Python. So each scenario is a real load, and the expected
results say nothing about how the code under test works inside.
"""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openfxn.server.predictors import shim
from openfxn.server.predictors.sources import Source, SourceError, read_source

JSON = dict[str, Any]

FIXTURES = Path(__file__).parents[2] / "fixtures" / "predictors"
SIGNATURES = FIXTURES / "signatures"
BROKEN = FIXTURES / "broken"
SOURCE_SUFFIXES = (".py", ".ipynb")

PARAMETER_FIELDS = (
    "name",
    "type",
    "description",
    "optional",
    "range",
    "enumeration",
    "defaultValue",
    "schema",
)
DATA_URL_PREFIX = "data:application/octet-stream;base64,"
# The struct codes of the dtypes whose Values hold raw little-endian items.
ITEM_FORMATS = {
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


def uploads(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.suffix in SOURCE_SUFFIXES)


def scenarios(folder: Path) -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in uploads(folder)]


def expectation(upload: Path) -> JSON:
    expected: JSON = json.loads(upload.with_suffix(".json").read_text())
    return expected


# ---------- provisioning a fixture ----------


def read(upload: Path) -> Source:
    return read_source(upload.read_bytes(), upload.name)


def load(source: Source, workdir: Path) -> JSON:
    """Run the shim on the source's module, exactly as provisioning does."""
    module = workdir / "predictor.py"
    module.write_text(source.code, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-I", shim.__file__, "provision", str(module)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # The shim exits 0 whether or not the predictor loads, with one line of JSON.
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 1, completed.stdout
    result: JSON = json.loads(lines[0])
    return result


def invalid_error(upload: Path, workdir: Path) -> str:
    """The error that makes the upload INVALID, from whichever step refuses it."""
    try:
        source = read(upload)
    except SourceError as error:
        return error.message

    result = load(source, workdir)
    assert result.keys() == {"ok", "error"}, result
    assert result["ok"] is False
    error_message: str = result["error"]
    return error_message


# ---------- reading expectations and results ----------


def full_parameters(entries: list[JSON]) -> list[JSON]:
    """Expected parameters with the fields they leave out set to null."""
    return [dict.fromkeys(PARAMETER_FIELDS) | entry for entry in entries]


def decoded_defaults(inputs: list[JSON]) -> JSON:
    return {
        parameter["name"]: decode(parameter["defaultValue"])
        for parameter in inputs
        if parameter["defaultValue"] is not None
    }


def decode(value: JSON) -> Any:
    """The Python value that a wire Value carries, per the spec's Dtype table."""
    dtype = value["type"]
    if dtype == "null":
        assert value == {"data": None, "type": "null", "shape": None}
        return None
    assert value["data"].startswith(DATA_URL_PREFIX), value
    data = base64.b64decode(value["data"].removeprefix(DATA_URL_PREFIX))
    if dtype == "string":
        return data.decode()
    if dtype in ("list", "dict"):
        return json.loads(data)

    items = [item for (item,) in struct.iter_unpack("<" + ITEM_FORMATS[dtype], data)]
    return nest(items, value["shape"])


def nest(items: list[Any], shape: list[int]) -> Any:
    """Flat C-order items as nested lists of ``shape``; shape ``[]`` is a scalar."""
    if not shape:
        (item,) = items
        return item
    size = len(items) // shape[0]
    rows = (items[index * size : (index + 1) * size] for index in range(shape[0]))
    return [nest(row, shape[1:]) for row in rows]


def assert_fragments(messages: list[str], fragments: list[str]) -> None:
    """Each message contains its fragment, in order, and there are no others."""
    assert len(messages) == len(fragments), messages
    for message, fragment in zip(messages, fragments, strict=True):
        assert fragment in message


# ---------- the tables ----------


@pytest.mark.parametrize("upload", scenarios(SIGNATURES))
def test_signature_is_inferred(upload: Path, tmp_path: Path) -> None:
    expected = expectation(upload)
    source = read(upload)

    result = load(source, tmp_path)

    assert result.keys() == {"ok", "signature", "warnings", "isGenerator"}, result
    assert result["signature"] == {
        "inputs": full_parameters(expected["inputs"]),
        "outputs": full_parameters(expected["outputs"]),
    }
    defaults = decoded_defaults(result["signature"]["inputs"])
    assert defaults == expected.get("defaults", {})
    assert result["isGenerator"] is expected["isGenerator"]
    assert_fragments([*source.warnings, *result["warnings"]], expected["warnings"])
    if upload.suffix == ".ipynb":
        assert source.card == expected["card"]
        assert list(source.requirements) == expected["requirements"]


@pytest.mark.parametrize("upload", scenarios(BROKEN))
def test_broken_predictor_is_invalid(upload: Path, tmp_path: Path) -> None:
    expected = expectation(upload)

    error = invalid_error(upload, tmp_path)

    for fragment in expected["error"]:
        assert fragment in error


@pytest.mark.parametrize("folder", [SIGNATURES, BROKEN], ids=lambda path: path.name)
def test_every_fixture_has_an_expectation(folder: Path) -> None:
    predictors = {path.stem for path in uploads(folder)}
    expectations = {path.stem for path in folder.glob("*.json")}

    assert predictors == expectations
