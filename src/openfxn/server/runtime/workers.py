"""Warm prediction workers: a pool per predictor, each worker in the sandbox.

A worker is a process running ``predictors/worker.py`` for one predictor of
one owner: it loads the module once and serves predictions one at a time over
the messages of ``predictors/messages.py``. A pool starts its first worker on
first use, starts more under load up to ``OPENFXN_WORKERS_PER_PREDICTOR``,
retires a worker after ``OPENFXN_WORKER_MAX_PREDICTIONS`` predictions or any
failure, and closes workers idle for ``OPENFXN_WORKER_IDLE_S``, down to none.

A prediction that outlives ``OPENFXN_PREDICTION_TIMEOUT_S``, or whose worker
dies (an exit, a signal, a flood of output), ends with an error saying which;
the worker is killed, tree and all, and the next prediction gets a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from openfxn.server.predictors import messages, shim
from openfxn.server.predictors.values import Raw
from openfxn.server.runtime import launch
from openfxn.server.runtime.launch import describe_exit
from openfxn.server.runtime.sandboxes import Sandbox, Unconfined

logger = logging.getLogger("openfxn.server")

STDERR_TAIL = 8 * 1024

OnPartial = Callable[[list[Raw]], Awaitable[None]]


class WorkerFailed(Exception):
    """A worker that could not start or died; the message is for the caller."""


@dataclass(frozen=True)
class Environment:
    """What starting a worker needs beyond the code: a Python and the secrets."""

    python: Path
    variables: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class Predictor:
    """What a worker needs to serve a predictor: its code and environment.

    The environment is read only when a worker starts, so that a prediction on
    a warm worker neither checks the Python environment nor decrypts secrets.
    """

    id: int
    version: str  # changes when the predictor is replaced
    module: Path
    environment: Callable[[], Awaitable[Environment]] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Limits:
    prediction_timeout_s: float
    load_timeout_s: float
    workers_per_predictor: int
    max_predictions: int
    idle_s: float
    concurrency: int = 1  # predictions one worker runs at once, in threads
    # One message holds a prediction's results in base64.
    output_bytes: int = 128 * 1024 * 1024


@dataclass
class Outcome:
    """How one prediction ended."""

    results: list[Raw] | None
    error: str | None
    latency_ms: float
    logs: str = ""
    cold_start_ms: float | None = None


class Inbox:
    """What one prediction's worker sent it, in order. Lighter than a queue
    with a timeout: one future, and one timer, only while it waits."""

    def __init__(self) -> None:
        self.messages: deque[messages.Message | WorkerFailed] = deque()
        self.waiter: asyncio.Future[bool] | None = None

    def put(self, message: messages.Message | WorkerFailed) -> None:
        self.messages.append(message)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(True)

    async def get(self, deadline_s: float) -> messages.Message | WorkerFailed | None:
        """The next message, or None when none came within ``deadline_s``."""
        if not self.messages:
            loop = asyncio.get_running_loop()
            self.waiter = waiter = loop.create_future()
            timer = loop.call_later(deadline_s, expire, waiter)
            try:
                if not await waiter:
                    return None
            finally:
                timer.cancel()
                self.waiter = None
        return self.messages.popleft()


def expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class Worker:
    """One worker process and the predictions in flight on it (up to its
    concurrency); a reader task hands each message to its prediction."""

    def __init__(
        self, launched: launch.Launched, scratch: Path, output_limit: int
    ) -> None:
        self.launched = launched
        self.output_limit = output_limit
        self.process = launched.process
        self.scratch = scratch
        self.served = 0
        self.healthy = True
        self.retiring = False  # takes no new prediction
        self.killed = False
        self.last_used = time.monotonic()
        self.stderr = bytearray()
        self.pending = bytearray()  # stdout read past the last whole message
        self.inboxes: dict[str, Inbox] = {}
        self.emptied: asyncio.Future[None] | None = None  # see ``unloaded``
        self.draining = asyncio.create_task(self.drain_stderr())
        self.reader: asyncio.Task[None] | None = None

    @property
    def load(self) -> int:
        return len(self.inboxes)

    @classmethod
    async def start(
        cls, predictor: Predictor, sandbox: Sandbox, scratch: Path, limits: Limits
    ) -> tuple[Worker, float]:
        """A worker with the module loaded, and how long starting it took (ms):
        the sandbox, the interpreter and the module's top-level code."""
        environment = await predictor.environment()
        concurrency = str(limits.concurrency)
        await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
        began = time.perf_counter()
        try:
            launched = await launch.spawn(
                environment.python,
                ["-I", shim.__file__, "serve", str(predictor.module), concurrency],
                sandbox=sandbox,
                readable=[Path(shim.__file__).parent, predictor.module],
                variables=environment.variables,
                workdir=scratch,
                stdin=asyncio.subprocess.PIPE,
            )
        except Unconfined as refusal:
            raise WorkerFailed(str(refusal)) from None
        started = cls(launched, scratch, limits.output_bytes)
        try:
            reply = await asyncio.wait_for(
                started.next_message("loading the predictor"), limits.load_timeout_s
            )
        except TimeoutError:
            reply = WorkerFailed(
                f"Loading the predictor took longer than {limits.load_timeout_s:.0f} "
                "s and was stopped."
            )
        if isinstance(reply, messages.Ready):
            started.reader = asyncio.create_task(started.read())
            return started, (time.perf_counter() - began) * 1000
        await started.close()
        if isinstance(reply, WorkerFailed):
            raise reply
        if isinstance(reply, messages.LoadFailed):
            raise WorkerFailed(f"The predictor did not load: {reply.error}")
        raise WorkerFailed("The predictor's worker did not report that it loaded.")

    async def predict(
        self,
        id: str,
        inputs: dict[str, Raw],
        deadline_s: float,
        on_partial: OnPartial | None = None,
    ) -> Outcome:
        self.served += 1
        self.last_used = time.monotonic()
        inbox = self.inboxes[id] = Inbox()
        try:
            await self.send(messages.Predict(id, inputs))
            while True:
                reply = await self.wait(inbox, deadline_s)
                if isinstance(reply, messages.Done):
                    return Outcome(
                        reply.results, reply.error, reply.latency_ms, reply.logs
                    )
                if isinstance(reply, messages.Partial) and on_partial is not None:
                    await on_partial(reply.results)
        except WorkerFailed as failure:
            await self.close()
            return Outcome(None, str(failure), 0.0)
        finally:
            del self.inboxes[id]
            emptied = self.emptied
            if not self.inboxes and emptied is not None and not emptied.done():
                emptied.set_result(None)
            self.last_used = time.monotonic()

    async def unloaded(self) -> None:
        """Return once no prediction is in flight."""
        if self.inboxes:
            if self.emptied is None or self.emptied.done():
                self.emptied = asyncio.get_running_loop().create_future()
            await asyncio.shield(self.emptied)

    async def send(self, message: messages.Predict) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(messages.encode(message))
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise WorkerFailed(await self.death("before the prediction")) from None

    async def wait(self, inbox: Inbox, deadline_s: float) -> messages.Message:
        """The prediction's next message; WorkerFailed if the worker fails or is
        too slow (which stops the worker, and so every prediction on it)."""
        reply = await inbox.get(deadline_s)
        if reply is None:
            raise WorkerFailed(
                f"The prediction took longer than {deadline_s:.0f} s and was stopped."
            )
        if isinstance(reply, WorkerFailed):
            raise reply
        return reply

    async def read(self) -> None:
        """Hand each message to its prediction until the worker fails; then
        hand that failure to every prediction still waiting."""
        while True:
            reply = await self.next_message("the prediction")
            if isinstance(reply, WorkerFailed):
                break
            inbox = self.inboxes.get(getattr(reply, "id", ""))
            if inbox is not None:  # else its prediction gave up waiting
                inbox.put(reply)
        self.healthy = False
        for inbox in self.inboxes.values():
            inbox.put(reply)

    async def next_message(self, during: str) -> messages.Message | WorkerFailed:
        """The worker's next message, or why there is none (the worker is then
        stopped)."""
        try:
            line = await self.read_until_newline()
            if line is None:
                return WorkerFailed(await self.death(f"during {during}"))
            header, size = messages.read_header(line)
            if len(line) + size > self.output_limit:
                raise OverflowError
            payload = await self.read_exactly(size)
            if payload is None:
                return WorkerFailed(await self.death(f"during {during}"))
            return messages.decode(header, payload)
        except OverflowError:
            await self.close()
            return WorkerFailed(
                f"The predictor sent more data during {during} than the server "
                f"accepts ({self.output_limit} bytes, OPENFXN_PREDICTION_OUTPUT_BYTES)."
            )
        except (ValueError, KeyError, TypeError):
            await self.close()
            return WorkerFailed(f"The worker sent a malformed message during {during}.")

    async def read_until_newline(self) -> bytes | None:
        """A message's header line, or None at the end; OverflowError past
        the output limit."""
        while (end := self.pending.find(b"\n")) < 0:
            if len(self.pending) > self.output_limit:
                raise OverflowError
            if not await self.read_more():
                return None
        line = bytes(self.pending[: end + 1])
        del self.pending[: end + 1]
        return line

    async def read_exactly(self, size: int) -> bytes | None:
        """The next ``size`` bytes, or None when the output ends first."""
        while len(self.pending) < size:
            if not await self.read_more():
                return None
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    async def read_more(self) -> bool:
        stream = self.process.stdout
        assert stream is not None
        chunk = await stream.read(1024 * 1024)
        self.pending += chunk
        return bool(chunk)

    async def death(self, when: str) -> str:
        """Why the worker ended, once it has."""
        out_of_memory = self.launched.is_out_of_memory()
        await self.close()
        status = self.process.returncode
        detail = self.stderr.decode(errors="replace").strip().splitlines()[-3:]
        said = f" Its last words: {' / '.join(detail)}" if detail else ""
        if out_of_memory:
            return (
                f"The predictor's process ran out of memory {when} and was killed; "
                f"the server's OPENFXN_PREDICTOR_MEMORY_BYTES sets the limit.{said}"
            )
        return f"The predictor's process {describe_exit(status)} {when}.{said}"

    async def drain_stderr(self) -> None:
        """Keep the tail of what the worker wrote outside a prediction's capture."""
        stream = self.process.stderr
        assert stream is not None
        while chunk := await stream.read(65536):
            self.stderr += chunk
            del self.stderr[:-STDERR_TAIL]

    async def close(self) -> None:
        """Kill the worker and everything it started, then reap it."""
        self.healthy = False
        if self.killed:  # by another caller: the predictions on it all close it
            await self.process.wait()
        else:
            self.killed = True
            # The process leads its group, so this kills it too. Not Process.kill:
            # it polls first, reaping an exited process under asyncio's watcher,
            # which then reports exit status 255 instead of the real one.
            self.launched.kill()
            await self.process.wait()
            self.launched.release()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.draining, 1.0)
        if self.reader is not None and self.reader is not asyncio.current_task():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.reader), 1.0)


