"""``openfxn predict``: inputs typed by the signature, results printed or saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.cli.conftest import Run, Tags, failure


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder, current, with ``logo.png`` (4x2, red on the left)
    and ``note.txt`` in it."""
    monkeypatch.chdir(tmp_path)
    logo = Image.new("RGB", (4, 2), (0, 0, 255))
    logo.paste((255, 0, 0), (0, 0, 2, 2))
    logo.save(tmp_path / "logo.png")
    (tmp_path / "note.txt").write_text("a note", encoding="utf-8")
    return tmp_path


TYPED_INPUTS = (
    "--text", "7", "--count", "42", "--ratio", "0.25", "--flag", "false",
    "--items", "[1, 2.5]", "--mapping", '{"k": "v"}', "--picture", "@logo.png",
    "--blob", "@note.txt",
)  # fmt: skip


def received(stdout: str) -> dict[str, Any]:
    """What the typed predictor says it received (its first result)."""
    described: dict[str, Any] = json.loads(stdout.splitlines()[0])
    return described


@pytest.mark.usefixtures("files")
def test_each_input_takes_its_signature_type(run: Run, tags: Tags) -> None:
    result = run("predict", tags.typed, *TYPED_INPUTS, "--first-name", "Ada")

    assert result.exit_code == 0, failure(result)
    assert received(result.stdout) == {
        "text": ["str", "7"],
        "count": ["int", 42],
        "ratio": ["float", 0.25],
        "flag": ["bool", False],
        "items": ["list", [1, 2.5]],
        "mapping": ["dict", {"k": "v"}],
        "picture": ["Image", "RGB", [4, 2]],
        "blob": ["Path", "a note"],
        "first_name": ["str", "Ada"],
        "anything": ["NoneType", None],
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("12", ["int", 12]),
        ("1.5", ["float", 1.5]),
        ("true", ["bool", True]),
        ('{"a": [1]}', ["dict", {"a": [1]}]),
        ("@logo.png", ["Image", "RGB", [4, 2]]),
        ("@note.txt", ["Path", "a note"]),
        ("plain words", ["str", "plain words"]),
    ],
)
@pytest.mark.usefixtures("files")
def test_untyped_input_is_guessed(
    run: Run, tags: Tags, given: str, expected: list[Any]
) -> None:
    result = run("predict", tags.typed, *TYPED_INPUTS, f"--anything={given}")

    assert result.exit_code == 0, failure(result)
    assert received(result.stdout)["anything"] == expected


@pytest.mark.usefixtures("files")
def test_a_bool_flag_alone_is_true(run: Run, tags: Tags) -> None:
    inputs = [word for word in TYPED_INPUTS if word not in ("--flag", "false")]

    result = run("predict", tags.typed, "--flag", *inputs)

    assert received(result.stdout)["flag"] == ["bool", True], failure(result)


def test_image_and_bytes_results_are_saved(run: Run, tags: Tags, files: Path) -> None:
    result = run("predict", tags.typed, *TYPED_INPUTS, "-o", "out")

    assert result.exit_code == 0, failure(result)
    _, image_path, bytes_path = result.stdout.splitlines()
    assert Path(image_path).parent == Path("out")
    with Image.open(files / image_path) as mirrored:
        assert mirrored.getpixel((0, 0)) == (0, 0, 255)
        assert mirrored.getpixel((3, 0)) == (255, 0, 0)
    assert (files / bytes_path).read_bytes() == b"a note"


def test_json_prints_the_whole_prediction(run: Run, tags: Tags, files: Path) -> None:
    result = run("predict", tags.typed, *TYPED_INPUTS, "--json")

    assert result.exit_code == 0, failure(result)
    prediction = json.loads(result.stdout)
    assert prediction["tag"] == tags.typed
    assert prediction["status"] == "SUCCEEDED"
    assert prediction["results"][0]["count"] == ["int", 42]
    assert (files / prediction["results"][1]).suffix == ".png"
    assert [value["type"] for value in prediction["values"]] == [
        "dict",
        "image",
        "binary",
    ]
    assert prediction["latency"] > 0


def test_stream_prints_each_yield_as_it_comes(run: Run, tags: Tags) -> None:
    result = run("predict", tags.words, "--sentence", "one two three", "--stream")

    assert result.exit_code == 0, failure(result)
    assert result.stdout == "one\ntwo\nthree\n"


def test_stream_json_is_one_prediction_a_line(run: Run, tags: Tags) -> None:
    result = run("predict", tags.words, "--sentence", "one two", "--stream", "--json")

    predictions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(p["status"], p["results"]) for p in predictions] == [
        ("RUNNING", ["one"]),
        ("RUNNING", ["two"]),
        ("SUCCEEDED", ["two"]),
    ]
    assert len({p["id"] for p in predictions}) == 1


def test_without_stream_a_generator_gives_its_last_yield(run: Run, tags: Tags) -> None:
    result = run("predict", tags.words, "--sentence", "one two")

    assert result.stdout == "two\n", failure(result)


def test_inputs_after_double_dash_are_never_options(run: Run, tags: Tags) -> None:
    result = run("predict", tags.failing, "--", "--x", "5", "--json")

    assert result.stdout == "", failure(result)
    assert "ValueError: 5 is not welcome here (json=True)" in result.stderr


def test_predict_that_raises_exits_3_with_its_error(run: Run, tags: Tags) -> None:
    result = run("predict", tags.failing, "--x", "5")

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {tags.failing} raised:\n")
    assert "ValueError: 5 is not welcome here (json=False)" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--x", "five"], "--x takes a whole number, not 'five'."),
        (
            ["--x", "1", "--y", "2"],
            "There is no input --y. The predictor's inputs: --x, --json.",
        ),
        ([], "Missing input --x."),
        (["--x"], "--x needs a value: --x VALUE."),
        (["5"], "'5' has no name: give each input as --name value."),
    ],
)
def test_wrong_inputs_are_one_line_and_exit_2(
    run: Run, tags: Tags, arguments: list[str], message: str
) -> None:
    result = run("predict", tags.failing, *arguments)

    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")


@pytest.mark.usefixtures("files")
def test_a_missing_file_is_named(run: Run, tags: Tags) -> None:
    inputs = [word.replace("@logo.png", "@nope.png") for word in TYPED_INPUTS]

    result = run("predict", tags.typed, *inputs)

    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --picture takes a file, and there is no file 'nope.png'.\n"
    )


@pytest.mark.usefixtures("files")
def test_an_unwritable_output_dir_is_one_line(run: Run, tags: Tags) -> None:
    result = run("predict", tags.typed, *TYPED_INPUTS, "--output-dir", "note.txt")

    assert result.exit_code == 1
    assert result.stderr == "Error: File exists: note.txt\n"
