"""The entry point of every process that runs a predictor's code.

Run as a script with the environment's Python::

    python -I shim.py provision MODULE_PATH    load it once, report its signature
    python -I shim.py serve MODULE_PATH        a warm worker: see ``worker.py``

Either way it first applies the sandbox's own layers (``confinement.py``). To
provision, it runs the module's top-level code under the module name
``predictor``, as provisioning must (a model loaded there is part of the
predictor), finds ``predict``, and writes exactly one line of JSON to stdout,
either::

    {"ok": true, "signature": {...}, "warnings": [...], "isGenerator": false}
    {"ok": false, "error": "..."}

The error is written for the predictor's author: what failed, where in their
file, and what to do about it. Whatever the predictor writes to stdout, from
Python or from native code, goes to stderr instead, so the line stays intact.
The exit status is 0 whether or not the predictor loads: only a failure of the
shim itself exits otherwise. A predictor that ends the process with
``os._exit`` while loading leaves no line.

Like the files beside it, this one uses the standard library only. It loads
them as a package under a private name (``PACKAGE``) rather than putting this
directory on ``sys.path``, where they would shadow the predictor's own imports
of the same names.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import os
import reprlib
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

MODULE_NAME = "predictor"
PACKAGE = "_openfxn_sandbox"
COMMANDS = {"provision": (2,), "serve": (2, 3)}  # the lengths of argv each takes
USAGE = (
    "usage: python -I shim.py provision MODULE_PATH | serve MODULE_PATH [CONCURRENCY]"
)

# Import names whose distributions on PyPI are named otherwise.
DISTRIBUTIONS = {
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python",
    "docx": "python-docx",
    "dotenv": "python-dotenv",
    "fitz": "pymupdf",
    "PIL": "pillow",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
}

InferSignature = Callable[[Callable[..., Any]], tuple[dict[str, Any], list[str]]]


class PredictorError(Exception):
    """The predictor cannot be provisioned; the message is for its author."""


def main(argv: list[str]) -> int:
    """Run the command in ``argv`` (without the program name); return the status."""
    if not argv or len(argv) not in COMMANDS.get(argv[0], ()):
        print(USAGE, file=sys.stderr)
        return 2
    load_package(Path(__file__).resolve().parent)
    importlib.import_module(f"{PACKAGE}.confinement").apply_or_exit()
    if argv[0] == "serve":
        worker = importlib.import_module(f"{PACKAGE}.worker")
        status: int = worker.main(argv[1:])
        return status

    result_fd = divert_stdout()
    result = provision(Path(argv[1]))
    with os.fdopen(result_fd, "w", encoding="utf-8") as result_file:
        result_file.write(json.dumps(result) + "\n")

    return 0


def divert_stdout() -> int:
    """Send everything written to stdout to stderr; return the real stdout's fd."""
    sys.stdout.flush()
    result_fd = os.dup(1)
    # At the file descriptor level, so that native code and child processes
    # cannot write into the result either.
    os.dup2(2, 1)
    return result_fd


def provision(path: Path) -> dict[str, Any]:
    """Load the predictor at ``path`` and describe it, or say why it cannot load."""
    infer_signature = load_infer_signature()
    try:
        predict = find_predict(load_predictor(path))
    except PredictorError as error:
        return {"ok": False, "error": str(error)}

    signature, warnings = infer_signature(predict)
    return {
        "ok": True,
        "signature": signature,
        "warnings": warnings,
        "isGenerator": is_generator(predict),
    }


def load_package(directory: Path) -> None:
    """Make the files of ``directory`` importable as the package PACKAGE."""
    spec = importlib.util.spec_from_file_location(
        PACKAGE, directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)


def load_infer_signature() -> InferSignature:
    if PACKAGE not in sys.modules:  # imported by the server's tests, not run
        load_package(Path(__file__).resolve().parent)
    module = importlib.import_module(f"{PACKAGE}.signatures")
    infer_signature: InferSignature = module.infer_signature
    return infer_signature


def load_predictor(path: Path) -> ModuleType:
    """Run the predictor's module-level code, as the module ``predictor``."""
    path = path.resolve()
    if not path.is_file():
        raise PredictorError(f"There is no predictor file at {path}.")
    try:
        return _execute(MODULE_NAME, path)
    except BaseException as error:  # the author's to fix: explained, not raised
        raise PredictorError(explain(error, path)) from None


def _execute(name: str, path: Path) -> ModuleType:
    # An explicit loader accepts any file name, not only *.py.
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None:
        raise ImportError(f"cannot load {path} as a module")
    module = importlib.util.module_from_spec(spec)
    # Registered first: dataclasses and pydantic look the module up while the
    # module's own classes are being built.
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def find_predict(module: ModuleType) -> Callable[..., Any]:
    """The module's ``predict``, or a PredictorError saying what is wrong with it."""
    # vars(), not getattr(): a module-level __getattr__ must not invent one.
    namespace = vars(module)
    if "predict" not in namespace:
        raise PredictorError(no_predict_message(namespace))
    predict = namespace["predict"]
    if not callable(predict):
        raise PredictorError(not_callable_message(predict))
    return predict  # type: ignore[no-any-return]


