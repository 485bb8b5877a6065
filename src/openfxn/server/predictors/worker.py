"""A warm prediction worker: load a predictor once, then serve its predictions.

Started by ``shim.py``, with the predictor environment's Python, inside the
sandbox::

    python -I shim.py serve MODULE_PATH [CONCURRENCY]

It loads the module as provisioning does (``shim.py``), reports ``Ready`` with
the time that took, then reads ``Predict`` messages from stdin and answers
each with ``Partial`` messages (a generator's yields) and one ``Done``. See
``messages.py``. ``latency_ms`` covers the call of ``predict`` (and the
iteration of what it yields) only, never the loading. What the predictor
prints during a prediction is that prediction's ``logs``, capped; when
``predict`` raises, ``error`` holds the exception and the traceback of the
predictor's own frames, and the worker goes on to the next prediction.

With a CONCURRENCY above 1, predictions run in that many threads, their
replies interleaved (each names its prediction). What a thread prints goes to
the logs of the prediction it runs; what other threads print goes to the logs
of the prediction running at the time if there is exactly one, else to stderr.
"""

from __future__ import annotations

import inspect
import io
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TextIO

LOG_LIMIT = 64 * 1024


class CappedLog(io.StringIO):
    """What a prediction printed, up to LOG_LIMIT characters."""

    def write(self, text: str) -> int:
        room = LOG_LIMIT - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


class Logs(io.TextIOBase):
    """Stands in for stdout and stderr: writes go to the log of the prediction
    the writing thread runs, else to the only prediction running, else to
    ``fallback``."""

    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback
        self.local = threading.local()
        self.running: set[CappedLog] = set()
        self.lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        log = getattr(self.local, "log", None)
        if log is None and len(self.running) == 1:
            log = next(iter(self.running), None)
        return (log or self.fallback).write(text)

    def flush(self) -> None:
        self.fallback.flush()

    @contextmanager
    def capture(self) -> Iterator[CappedLog]:
        log = CappedLog()
        self.local.log = log
        with self.lock:
            self.running.add(log)
        try:
            yield log
        finally:
            with self.lock:
                self.running.discard(log)
            self.local.log = None


def main(argv: list[str]) -> int:
    from . import messages, shim

    channel = os.fdopen(shim.divert_stdout(), "wb", buffering=0)
    concurrency = int(argv[1]) if len(argv) > 1 else 1

    started = time.perf_counter()
    try:
        predict = shim.find_predict(shim.load_predictor(Path(argv[0])))
    except shim.PredictorError as error:
        send(channel, messages.LoadFailed(str(error)))
        return 0
    send(channel, messages.Ready((time.perf_counter() - started) * 1000))

    logs = Logs(sys.__stderr__ or sys.stderr)
    sys.stdout = sys.stderr = logs
    sending = threading.Lock()
    scratch = Path.cwd()  # where values become files, as absolute paths

    def answer(request: messages.Predict) -> None:
        for reply in serve(predict, request, scratch, logs):
            encoded = messages.encode(reply)
            with sending:
                channel.write(encoded)

    stdin = sys.stdin.buffer
    with ThreadPoolExecutor(concurrency, "predict") as threads:
        while line := stdin.readline():
            header, size = messages.read_header(line)
            request = messages.decode(header, stdin.read(size))
            if not isinstance(request, messages.Predict):
                continue
            if concurrency == 1:
                answer(request)
            else:
                threads.submit(answer, request)
    return 0


def send(channel: BinaryIO, message: Any) -> None:
    from . import messages

    channel.write(messages.encode(message))


def serve(
    predict: Callable[..., Any], request: Any, scratch: Path, logs: Logs
) -> Iterator[Any]:
    """The replies to one Predict: Partials while a generator yields, then Done."""
    from . import messages, values

    latency = 0.0
    results: list[Any] | None = None
    with logs.capture() as log:
        try:
            inputs = {
                name: values.to_object(raw, scratch)
                for name, raw in request.inputs.items()
            }
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
            error_text = describe(error)
            yield messages.Done(request.id, None, error_text, latency, log.getvalue())
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
