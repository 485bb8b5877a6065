"""A warm prediction worker: load a predictor once, then serve its predictions.

Run with the predictor environment's Python, inside the sandbox::

    python -I worker.py MODULE_PATH

It loads the module as provisioning does (``shim.py``), reports ``Ready`` with
the time that took, then reads ``Predict`` messages from stdin and answers
each with ``Partial`` messages (a generator's yields) and one ``Done``. See
``messages.py``. ``latency_ms`` covers the call of ``predict`` (and the
iteration of what it yields) only, never the loading. What the predictor
prints during a prediction is that prediction's ``logs``, capped; when
``predict`` raises, ``error`` holds the exception and the traceback of the
predictor's own frames, and the worker goes on to the next prediction.

The files beside this one import each other as a private package, loaded by
path, so that their names cannot shadow the predictor's own imports.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, BinaryIO

PACKAGE = "_openfxn_sandbox"
LOG_LIMIT = 64 * 1024
USAGE = "usage: python -I worker.py MODULE_PATH"


class CappedLog(io.StringIO):
    """What a prediction printed, up to LOG_LIMIT characters."""

    def write(self, text: str) -> int:
        room = LOG_LIMIT - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


def main(argv: list[str]) -> int:
    from . import confinement, messages, shim

    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    confinement.apply_or_exit()
    channel = os.fdopen(shim.divert_stdout(), "wb", buffering=0)

    started = time.perf_counter()
    try:
        predict = shim.find_predict(shim.load_predictor(Path(argv[0])))
    except shim.PredictorError as error:
        send(channel, messages.LoadFailed(str(error)))
        return 0
    send(channel, messages.Ready((time.perf_counter() - started) * 1000))

    scratch = Path.cwd()
    for line in sys.stdin.buffer:
        request = messages.decode(line)
        if isinstance(request, messages.Predict):
            for reply in serve(predict, request, scratch):
                send(channel, reply)
    return 0


def send(channel: BinaryIO, message: Any) -> None:
    from . import messages

    channel.write(messages.encode(message))


def serve(predict: Callable[..., Any], request: Any, scratch: Path) -> Iterator[Any]:
    """The replies to one Predict: Partials while a generator yields, then Done."""
    from . import messages, values

    log = CappedLog()
    latency = 0.0
    results: list[Any] | None = None
    try:
        inputs = {
            name: values.to_object(raw, scratch) for name, raw in request.inputs.items()
        }
        with redirect_stdout(log), redirect_stderr(log):
            started = time.perf_counter()
            try:
                returned = predict(**inputs)
                if not inspect.isgenerator(returned):
                    results = to_results(returned, scratch)
                else:
                    for partial in returned:
                        results = to_results(partial, scratch)
                        yield messages.Partial(request.id, results)
            finally:
                latency = (time.perf_counter() - started) * 1000
    except Exception as error:
        yield messages.Done(request.id, None, describe(error), latency, log.getvalue())
        return
    yield messages.Done(request.id, results or [], None, latency, log.getvalue())


def to_results(returned: Any, scratch: Path) -> list[Any]:
    """A tuple is several results; anything else is one."""
    from . import values

    items = returned if isinstance(returned, tuple) else (returned,)
    return [values.from_object(item, scratch) for item in items]


def describe(error: BaseException) -> str:
    """The exception and its traceback, without this file's own frames."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if frame.filename != __file__]
    lines = traceback.format_list(own) if own else []
    summary = "".join(traceback.format_exception_only(type(error), error))
    return ("Traceback (most recent call last):\n" + "".join(lines) + summary).strip()


def load_package(directory: Path) -> None:
    """Make the files of ``directory`` importable as the package PACKAGE."""
    spec = importlib.util.spec_from_file_location(
        PACKAGE, directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)


if __name__ == "__main__":
    load_package(Path(__file__).resolve().parent)
    worker = importlib.import_module(f"{PACKAGE}.worker")
    status = worker.main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # threads the predictor started must not keep it alive
