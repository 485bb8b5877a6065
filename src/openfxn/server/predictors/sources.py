"""Turning an uploaded source, a Python file or a notebook, into a module.

A Python file is the module as it is. A Jupyter notebook (nbformat 4) becomes
one the way the platform documents it:

* the first cell, if it is Markdown, is the predictor's card;
* code cells run up to and including the first one that defines ``predict``
  at its top level; later cells are left out, with a warning;
* ``%pip install`` lines, and ``!pip install``, ``!pip3 install`` and
  ``!python -m pip install`` lines, become requirements for provisioning;
* line magics that run code or change what it sees (``%time``, ``%run``,
  ``%conda``, ...) are refused, each with what to write instead; other ``%``
  line magics only matter in an interactive notebook (``%matplotlib``,
  ``%load_ext``, ``%fxn``), so they are left out, with a warning;
* ``%%`` cell magics and other ``!`` shell lines are refused: the module runs
  without IPython or a shell, and leaving them out would change what it does.

A ``%`` or ``!`` line is IPython syntax only where a statement may start, so
such lines inside strings, brackets or backslash continuations are left as
they are.

The module keeps each cell line for line and opens it with a ``# cell N``
comment, N counting every cell of the notebook from 1. Line L of a traceback
in the module is therefore line L - M of cell N, where M is the line of the
nearest ``# cell N`` above it. The lines handled here stay as comments (or
``pass`` with a comment, when indented) so that the count holds.

Anything wrong raises :class:`SourceError`, whose message is shown to the
author as the predictor's error.
"""

from __future__ import annotations

import ast
import codecs
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

NOTEBOOK_SUFFIX = ".ipynb"
CELL_MARK = "# cell "
SHOWN_LENGTH = 120

PIP_INSTALL = re.compile(
    r"(?:%pip|!\s*(?:pip3?|python3?\s+-m\s+pip))\s+install(?:\s+(?P<arguments>.*))?",
    re.DOTALL,
)

