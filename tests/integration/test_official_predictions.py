"""The official ``fxn`` clients making predictions on a real server: 0.0.26,
0.0.23, 0.0.13 and 0.0.9, each through its Python API with every kind of input
it can send and through ``fxn predict``; 0.0.26 and 0.0.23 streaming too.

The predictors are notebooks created over REST, each with a fresh tag, and
waited for until ACTIVE. The two that take a numpy array or an image ask for
numpy and Pillow with ``%pip install``; the server installs them offline, from
uv's cache (see ``start_server``). Each predictor changes what it gets in a way
the test can check (adds one, transposes the array, rotates the image, hashes
the file) and most return several results, so every assertion compares values.

The Python API is driven by one script run in the client's virtualenv, which
adapts to the two styles: the ``Function`` object (0.0.24 and later) and the
module globals with class methods (before). It builds the inputs from JSON
(an array, an image or a file from a spec), makes the prediction and prints
each result under the name of its Python type, so that ``{"int": 42}`` checks
the type as well as the number.

Client bugs that shape these tests (the server can do nothing about them):
0.0.9 labels an image with the type of the file it was opened from
(``get_format_mimetype``), so one made by ``Image.new`` raises in the client,
and the script opens the image from a PNG file (which 0.0.9, like the later
clients, sends as a JPEG). 0.0.13 and later send a float as float32 and an int
as int32, so the numbers are ones that survive that. 0.0.9 reads a result only
when it is an image, a number, or carries ``stringValue``, ``listValue`` or
``dictValue``; for any other it builds its ``Feature`` class from keys that
class does not have and raises, so it cannot receive a file or None, and
0.0.13 cannot receive None either (it reads a URL from the null ``data``). So
no predictor here returns a file or None. The 0.0.22 and 0.0.23 streams build
their dataclasses from each streamed object's keys, which is why the server's
default stream framing sends only the fields that a 2023 prediction has.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.integration.official import OfficialClient, describe, printed_json
from tests.integration.support import LiveServer

pytestmark = [pytest.mark.compat, pytest.mark.timeout(300)]

ALL_VERSIONS = ["0.0.26", "0.0.23", "0.0.13", "0.0.9"]
STREAMING = ["0.0.26", "0.0.23"]  # Prediction.stream arrived in 0.0.22
PROVISION_TIMEOUT_S = 120.0

GREETING = """
def predict(name: str) -> str:
    return f"Hello {name}!"
"""
NUMBERS = """
def predict(count: int, ratio: float, flag: bool) -> tuple[int, float, bool]:
    return count + 1, ratio * 2, not flag
"""
COLLECTIONS = """
def predict(items: list, table: dict) -> tuple[list, dict]:
    return [*items, len(items)], {**table, "keys": sorted(table)}
"""
ARRAY = """
import numpy as np

def predict(matrix: np.ndarray) -> tuple[np.ndarray, str]:
    return matrix.T * 2, f"{matrix.dtype} {list(matrix.shape)}"
"""
IMAGE = """
from PIL import Image

def predict(picture: Image.Image) -> tuple[list, Image.Image]:
    size = [picture.width, picture.height, picture.mode]
    return size, picture.rotate(90, expand=True)
"""
FILE = """
import hashlib
from pathlib import Path

def predict(document: Path) -> tuple[str, int, str]:
    data = document.read_bytes()
    first = data.decode().splitlines()[0]
    return first, len(data), hashlib.sha256(data).hexdigest()
"""
FAILING = """
def predict(x: int) -> int:
    return refuse(x)

def refuse(x: int) -> int:
    raise ValueError(f"{x} is not welcome here")
"""
SEVERAL = """
def predict(name: str) -> tuple[str, int, list, dict]:
    initials = {"first": name[0], "last": name[-1]}
    return name.upper(), len(name), list(name), initials
"""
WORDS = """
def predict(sentence: str):
    for word in sentence.split():
        yield word
"""
PREDICTORS = {
    "greeting": GREETING,
    "numbers": NUMBERS,
    "collections": COLLECTIONS,
    "array": ARRAY,
    "image": IMAGE,
    "file": FILE,
    "failing": FAILING,
    "several": SEVERAL,
    "words": WORDS,
}
NEEDS_NUMPY_AND_PILLOW = {"array", "image"}

CLIENT_PREDICTS = """\
import asyncio, json, sys
from pathlib import Path

import numpy as np
from PIL import Image

import fxn