def no_predict_message(namespace: dict[str, Any]) -> str:
    message = (
        "The predictor defines no function named `predict`. "
        "Define `def predict(...)` at the top level."
    )
    functions = [
        name
        for name, value in namespace.items()
        if inspect.isfunction(value) and value.__module__ == MODULE_NAME
    ]
    close = difflib.get_close_matches("predict", functions, n=1, cutoff=0.6)
    if close:
        message += f" It defines `{close[0]}`: is that the one to rename?"
    return message


def not_callable_message(predict: Any) -> str:
    kind = type(predict)
    if kind.__module__ == MODULE_NAME:
        return (
            f"`predict` is an instance of `{kind.__name__}`, which has no "
            "`__call__` method, so it cannot be called. Define "
            f"`def predict(...)` at the top level, or give `{kind.__name__}` a "
            "`__call__` method."
        )
    return (
        f"`predict` is a `{kind.__name__}` ({reprlib.repr(predict)}), not a "
        "function. Define `def predict(...)` at the top level."
    )


def is_generator(predict: Callable[..., Any]) -> bool:
    """Whether ``predict`` yields its results one by one."""
    if inspect.isgeneratorfunction(predict):
        return True
    call = inspect.getattr_static(type(predict), "__call__", None)  # an instance
    return call is not None and inspect.isgeneratorfunction(call)


# ---------- explaining a failure to load ----------


def explain(error: BaseException, path: Path) -> str:
    """A message for the author about ``error``, raised by the module at ``path``."""
    if isinstance(error, SyntaxError) and error.filename == str(path):
        return explain_syntax_error(error, path)
    if isinstance(error, ModuleNotFoundError) and error.name:
        return explain_missing_module(error, error.name, path)
    if isinstance(error, SystemExit):
        return explain_exit(error, path)
    return explain_exception(error, path)


def explain_syntax_error(error: SyntaxError, path: Path) -> str:
    where = f"line {error.lineno} of {path.name}" if error.lineno else path.name
    message = f"{type(error).__name__} at {where}: {error.msg}."
    text = (error.text or "").rstrip()
    if text.strip():
        message += "\n    " + text.strip()
        caret = _caret_column(text, error.offset)
        if caret is not None:
            message += "\n    " + " " * caret + "^"
    return message


def _caret_column(text: str, offset: int | None) -> int | None:
    # The offset counts from 1 in the unstripped line, which is shown stripped.
    column = (offset or 0) - 1 - (len(text) - len(text.lstrip()))
    return column if 0 <= column <= len(text.strip()) else None


def explain_missing_module(error: ImportError, module: str, path: Path) -> str:
    top = module.partition(".")[0]
    distribution = DISTRIBUTIONS.get(top, top)
    parent, _, child = module.rpartition(".")
    # The parent imported, so it is installed: installing it again would not
    # help, as the part that is missing is not in the installed version.
    if parent in sys.modules:
        return (
            f"The predictor imports `{module}`, but `{parent}` has no module "
            f"`{child}`{_location(error, path)}. Check the name, or require a "
            f"version of `{distribution}` that has it."
        )
    return (
        f"The predictor needs the module `{module}`, which is not installed"
        f"{_location(error, path)}. Add `{distribution}` to the predictor's "
        f"requirements, or install it from the notebook with "
        f"`%pip install {distribution}`."
    )


def explain_exit(error: SystemExit, path: Path) -> str:
    code = 0 if error.code is None else error.code
    outcome = (
        f"with status {code}" if isinstance(code, int) else f"with the message {code!r}"
    )
    return (
        f"The predictor's module-level code exited {outcome}"
        f"{_location(error, path)}. That code runs when the predictor is "
        "provisioned and each time it starts, so it must not exit: raise an "
        "exception to report a problem instead."
    )


def explain_exception(error: BaseException, path: Path) -> str:
    summary = "".join(traceback.format_exception_only(type(error), error)).strip()
    lines = [f"The predictor failed while loading: {summary}"]
    for frame in _frames_in(error, path):
        place = "at module level" if frame.name == "<module>" else f"in {frame.name}"
        lines.append(f"  line {frame.lineno} of {path.name}, {place}: {frame.line}")
    return "\n".join(lines)


def _frames_in(error: BaseException, path: Path) -> list[traceback.FrameSummary]:
    """The traceback frames of ``error`` in the predictor's file, outermost first."""
    frames = traceback.extract_tb(error.__traceback__)
    return [frame for frame in frames if frame.filename == str(path)]


def _location(error: BaseException, path: Path) -> str:
    frames = _frames_in(error, path)
    if not frames:
        return ""
    frame = frames[-1]
    return f" (line {frame.lineno} of {path.name}: `{frame.line}`)"


if __name__ == "__main__":
    status = main(sys.argv[1:])
    # -I ignores PYTHONUNBUFFERED: what the predictor printed is still buffered.
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: threads the predictor started must not keep provisioning alive.
    os._exit(status)