# Options that change nothing once the server installs the requirements itself.
DROPPED_OPTIONS = frozenset({"--quiet", "--upgrade", "--no-cache-dir", "--user"})
SHORT_DROPPED_OPTIONS = re.compile(r"-[qU]+")
# Options that point pip at files or indexes the server does not have.
SOURCE_OPTIONS = frozenset(
    {"-r", "--requirement", "-c", "--constraint", "-e", "--editable"}
    | {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--no-index"}
)
SHELL_METACHARACTERS = frozenset(";|&$`<>()")

NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
EXTRAS = rf"\[\s*{NAME}(?:\s*,\s*{NAME})*\s*\]"
VERSION = r"(?:===|~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
URL = r"(?:git\+)?https?://[A-Za-z0-9._~:/?#@!+,=%-]+"
REQUIREMENT = re.compile(
    rf"{NAME}\s*(?:{EXTRAS})?\s*(?:{VERSION}(?:\s*,\s*{VERSION})*|@\s*{URL})?|{URL}"
)

MAGIC_ADVICE = {
    "%fxn": "openfxn does not choose a Python version or base image per predictor",
    "%load_ext": "it only loads an IPython extension",
    "%env": "set environment variables on the predictor or the account instead",
    "%set_env": "set environment variables on the predictor or the account instead",
    "%matplotlib": "it only sets up plotting inside the notebook",
    "%cd": "the module does not change directory; call `os.chdir` if it must",
}
# Magics that run code or change what the code sees: leaving them out would
# change what the module does, so they are refused with what to write instead.
REFUSED_MAGICS = {
    "%time": "write the statement without `%time`",
    "%timeit": "write the statement without `%timeit`",
    "%prun": "write the statement without `%prun`",
    "%run": "import the other module instead, or paste its code into a cell",
    "%load": "paste the file's code into the cell instead",
    "%sx": "run the command with `subprocess.run` instead",
    "%system": "run the command with `subprocess.run` instead",
    "%sc": "run the command with `subprocess.run` instead",
    "%conda": "install the package from PyPI with `%pip install` instead",
    "%mamba": "install the package from PyPI with `%pip install` instead",
}
DEFAULT_MAGIC_ADVICE = (
    "line magics need IPython, which predictors run without; "
    "write it as plain Python if the line matters"
)
SYSTEM_PACKAGE_ADVICE = (
    "System packages are not supported: use a pip package that provides "
    "what you need, installed with `%pip install`"
)
SHELL_ADVICE = {
    "apt": SYSTEM_PACKAGE_ADVICE,
    "apt-get": SYSTEM_PACKAGE_ADVICE,
    "yum": SYSTEM_PACKAGE_ADVICE,
    "dnf": SYSTEM_PACKAGE_ADVICE,
    "apk": SYSTEM_PACKAGE_ADVICE,
    "brew": SYSTEM_PACKAGE_ADVICE,
    "conda": SYSTEM_PACKAGE_ADVICE,
    "sudo": SYSTEM_PACKAGE_ADVICE,
    "wget": "Download files in Python instead, with `urllib.request.urlretrieve`",
    "curl": "Download files in Python instead, with `urllib.request.urlretrieve`",
    "git": (
        "Install a repository with `%pip install git+https://…`, "
        "or download the files you need in Python"
    ),
    "cd": "Call `os.chdir` in Python instead",
}
PIP_ADVICE = "Install packages with `%pip install <package> …` instead"
DEFAULT_SHELL_ADVICE = "Write it in Python instead"


@dataclass(frozen=True)
class Source:
    """The module a predictor runs, and what came with it."""

    code: str
    card: str | None
    requirements: tuple[str, ...]
    warnings: tuple[str, ...]
    is_notebook: bool = False

    def locate(self, message: str, module: str) -> str:
        """``message`` with each "line L of MODULE" of a notebook's module told
        as the cell and line the author wrote: "cell N, line K"."""
        if not self.is_notebook:
            return message
        lines = self.code.split("\n")

        def in_cell(match: re.Match[str]) -> str:
            line = int(match.group(1))
            for index in range(min(line, len(lines)) - 1, -1, -1):
                if lines[index].startswith(CELL_MARK):
                    cell = lines[index].removeprefix(CELL_MARK)
                    return f"cell {cell}, line {line - index - 1}"
            return match.group(0)

        return re.sub(rf"line (\d+) of {re.escape(module)}\b", in_cell, message)


class SourceError(Exception):
    """An uploaded source that cannot become a module; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Cell:
    number: int
    kind: str
    text: str


@dataclass(frozen=True)
class Escape:
    """A ``%`` or ``!`` line of a cell, with the lines that continue it."""

    line_number: int
    lines: list[str]

    @property
    def command(self) -> str:
        parts = (line.strip().removesuffix("\\").strip() for line in self.lines)
        return " ".join(part for part in parts if part)

    def placeholder(self) -> list[str]:
        first = self.lines[0]
        indent = first[: len(first) - len(first.lstrip())]
        # An indented block must keep a statement, or it would not parse.
        comment = f"{indent}pass  # " if indent else "# "
        return [comment + shown(self.command)] + [""] * (len(self.lines) - 1)


@dataclass
class Translation:
    """One code cell as Python, and what its IPython lines asked for."""

    number: int
    lines: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return "\n".join(self.lines).rstrip("\n") + "\n"


def read_source(data: bytes, filename: str | None) -> Source:
    """Turn uploaded bytes into the module to run, or raise :class:`SourceError`.

    ``filename`` ending in ``.ipynb`` marks a notebook; so does content that is
    a JSON object with a ``cells`` list (or an ``nbformat`` field). Anything
    else is a Python file, whose code is used as it is.
    """
    text = decode(data)
    notebook = load_notebook(text, filename)
    if notebook is None:
        return Source(code=text, card=None, requirements=(), warnings=())

    return read_notebook(notebook)


def decode(data: bytes) -> str:
    # Editors on Windows often start UTF-8 files with a byte order mark.
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = body.decode()
    except UnicodeDecodeError as error:
        offset = len(data) - len(body) + error.start
        raise SourceError(
            f"The uploaded source is not UTF-8 text: byte 0x{body[error.start]:02x} "
            f"at offset {offset} is not valid UTF-8. Save the file as UTF-8 and "
            "upload it again."
        ) from None
    if not text.strip():
        raise SourceError(
            "The uploaded source is empty. Upload a Python file or a notebook "
            "that defines a function named `predict`."
        )

    return text


def load_notebook(text: str, filename: str | None) -> dict[str, Any] | None:
    """The notebook's JSON, or None when the text is a Python file."""
    is_named = filename is not None and filename.lower().endswith(NOTEBOOK_SUFFIX)
    # Only a JSON object can be a notebook; anything else is not worth parsing.
    if not is_named and not text.lstrip().startswith("{"):
        return None

    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        if not is_named:
            return None
        raise SourceError(
            f"The notebook is not valid JSON ({describe_json_error(error)}). "
            "Save it again from Jupyter and upload it."
        ) from None

    if not is_notebook(document):
        if not is_named:
            return None
        raise SourceError(
            "The file is named like a notebook but is not one: its JSON has no "
            "`cells` list. Save it again from Jupyter and upload it."
        )

    return check_format(document)


def describe_json_error(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"line {error.lineno}, column {error.colno}: {error.msg}"
    return "it is nested too deeply"


def is_notebook(document: object) -> bool:
    if not isinstance(document, dict):
        return False
    return isinstance(document.get("cells"), list) or "nbformat" in document


def check_format(document: dict[str, Any]) -> dict[str, Any]:
    version = document.get("nbformat")
    if version != 4:
        found = f"nbformat {version!r:.20}" if version is not None else "no nbformat"
        raise SourceError(
            f"The notebook has {found}; only nbformat 4 is supported. Open it in a "
            "current Jupyter (JupyterLab or Notebook 7) and save it, which "
            "converts it, then upload it again."
        )
    if not isinstance(document.get("cells"), list):
        raise SourceError(
            "The notebook has no `cells` list. Save it again from Jupyter and "
            "upload it."
        )

    return document


def read_notebook(document: dict[str, Any]) -> Source:
    cells = [
        read_cell(number, cell) for number, cell in enumerate(document["cells"], 1)
    ]
    code_cells = [cell for cell in cells if cell.kind == "code" and cell.text.strip()]
    translations: list[Translation] = []
    for index, cell in enumerate(code_cells):
        translations.append(translate_cell(cell))
        if defines_predict(parse(translations[-1].code)):
            skipped = len(code_cells) - index - 1
            return assemble(read_card(cells), translations, skipped)

    raise missing_predict(translations)


def read_cell(number: int, cell: object) -> Cell:
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
        raise SourceError(
            f"Cell {number} of the notebook is malformed: it has no `cell_type`. "
            "Save the notebook again from Jupyter and upload it."
        )
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise SourceError(
            f"Cell {number} of the notebook is malformed: its `source` is neither "
            "a string nor a list of strings. Save the notebook again from "
            "Jupyter and upload it."
        )

    return Cell(number=number, kind=cell["cell_type"], text=source)


def read_card(cells: list[Cell]) -> str | None:
    if not cells or cells[0].kind != "markdown":
        return None

    return cells[0].text.strip() or None


def assemble(card: str | None, translations: list[Translation], skipped: int) -> Source:
    code = "\n".join(f"{CELL_MARK}{part.number}\n{part.code}" for part in translations)
    requirements = dict.fromkeys(
        requirement for part in translations for requirement in part.requirements
    )
    warnings = [warning for part in translations for warning in part.warnings]
    if skipped:
        cells = "cell" if skipped == 1 else "cells"
        warnings.append(
            f"Skipped {skipped} code {cells} after cell {translations[-1].number}, "
            "which defines `predict`: cells after it do not run when the "
            "predictor is provisioned or serves predictions."
        )

    return Source(code, card, tuple(requirements), tuple(warnings), is_notebook=True)


def parse(code: str) -> ast.Module | str:
    """The code's syntax tree, or what keeps it from parsing."""
    try:
        return ast.parse(code)
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    except (ValueError, RecursionError) as error:
        # Null bytes, or nesting too deep for the parser.
        return str(error) or type(error).__name__


def defines_predict(tree: ast.Module | str) -> bool:
    if isinstance(tree, str):
        return False

    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name == "predict"
        for node in tree.body
    )


def missing_predict(translations: list[Translation]) -> SourceError:
    message = (
        "No code cell defines a top-level function named `predict`. Define it "
        "at the top level of a code cell (not inside a class or an `if`), for "
        "example `def predict(name: str) -> str:`."
    )
    # Point at the likeliest culprit: a cell that tries but does not parse.
    for part in translations:
        problem = parse(part.code) if "def predict" in part.code else None
        if isinstance(problem, str):
            return SourceError(
                f"{message} Cell {part.number} seems to define it but is not "
                f"valid Python ({problem})."
            )

    return SourceError(message)


def translate_cell(cell: Cell) -> Translation:
    translation = Translation(cell.number)
    for part in split_cell(cell.text):
        if isinstance(part, str):
            translation.lines.append(part)
            continue
        handle_escape(f"Cell {cell.number}, line {part.line_number}", part, translation)
        translation.lines.extend(part.placeholder())

    return translation


def split_cell(text: str) -> Iterator[str | Escape]:
    """The cell's lines, with its ``%`` and ``!`` lines gathered into escapes."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    scanner = Scanner()
    index = 0
    while index < len(lines):
        line = lines[index]
        if scanner.is_at_statement_start and line.lstrip().startswith(("%", "!")):
            end = index + 1
            while lines[end - 1].rstrip().endswith("\\") and end < len(lines):
                end += 1
            yield Escape(index + 1, lines[index:end])
            index = end
        else:
            scanner.feed(line)
            yield line
            index += 1


def handle_escape(where: str, escape: Escape, translation: Translation) -> None:
    command = escape.command
    if command.startswith("%%"):
        raise SourceError(
            f"{where}: `{shown(command)}` is a cell magic, which needs IPython; "
            "predictors run without it. Write the cell as plain Python instead."
        )

    match = PIP_INSTALL.fullmatch(command)
    if match is not None:
        arguments = match.group("arguments") or ""
        translation.requirements.extend(read_requirements(where, command, arguments))
    elif command.startswith("!"):
        raise shell_error(where, command)
    else:
        name = command.split(maxsplit=1)[0]
        if name in REFUSED_MAGICS:
            raise SourceError(
                f"{where}: `{shown(command)}` is an IPython magic, which predictors "
                f"run without, and leaving it out would change what the code does: "
                f"{REFUSED_MAGICS[name]}."
            )
        advice = MAGIC_ADVICE.get(name, DEFAULT_MAGIC_ADVICE)
        translation.warnings.append(f"{where}: ignored `{shown(command)}`: {advice}.")


def read_requirements(where: str, command: str, arguments: str) -> list[str]:
    requirements = []
    for word in shell_words(where, command, arguments):
        if word.startswith("#"):
            break
        if word.startswith("-"):
            check_option(where, command, word)
            continue
        check_requirement(where, command, word)
        requirements.append(word)
    if not requirements:
        raise SourceError(
            f"{where}: `{shown(command)}` names no package. Add the packages to "
            "install, or remove the line."
        )

    return requirements


def shell_words(where: str, command: str, arguments: str) -> list[str]:
    # `$` and backticks expand even inside double quotes, so refuse them anywhere.
    if "$" in arguments or "`" in arguments:
        raise metacharacter_error(where, command)
    lexer = shlex.shlex(arguments, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    # pip URLs carry `#egg=…`; a comment starts only at a word, handled above.
    lexer.commenters = ""
    try:
        words = list(lexer)
    except ValueError as error:
        raise SourceError(
            f"{where}: cannot read `{shown(command)}` ({error}). Quote each "
            'package on its own, for example `%pip install "torch>=2"`.'
        ) from None
    # Operators outside quotes come out as words made only of them.
    if any(set(word) <= SHELL_METACHARACTERS for word in words):
        raise metacharacter_error(where, command)

    return words


def check_option(where: str, command: str, option: str) -> None:
    if option in DROPPED_OPTIONS or SHORT_DROPPED_OPTIONS.fullmatch(option):
        return
    name = option.split("=", 1)[0] if option.startswith("--") else option[:2]
    if name in SOURCE_OPTIONS:
        raise SourceError(
            f"{where}: `{shown(command)}` uses `{name}`, which needs files or "
            "package indexes the server does not have. List the packages "
            "directly instead, for example `%pip install numpy pillow`."
        )
    raise SourceError(
        f"{where}: `{shown(command)}` uses the pip option `{option}`, which is "
        "not supported. Remove it; only -q/--quiet, -U/--upgrade, "
        "--no-cache-dir and --user are accepted, and they change nothing here."
    )


def check_requirement(where: str, command: str, word: str) -> None:
    if any(character in "$`;|&" for character in word):
        raise metacharacter_error(where, command)
    if not REQUIREMENT.fullmatch(word):
        raise SourceError(
            f"{where}: `{word}` in `{shown(command)}` is not a package "
            "requirement. Write each as pip does, for example `numpy`, "
            "`torch>=2.1`, `transformers[torch]==4.40` or `name @ https://…`."
        )


def metacharacter_error(where: str, command: str) -> SourceError:
    return SourceError(
        f"{where}: `{shown(command)}` uses shell syntax (; | & $ ` or an "
        "unquoted < or >), which is not run. List only packages, quoting any "
        'version range, for example `%pip install "numpy<2"`.'
    )


def shell_error(where: str, command: str) -> SourceError:
    words = command.removeprefix("!").split()
    program = words[0].rsplit("/", 1)[-1] if words else ""
    if any("pip" in word for word in words[:4]):
        advice = PIP_ADVICE
    else:
        advice = SHELL_ADVICE.get(program, DEFAULT_SHELL_ADVICE)

    return SourceError(
        f"{where}: `{shown(command)}` is a shell command, and predictors run "
        f"without a shell. {advice}."
    )


def shown(command: str) -> str:
    """The command as messages show it: short, and without %env values."""
    name, _, rest = command.partition(" ")
    if name in ("%env", "%set_env") and rest:
        return f"{name} …"
    if len(command) > SHOWN_LENGTH:
        return command[: SHOWN_LENGTH - 1] + "…"

    return command


class Scanner:
    """Follows a cell line by line to tell whether the next starts a statement.

    It knows just enough Python: strings (which may span lines), brackets,
    comments and backslash continuations.
    """

    def __init__(self) -> None:
        self.quote: str | None = None
        self.depth = 0
        self.continued = False

    @property
    def is_at_statement_start(self) -> bool:
        return self.quote is None and self.depth == 0 and not self.continued

    def feed(self, line: str) -> None:
        self.continued = False
        index = 0
        while index < len(line):
            character = line[index]
            if self.quote is not None:
                index = self.skip_in_string(line, index, self.quote)
            elif character == "#":
                break
            elif character in "'\"":
                triple = character * 3
                self.quote = triple if line.startswith(triple, index) else character
                index += len(self.quote)
            else:
                self.count_bracket(character)
                self.continued = character == "\\" and index == len(line) - 1
                index += 1
        # A one-line string left open is a syntax error; Python will say so.
        if self.quote in ("'", '"') and not self.continued:
            self.quote = None

    def skip_in_string(self, line: str, index: int, quote: str) -> int:
        if line[index] == "\\":
            self.continued = index == len(line) - 1
            return index + 2
        if line.startswith(quote, index):
            self.quote = None
            return index + len(quote)

        return index + 1

    def count_bracket(self, character: str) -> None:
        if character in "([{":
            self.depth += 1
        elif character in ")]}":
            self.depth = max(0, self.depth - 1)