class Pool:
    """The workers of one predictor: up to ``workers_per_predictor`` of them,
    each running up to ``concurrency`` predictions at once."""

    def __init__(
        self, predictor: Predictor, sandbox: Sandbox, root: Path, limits: Limits
    ) -> None:
        self.predictor = predictor
        self.sandbox = sandbox
        self.root = root
        self.limits = limits
        self.workers: list[Worker] = []
        self.slots = asyncio.Semaphore(
            limits.workers_per_predictor * limits.concurrency
        )
        self.starting = asyncio.Lock()
        self.started = 0
        self.chores: set[asyncio.Task[None]] = set()

    async def predict(
        self, id: str, inputs: dict[str, Raw], on_partial: OnPartial | None = None
    ) -> Outcome:
        async with self.slots:
            try:
                worker_, cold_start = await self.take()
            except WorkerFailed as failure:
                return Outcome(None, str(failure), 0.0)
            try:
                outcome = await worker_.predict(
                    id, inputs, self.limits.prediction_timeout_s, on_partial
                )
            except BaseException:  # cancelled mid-prediction: the worker is busy
                if self.limits.concurrency == 1:
                    await asyncio.shield(worker_.close())
                self.retire(worker_, replace=False)
                raise
            outcome.cold_start_ms = cold_start
            if not worker_.healthy:
                self.forget(worker_)
            elif worker_.served >= self.limits.max_predictions:
                self.retire(worker_, replace=True)
            return outcome

    async def take(self) -> tuple[Worker, float | None]:
        """The worker with the most room, started (with its cold start in ms)
        when none has room; at most one starts at a time."""
        if (ready := self.roomiest()) is not None:
            return ready, None
        async with self.starting:
            if (ready := self.roomiest()) is not None:
                return ready, None
            worker_, cold_start = await self.start()
            self.workers.append(worker_)
            return worker_, cold_start

    def roomiest(self) -> Worker | None:
        open_ = [
            worker_
            for worker_ in self.workers
            if worker_.healthy
            and not worker_.retiring
            and worker_.load < self.limits.concurrency
        ]
        return min(open_, key=lambda worker_: worker_.load, default=None)

    async def start(self) -> tuple[Worker, float]:
        self.started += 1
        scratch = self.root / f"worker-{self.started}"
        return await Worker.start(self.predictor, self.sandbox, scratch, self.limits)

    def retire(self, worker_: Worker, replace: bool) -> None:
        """Take ``worker_`` out of service, closing it once its predictions
        end; with ``replace``, start its successor first, away from any
        request."""
        if worker_.retiring:
            return
        worker_.retiring = True
        self.chore(self.succeed(worker_, replace))

    async def succeed(self, worker_: Worker, replace: bool) -> None:
        if replace:
            async with self.starting:
                try:
                    successor, _ = await self.start()
                except WorkerFailed as failure:
                    logger.warning("a replacement worker did not start: %s", failure)
                else:
                    self.workers.append(successor)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.limits.prediction_timeout_s):
                await worker_.unloaded()
        await worker_.close()
        self.forget(worker_)

    def forget(self, worker_: Worker) -> None:
        if worker_ in self.workers:
            self.workers.remove(worker_)

    def chore(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.chores.add(task)
        task.add_done_callback(self.chores.discard)

    async def close_idle(self, older_than: float) -> None:
        now = time.monotonic()
        for worker_ in list(self.workers):
            if not worker_.load and now - worker_.last_used >= older_than:
                self.workers.remove(worker_)
                await worker_.close()

    async def close(self) -> None:
        await asyncio.gather(*self.chores, return_exceptions=True)
        workers_, self.workers = self.workers, []
        await asyncio.gather(*(worker_.close() for worker_ in workers_))


class Workers:
    """Every pool of the server, keyed by predictor and version."""

    def __init__(self, sandbox: Sandbox, root: Path, limits: Limits) -> None:
        self.sandbox = sandbox
        self.root = root
        self.limits = limits
        self.pools: dict[tuple[int, str], Pool] = {}
        self.reaper: asyncio.Task[None] | None = None

    def pool(self, predictor: Predictor) -> Pool:
        key = (predictor.id, predictor.version)
        if key not in self.pools:
            self.drop_other_versions(predictor.id)
            root = self.root / str(predictor.id)
            self.pools[key] = Pool(predictor, self.sandbox, root, self.limits)
        if self.reaper is None:
            self.reaper = asyncio.get_running_loop().create_task(self.reap())
        return self.pools[key]

    def drop_other_versions(self, predictor_id: int) -> None:
        for key in [key for key in self.pools if key[0] == predictor_id]:
            pool = self.pools.pop(key)
            asyncio.get_running_loop().create_task(pool.close())

    async def reap(self) -> None:
        """Close idle workers now and then: idle predictors scale to zero."""
        while True:
            await asyncio.sleep(max(1.0, self.limits.idle_s / 4))
            for pool in list(self.pools.values()):
                await pool.close_idle(self.limits.idle_s)

    async def stop(self) -> None:
        if self.reaper is not None:
            self.reaper.cancel()
        pools, self.pools = list(self.pools.values()), {}
        await asyncio.gather(*(pool.close() for pool in pools))