key, api_url, mode, tag = sys.argv[1:5]
inputs = json.loads(sys.argv[5])
if hasattr(fxn, "Function"):  # 0.0.24 and later
    predictions = fxn.Function(access_key=key, api_url=api_url).predictions
else:  # module style: globals, and class methods on the types
    fxn.access_key, fxn.api_url = key, api_url
    predictions = fxn.Prediction

def argument(spec):
    if not isinstance(spec, dict) or "kind" not in spec:
        return spec
    if spec["kind"] == "array":
        return np.array(spec["items"], dtype=spec["dtype"])
    if spec["kind"] == "image":
        return Image.open(spec["path"])
    return Path(spec["path"])

def shown(result):
    if isinstance(result, np.ndarray):
        return {"ndarray": result.tolist(), "dtype": result.dtype.name}
    if isinstance(result, Image.Image):
        corner = result.convert("RGB").getpixel((0, 0))
        return {"image": list(result.size), "corner": list(corner)}
    return {type(result).__name__: result}

def plain(prediction):
    results = prediction.results
    return {
        "results": None if results is None else [shown(item) for item in results],
        "error": prediction.error,
    }

async def streamed(arguments):
    return [plain(item) async for item in predictions.stream(tag, **arguments)]

arguments = {name: argument(spec) for name, spec in inputs.items()}
if mode == "stream":
    print(json.dumps(asyncio.run(streamed(arguments))))
else:
    print(json.dumps(plain(predictions.create(tag, **arguments))))
