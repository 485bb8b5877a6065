from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from openfxn.server.predictors.sources import SourceError, read_source

PREDICT = "def predict(name: str) -> str:\n    return name\n"


def cell(kind: str, source: str | list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        entry.update(execution_count=None, outputs=[])
    return entry


def code(source: str | list[str]) -> dict[str, Any]:
    return cell("code", source)


def markdown(source: str | list[str]) -> dict[str, Any]:
    return cell("markdown", source)


def raw(source: str | list[str]) -> dict[str, Any]:
    return cell("raw", source)


def notebook(*cells: dict[str, Any], nbformat: int = 4) -> bytes:
    document = {"nbformat": nbformat, "nbformat_minor": 5, "metadata": {}}
    return json.dumps({**document, "cells": list(cells)}).encode()


@dataclass(frozen=True)
class Read:
    """A source that reads, and what the result must hold."""

    data: bytes
    filename: str | None = "predictor.ipynb"
    card: str | None = None
    requirements: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    code: str | None = None
    hidden: tuple[str, ...] = field(default=())


READS = {
    "string source": Read(notebook(code(PREDICT)), contains=(PREDICT,)),
    "list source": Read(
        notebook(code(["def predict(name: str) -> str:\n", "    return name\n"])),
        contains=(PREDICT,),
    ),
    "first markdown cell is the card": Read(
        notebook(markdown(["# Greeter\n", "\n", "Says hello.\n"]), code(PREDICT)),
        card="# Greeter\n\nSays hello.",
        lacks=("Greeter",),
    ),
    "markdown after a code cell is no card": Read(
        notebook(code("import os"), markdown("# Not a card"), code(PREDICT)),
        card=None,
    ),
    "blank first markdown cell is no card": Read(
        notebook(markdown("  \n"), code(PREDICT)), card=None
    ),
    "raw and markdown cells are left out": Read(
        notebook(raw("RAW TEXT"), code("x = 1"), markdown("PROSE"), code(PREDICT)),
        contains=("x = 1",),
        lacks=("RAW TEXT", "PROSE"),
    ),
    "cells after predict are skipped": Read(
        notebook(code("x = 1"), code(PREDICT), code("print(predict('a'))"), code("y")),
        lacks=("print(predict", "\ny\n"),
        warnings=("Skipped 2 code cells after cell 2, which defines `predict`",),
    ),
    "pip lines after predict are not installed": Read(
        notebook(code("%pip install numpy"), code(PREDICT), code("%pip install x")),
        requirements=("numpy",),
        warnings=("Skipped 1 code cell after cell 2",),
    ),
    "pip flags are dropped": Read(
        notebook(
            code(
                "%pip install -q numpy --upgrade pillow\n!pip install -qU --quiet tqdm"
            ),
            code(PREDICT),
        ),
        requirements=("numpy", "pillow", "tqdm"),
        lacks=("import pip",),
    ),
    "pip continuation lines are joined": Read(
        notebook(
            code("%pip install numpy \\\n    pillow \\\n    tqdm\nx = 1\n" + PREDICT)
        ),
        requirements=("numpy", "pillow", "tqdm"),
        contains=("x = 1",),
    ),
    "every pip spelling installs": Read(
        notebook(
            code(
                "!pip3 install a\n! pip install b\n!python -m pip install c\n"
                "!python3 -m pip install d\nif IN_COLAB:\n    %pip install e"
            ),
            code(PREDICT),
        ),
        requirements=("a", "b", "c", "d", "e"),
    ),
    "requirements are deduplicated in order": Read(
        notebook(
            code("%pip install torch numpy"),
            code("%pip install numpy pillow torch"),
            code(PREDICT),
        ),
        requirements=("torch", "numpy", "pillow"),
    ),
    "requirement forms pip accepts": Read(
        notebook(
            code(
                "%pip install \"numpy<2\" 'transformers[torch]==4.40' "
                "'torch>=2.1,!=2.2.0' git+https://github.com/a/b.git#egg=b "
                '"pkg @ https://example.com/pkg-1.0-py3-none-any.whl"  # comment'
            ),
            code(PREDICT),
        ),
        requirements=(
            "numpy<2",
            "transformers[torch]==4.40",
            "torch>=2.1,!=2.2.0",
            "git+https://github.com/a/b.git#egg=b",
            "pkg @ https://example.com/pkg-1.0-py3-none-any.whl",
        ),
    ),
    "fxn magics are ignored with a warning": Read(
        notebook(code("%load_ext fxn.magic"), code("%fxn python 3.11\n" + PREDICT)),
        warnings=(
            "Cell 1, line 1: ignored `%load_ext fxn.magic`",
            "Cell 2, line 1: ignored `%fxn python 3.11`",
        ),
        contains=("# %fxn python 3.11\ndef predict",),
    ),
    "other line magics are ignored with a warning": Read(
        notebook(code("%matplotlib inline\n%pip list\n" + PREDICT)),
        warnings=(
            "Cell 1, line 1: ignored `%matplotlib inline`",
            "Cell 1, line 2: ignored `%pip list`",
        ),
    ),
    "env magic values stay out of warnings and code": Read(
        notebook(code("%env HF_TOKEN=hf_secret\n" + PREDICT)),
        warnings=("ignored `%env …`: set environment variables",),
        hidden=("hf_secret",),
    ),
    "indented magic becomes pass": Read(
        notebook(code("if True:\n    %matplotlib inline\n" + PREDICT)),
        contains=("if True:\n    pass  # %matplotlib inline\n",),
        warnings=("Cell 1, line 2: ignored `%matplotlib inline`",),
    ),
    "magic-like lines inside strings and brackets stay": Read(
        notebook(
            code(
                'TEMPLATE = """\n%s\n!important\n"""\n'
                "ratio = (10\n% 3)\n"
                "joined = 1 + \\\n!0\n"
            ),
            code(PREDICT),
        ),
        contains=('"""\n%s\n!important\n"""', "(10\n% 3)", "\\\n!0"),
    ),
    "async predict counts": Read(
        notebook(code("async def predict(name: str) -> str:\n    return name\n")),
        contains=("async def predict",),
    ),
    "unparsable cell before predict is kept": Read(
        notebook(code("x = ("), code(PREDICT)), contains=("# cell 1\nx = (\n",)
    ),
    "notebook without a filename": Read(
        notebook(markdown("card"), code(PREDICT)), filename=None, card="card"
    ),
    "python file is used as it is": Read(
        b"%not processed\n" + PREDICT.encode(),
        filename="predictor.py",
        code="%not processed\n" + PREDICT,
    ),
    "json without cells is a python file": Read(
        b'{"predict": 1}', filename=None, code='{"predict": 1}'
    ),
    "byte order mark is dropped": Read(
        b"\xef\xbb\xbf" + PREDICT.encode(), filename="predictor.py", code=PREDICT
    ),
}


@pytest.mark.parametrize("case", READS.values(), ids=READS.keys())
def test_read_source(case: Read) -> None:
    source = read_source(case.data, case.filename)

    assert source.card == case.card
    assert source.requirements == case.requirements
    for fragment in case.contains:
        assert fragment in source.code
    for fragment in case.lacks:
        assert fragment not in source.code
    for fragment in case.hidden:
        assert fragment not in source.code
        assert not any(fragment in warning for warning in source.warnings)
    assert len(source.warnings) == len(case.warnings)
    for fragment, warning in zip(case.warnings, source.warnings, strict=True):
        assert fragment in warning
    if case.code is not None:
        assert source.code == case.code


@dataclass(frozen=True)
class Refused:
    """A source that must be refused, and fragments of the reason."""

    data: bytes
    says: tuple[str, ...]
    filename: str | None = "predictor.ipynb"


def pip_line(line: str) -> bytes:
    return notebook(code(line), code(PREDICT))


REFUSALS = {
    "empty": Refused(b"", ("is empty",)),
    "only whitespace": Refused(b" \n\t", ("is empty",), filename="a.py"),
    "only a byte order mark": Refused(b"\xef\xbb\xbf\n", ("is empty",)),
    "not utf-8 after a byte order mark": Refused(
        b"\xef\xbb\xbfx = '\xe9'", ("0xe9", "offset 8")
    ),
    "not utf-8": Refused(b"def predict():\xff\n", ("not UTF-8", "0xff", "offset 14")),
    "nbformat 3": Refused(notebook(code(PREDICT), nbformat=3), ("nbformat 3",)),
    "nbformat 3 without a filename": Refused(
        json.dumps({"nbformat": 3, "worksheets": []}).encode(),
        ("nbformat 3", "save it"),
        filename=None,
    ),
    "notebook that is not json": Refused(b"{cells: []", ("not valid JSON", "line 1")),
    "notebook json without cells": Refused(b'{"a": 1}', ("no `cells` list",)),
    "malformed cell": Refused(notebook({"source": "x"}), ("Cell 1", "`cell_type`")),
    "malformed source": Refused(
        notebook(code(PREDICT), cell("code", 12)),  # type: ignore[arg-type]
        ("Cell 2", "`source`"),
    ),
    "no predict": Refused(
        notebook(markdown("# card"), code("x = 1")),
        ("No code cell defines a top-level function named `predict`",),
    ),
    "predict inside an if": Refused(
        notebook(code("if True:\n    " + PREDICT.replace("\n", "\n    "))),
        ("No code cell defines",),
    ),
    "predict that does not parse": Refused(
        notebook(code("x = 1"), code("def predict(:\n    pass")),
        ("Cell 2 seems to define it", "line 1"),
    ),
    "bash cell magic": Refused(
        notebook(code("%%bash\necho hi"), code(PREDICT)),
        ("Cell 1, line 1: `%%bash`", "plain Python"),
    ),
    "magic that runs code": Refused(
        notebook(code("%timeit y = 2\n" + PREDICT)),
        ("Cell 1, line 1: `%timeit y = 2`", "without `%timeit`"),
    ),
    "conda magic": Refused(
        notebook(code("%conda install numpy\n" + PREDICT)),
        ("`%conda install numpy`", "`%pip install`"),
    ),
    "capture cell magic": Refused(
        notebook(code("x = 1"), code("%%capture\n" + PREDICT)),
        ("Cell 2, line 1: `%%capture`",),
    ),
    "apt-get": Refused(
        notebook(
            markdown("card"),
            code("x = 1"),
            code("import os\n!apt-get install -y ffmpeg\n" + PREDICT),
        ),
        ("Cell 3, line 2: `!apt-get install -y ffmpeg`", "System packages"),
    ),
    "wget": Refused(
        notebook(code("!wget https://x.org/a.bin\n" + PREDICT)),
        ("`!wget https://x.org/a.bin`", "urllib.request"),
    ),
    "git clone": Refused(
        notebook(code("!git clone https://github.com/a/b\n" + PREDICT)),
        ("git+https://",),
    ),
    "pip through sys.executable": Refused(
        pip_line("!{sys.executable} -m pip install numpy"), ("`%pip install",)
    ),
    "requirements file": Refused(
        pip_line("%pip install -r requirements.txt"),
        ("Cell 1, line 1", "`-r`", "List the packages directly"),
    ),
    "editable install": Refused(pip_line("!pip install -e ."), ("`-e`",)),
    "index url": Refused(
        pip_line("%pip install --index-url=https://x.org/simple torch"),
        ("`--index-url`", "List the packages directly"),
    ),
    "extra index url": Refused(
        pip_line("%pip install torch --extra-index-url https://x.org"),
        ("`--extra-index-url`",),
    ),
    "unknown pip option": Refused(
        pip_line("%pip install --pre torch"), ("`--pre`", "not supported")
    ),
    "semicolon": Refused(
        pip_line("!pip install numpy; rm -rf /"), ("Cell 1, line 1", "shell syntax")
    ),
    "and-and": Refused(pip_line("%pip install numpy && ls"), ("shell syntax",)),
    "pipe": Refused(pip_line("%pip install numpy | tee log"), ("shell syntax",)),
    "redirect": Refused(pip_line("%pip install numpy<2"), ("shell syntax",)),
    "variable": Refused(pip_line('%pip install "$PACKAGE"'), ("shell syntax",)),
    "backtick": Refused(pip_line("%pip install `cat x`"), ("shell syntax",)),
    "quoted semicolon": Refused(pip_line('%pip install "a;b"'), ("shell syntax",)),
    "local path": Refused(
        pip_line("%pip install ./vendor/pkg"),
        ("`./vendor/pkg`", "is not a package requirement"),
    ),
    "file url": Refused(
        pip_line("%pip install file:///etc/passwd"), ("is not a package requirement",)
    ),
    "no packages": Refused(pip_line("%pip install -q"), ("names no package",)),
    "unbalanced quote": Refused(pip_line("%pip install 'numpy"), ("cannot read",)),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_read_source_refuses(case: Refused) -> None:
    with pytest.raises(SourceError) as raised:
        read_source(case.data, case.filename)

    for fragment in case.says:
        assert fragment in raised.value.message


def test_cell_comments_map_module_lines_to_cells() -> None:
    cells = [
        markdown("card"),
        code("%pip install numpy \\\n  pillow\nimport os\nFAIL_HERE = 1\n"),
        raw("skipped"),
        code("# setup\nLATER = 2\n" + PREDICT),
    ]

    lines = read_source(notebook(*cells), None).code.split("\n")

    def cell_line(module_line: int) -> tuple[int, int]:
        for index in range(module_line - 1, -1, -1):
            if lines[index].startswith("# cell "):
                return int(
                    lines[index].removeprefix("# cell ")
                ), module_line - index - 1
        raise AssertionError("no cell comment above")

    assert cell_line(lines.index("FAIL_HERE = 1") + 1) == (2, 4)
    assert cell_line(lines.index("LATER = 2") + 1) == (4, 2)


def test_notebook_module_compiles() -> None:
    data = notebook(
        code("%pip install numpy\nif True:\n    %matplotlib inline\n"), code(PREDICT)
    )

    source = read_source(data, "a.ipynb")

    compile(source.code, "predictor.py", "exec")


def test_locate_tells_module_lines_as_cell_lines() -> None:
    cells = [markdown("card"), code("import os\n\nx = 1 / 0\n"), code(PREDICT)]
    source = read_source(notebook(*cells), "a.ipynb")
    module_line = source.code.split("\n").index("x = 1 / 0") + 1

    message = source.locate(f"  line {module_line} of predictor.py: x", "predictor.py")

    assert message == "  cell 2, line 3: x"


def test_locate_leaves_python_files_alone() -> None:
    source = read_source(b"# cell 9\n" + PREDICT.encode(), "a.py")

    assert source.locate("line 2 of predictor.py", "predictor.py") == (
        "line 2 of predictor.py"
    )
