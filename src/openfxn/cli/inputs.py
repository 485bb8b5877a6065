"""``openfxn predict``'s inputs: ``--name value`` pairs, each made the type
the predictor's signature gives it.

========================  ===================================================
signature type            the value on the command line
========================  ===================================================
``string``                the text as it is (``@`` included)
``int8`` ... ``uint64``   a whole number: ``42``, ``-7``
``float16`` ... ``64``    a number: ``0.5``, ``1e-3``
``bool``                  ``true`` or ``false`` (``--flag`` alone is true)
``list``, ``dict``        JSON: ``'[1, 2]'``, ``'{"k": "v"}'``
``image``, ``binary``...  a file, ``@cat.jpg`` (the ``@`` may be left out)
none (untyped)            ``@path`` a file; ``true``/``false``; a number;
                          JSON when it starts with ``[`` or ``{``; else text
========================  ===================================================

A name may be written with dashes for underscores (``--first-name``), and a
value joined to it with ``=`` (``--text=--not-an-option``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openfxn import Parameter, Signature
from openfxn.cli.errors import UsageProblem

TRUE = frozenset({"true", "yes", "1"})
FALSE = frozenset({"false", "no", "0"})
FILE_TYPES = frozenset({"image", "video", "audio", "model", "binary"})


def parse(arguments: Sequence[str], signature: Signature | None) -> dict[str, Any]:
    """The inputs that ``arguments`` (``--name value ...``) give, by name."""
    parameters = {p.name: p for p in signature.inputs if p.name} if signature else {}
    inputs: dict[str, Any] = {}
    remaining = list(arguments)
    while remaining:
        word = remaining.pop(0)
        if not word.startswith("--") or word == "--":
            raise UsageProblem(
                f"'{word}' has no name: give each input as --name value."
            )
        name, equals, text = word[2:].partition("=")
        parameter = find(name, parameters, signature)
        if not equals:
            if remaining and not remaining[0].startswith("--"):
                text = remaining.pop(0)
            elif parameter.type == "bool":
                text = "true"
            else:
                raise UsageProblem(f"--{name} needs a value: --{name} VALUE.")
        inputs[parameter.name or name] = coerce(text, parameter)
    check_required(inputs, parameters)
    return inputs


def find(
    name: str, parameters: dict[str, Parameter], signature: Signature | None
) -> Parameter:
    """The parameter ``--name`` names; an untyped one when there is no signature."""
    for candidate in (name, name.replace("-", "_")):
        if candidate in parameters:
            return parameters[candidate]
    if signature is None:
        return Parameter(name=name.replace("-", "_"))
    known = ", ".join(f"--{known}" for known in parameters) or "none"
    raise UsageProblem(f"There is no input --{name}. The predictor's inputs: {known}.")


def check_required(inputs: dict[str, Any], parameters: dict[str, Parameter]) -> None:
    missing = [
        f"--{name}"
        for name, parameter in parameters.items()
        if name not in inputs and not parameter.optional
    ]
    if missing:
        raise UsageProblem(f"Missing input {', '.join(missing)}.")


def coerce(text: str, parameter: Parameter) -> Any:
    """``text`` as the type of ``parameter``; guessed when it has none."""
    kind = parameter.type
    if kind is None:
        return guess(text)
    if kind == "string":
        return text
    if kind in FILE_TYPES:
        return existing_file(text.removeprefix("@"), parameter)
    for prefix, (read, description) in READERS.items():
        if kind.startswith(prefix):
            try:
                return read(text)
            except ValueError:
                raise UsageProblem(
                    f"--{parameter.name} takes {description}, not '{text}'."
                ) from None
    return guess(text)


def boolean(text: str) -> bool:
    if text.lower() in TRUE | FALSE:
        return text.lower() in TRUE
    raise ValueError(text)


def json_of(kind: type) -> Callable[[str], Any]:
    def read(text: str) -> Any:
        value = json.loads(text)
        if not isinstance(value, kind):
            raise ValueError(text)
        return value

    return read


READERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "int": (int, "a whole number"),
    "uint": (int, "a whole number"),
    "float": (float, "a number"),
    "bool": (boolean, "true or false"),
    "list": (json_of(list), "a JSON list, like '[1, 2]'"),
    "dict": (json_of(dict), """a JSON object, like '{"key": "value"}'"""),
}


def guess(text: str) -> Any:
    """An untyped input: a file, a bool, a number, JSON, or else the text."""
    if text.startswith("@"):
        return existing_file(text[1:], Parameter())
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for read in (int, float):
        try:
            return read(text)
        except ValueError:
            pass
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def existing_file(path: str, parameter: Parameter) -> Path:
    file = Path(path).expanduser()
    if not file.is_file():
        which = f"--{parameter.name} takes a file" if parameter.name else "A file"
        raise UsageProblem(f"{which}, and there is no file '{path}'.")
    return file