"""


def notebook(stem: str) -> dict[str, Any]:
    cells = [PREDICTORS[stem].lstrip()]
    if stem in NEEDS_NUMPY_AND_PILLOW:
        cells.insert(0, "%pip install numpy pillow")
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": text,
            }
            for text in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def data_url(document: dict[str, Any]) -> str:
    encoded = base64.b64encode(json.dumps(document).encode()).decode()
    return f"data:application/x-ipynb+json;name=predictor.ipynb;base64,{encoded}"


@pytest.fixture(scope="module")
def tags(live_server: LiveServer) -> dict[str, str]:
    """Every predictor of PREDICTORS, created over REST and ACTIVE, by stem."""
    headers = {"Authorization": f"Bearer {live_server.key}"}
    with httpx.Client(
        base_url=live_server.url, headers=headers, trust_env=False, timeout=10.0
    ) as http:
        tags = {}
        for stem in PREDICTORS:
            tag = f"@{live_server.username}/{stem}-{uuid.uuid4().hex[:8]}"
            body = {"tag": tag, "notebook": data_url(notebook(stem))}
            http.post("/predictors", json=body).raise_for_status()
            tags[stem] = tag
        for tag in tags.values():
            wait_until_active(http, tag)
    return tags


def wait_until_active(http: httpx.Client, tag: str) -> None:
    deadline = time.monotonic() + PROVISION_TIMEOUT_S
    predictor = http.get(f"/predictors/{tag}").raise_for_status().json()
    while predictor["status"] == "PROVISIONING":
        if time.monotonic() > deadline:
            pytest.fail(f"{tag} still PROVISIONING after {PROVISION_TIMEOUT_S} s")
        time.sleep(0.1)
        predictor = http.get(f"/predictors/{tag}").raise_for_status().json()
    assert predictor["status"] == "ACTIVE", (
        f"{tag} ended {predictor['status']}: {predictor.get('error')}\n"
        f"provisioning log:\n{predictor.get('log')}\n"
        "(requirements install offline, from uv's cache: if numpy or Pillow is "
        "missing there, run scripts/install, which puts them in it)"
    )


def make_prediction(
    client: OfficialClient, tag: str, home: Path, mode: str = "create", **inputs: Any
) -> Any:
    """Run the client script once; the prediction (a list of them when streaming)."""
    arguments = (client.server.key, client.api_url, mode, tag, json.dumps(inputs))
    result = client.python(CLIENT_PREDICTS, *arguments, home=home)
    prediction = printed_json(result)
    assert isinstance(prediction, dict | list), describe(result)
    return prediction


def succeeded(prediction: dict[str, Any]) -> list[dict[str, Any]]:
    assert prediction["error"] is None, prediction["error"]
    results: list[dict[str, Any]] = prediction["results"]
    return results


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_predicts_greeting(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    prediction = make_prediction(
        official_client, tags["greeting"], tmp_path, name="Peter"
    )

    assert succeeded(prediction) == [{"str": "Hello Peter!"}]


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_receives_a_result_too_large_to_inline(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    # Past the 4096-byte dataUrlLimit the result is a URL on the server; 0.0.9
    # reads its stringValue, which GraphQL then fetches back from storage.
    name = "x" * 5000
    prediction = make_prediction(official_client, tags["greeting"], tmp_path, name=name)

    assert succeeded(prediction) == [{"str": f"Hello {name}!"}]


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_round_trips_numbers_and_bool(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    prediction = make_prediction(
        official_client, tags["numbers"], tmp_path, count=41, ratio=0.375, flag=True
    )

    assert succeeded(prediction) == [{"int": 42}, {"float": 0.75}, {"bool": False}]


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_round_trips_list_and_dict(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    items = ["a", 2, 3.5, True, None, {"n": [1, 2]}]
    table = {"name": "Peter", "nested": {"x": [1, 2]}}

    prediction = make_prediction(
        official_client, tags["collections"], tmp_path, items=items, table=table
    )

    assert succeeded(prediction) == [
        {"list": [*items, 6]},
        {"dict": {**table, "keys": ["name", "nested"]}},
    ]


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_round_trips_numpy_array(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    matrix = {"kind": "array", "items": [[1, 2, 3], [4, 5.5, 6]], "dtype": "float32"}

    prediction = make_prediction(
        official_client, tags["array"], tmp_path, matrix=matrix
    )

    assert succeeded(prediction) == [
        {"ndarray": [[2, 8], [4, 11], [6, 12]], "dtype": "float32"},
        {"str": "float32 [2, 3]"},
    ]


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_sends_and_receives_image(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (220, 20, 30)).save(path)

    prediction = make_prediction(
        official_client,
        tags["image"],
        tmp_path,
        picture={"kind": "image", "path": str(path)},
    )

    size, rotated = succeeded(prediction)
    assert size == {"list": [64, 48, "RGB"]}
    assert rotated["image"] == [48, 64]
    # The client sent a JPEG, so the colour comes back close, not exact.
    assert all(
        abs(got - sent) < 12
        for got, sent in zip(rotated["corner"], (220, 20, 30), strict=True)
    ), rotated


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_sends_file(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    # Over 4096 bytes: 0.0.13 and later upload it (createUploadUrl, PUT) and
    # send its URL; 0.0.9 sends it inline.
    text = "openfxn test document\n" + "line of filler text\n" * 300
    path = tmp_path / "document.txt"
    path.write_text(text, encoding="utf-8")

    prediction = make_prediction(
        official_client,
        tags["file"],
        tmp_path,
        document={"kind": "path", "path": str(path)},
    )

    digest = hashlib.sha256(text.encode()).hexdigest()
    assert succeeded(prediction) == [
        {"str": "openfxn test document"},
        {"int": len(text)},
        {"str": digest},
    ]


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_failing_prediction_returns_error(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    prediction = make_prediction(official_client, tags["failing"], tmp_path, x=7)

    assert prediction["results"] is None
    assert "ValueError: 7 is not welcome here" in prediction["error"]
    assert "in refuse" in prediction["error"]  # the traceback, down to the raise


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_python_returns_several_results(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    prediction = make_prediction(
        official_client, tags["several"], tmp_path, name="Peter"
    )

    assert succeeded(prediction) == [
        {"str": "PETER"},
        {"int": 5},
        {"list": ["P", "e", "t", "e", "r"]},
        {"dict": {"first": "P", "last": "r"}},
    ]


@pytest.mark.parametrize("official_client", STREAMING, indirect=True)
def test_python_streams_partial_results(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    sentence = "Hello wide world"

    streamed = make_prediction(
        official_client, tags["words"], tmp_path, "stream", sentence=sentence
    )
    whole = make_prediction(official_client, tags["words"], tmp_path, sentence=sentence)

    assert [succeeded(partial) for partial in streamed] == [
        [{"str": "Hello"}],
        [{"str": "wide"}],
        [{"str": "world"}],
        [{"str": "world"}],  # the final prediction, with its latency
    ]
    assert succeeded(whole) == [{"str": "world"}]


@pytest.mark.parametrize("official_client", ALL_VERSIONS, indirect=True)
def test_cli_predicts_greeting(
    official_client: OfficialClient, tags: dict[str, str], tmp_path: Path
) -> None:
    key = official_client.server.key
    official_client.cli("auth", "login", key, home=tmp_path)

    result = official_client.cli(
        "predict", tags["greeting"], "--name", "Peter", home=tmp_path
    )

    prediction = printed_json(result)
    assert prediction["tag"] == tags["greeting"]
    assert prediction["error"] is None
    assert prediction["results"] == ["Hello Peter!"]
