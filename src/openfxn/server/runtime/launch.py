"""Running a predictor's code in a process of its own.

This is the one place that starts user code. It runs in the sandbox (see
``sandboxes.py``), with an environment holding only what the predictor may see,
in its own process group and control group (killed whole when it ends or times
out), with output capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openfxn.server.runtime.cgroups import Cgroup
from openfxn.server.runtime.sandboxes import Sandbox, Unconfined

OUTPUT_LIMIT = 1024 * 1024
# Joins the control groups named before "--", then becomes the command after it,
# so that the code is in them from its first instruction.
JOIN = (
    'while [ "$1" != -- ]; do echo $$ > "$1" || exit 111; shift; done; shift; exec "$@"'
)


@dataclass
class Launched:
    """A started process of a predictor's code, and its control group."""

    process: asyncio.subprocess.Process
    cgroup: Cgroup | None

    def kill(self) -> None:
        """Kill it and everything it started, those that left its group too."""
        kill_group(self.process.pid)
        if self.cgroup is not None:
            self.cgroup.kill()

    def is_out_of_memory(self) -> bool:
        return self.cgroup is not None and self.cgroup.is_out_of_memory()

    def release(self) -> None:
        """Kill what is left, and remove the control group."""
        self.kill()
        if self.cgroup is not None:
            self.cgroup.remove()


@dataclass(frozen=True)
class Completed:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool


def base_environment(home: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": str(home),
    }


async def spawn(
    python: Path,
    arguments: list[str],
    *,
    sandbox: Sandbox,
    readable: Sequence[Path],
    variables: dict[str, str],
    workdir: Path,
    stdin: int = asyncio.subprocess.DEVNULL,
) -> Launched:
    """Start ``python arguments`` confined, in an empty ``workdir``, with the
    predictor's variables; the code sees its environment and ``readable``.

    The process leads a process group of its own, in a control group of its
    own where the machine allows: end it with ``Launched.release``. Raises
    Unconfined where the sandbox may not run code at all.
    """
    refusal = sandbox.refusal()
    if refusal is not None:
        raise Unconfined(refusal)
    seen = [python.parent.parent, *readable]  # DIR/bin/python: its environment
    command = sandbox.wrap([str(python), *arguments], readable=seen, workdir=workdir)
    cgroup = None
    if sandbox.cgroups is not None:
        cgroup = await asyncio.to_thread(sandbox.cgroups.create, uuid.uuid4().hex)
        procs = [str(path) for path in cgroup.procs]
        command = ["/bin/sh", "-c", JOIN, "sh", *procs, "--", *command]
    environment = {
        **variables,
        **base_environment(workdir),
        **sandbox.environment(readable=seen, workdir=workdir),
    }
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=stdin,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=workdir,
            env=environment,
            start_new_session=True,
            limit=OUTPUT_LIMIT,
        )
    except BaseException:
        if cgroup is not None:
            cgroup.remove()
        raise
    return Launched(process, cgroup)


async def run(
    python: Path,
    arguments: list[str],
    *,
    sandbox: Sandbox,
    readable: Sequence[Path],
    variables: dict[str, str],
    workdir: Path,
    time_limit: float,
) -> Completed:
    """Run ``python arguments`` as ``spawn`` starts it, to its end or
    ``time_limit``, and collect its capped output."""
    launched = await spawn(
        python,
        arguments,
        sandbox=sandbox,
        readable=readable,
        variables=variables,
        workdir=workdir,
    )
    process = launched.process
    reading = asyncio.gather(capped(process.stdout), capped(process.stderr))
    try:
        stdout, stderr = await asyncio.wait_for(asyncio.shield(reading), time_limit)
        timed_out = False
    except TimeoutError:
        timed_out = True
    except asyncio.CancelledError:  # the server is stopping: take the code down too
        launched.release()
        await asyncio.shield(process.wait())
        reading.cancel()
        raise
    launched.kill()  # always: nothing the code started may outlive it
    await process.wait()
    if timed_out:
        try:  # a process that left the group may still hold the pipes open
            stdout, stderr = await asyncio.wait_for(reading, 1.0)
        except TimeoutError:
            stdout, stderr = "", ""
    launched.release()
    return Completed(process.returncode, stdout, stderr, timed_out)


async def capped(stream: asyncio.StreamReader | None) -> str:
    """Read a stream to its end, keeping at most OUTPUT_LIMIT bytes."""
    assert stream is not None
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk[: max(0, OUTPUT_LIMIT - len(kept))]
    return kept.decode(errors="replace")


def reap_leftovers(sandbox: Sandbox, data: Path) -> int:
    """Kill what a server on ``data`` that was itself killed left running:
    its control groups, and any process still naming a predictor's files."""
    reaped = sandbox.cgroups.reap() if sandbox.cgroups is not None else 0
    marks = [f"{data.resolve()}/{name}/".encode() for name in ("workers", "predictors")]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(mark in command for mark in marks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
                reaped += 1
    return reaped


def kill_group(pid: int) -> None:
    """Kill the whole process group: children the code started die with it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def describe_exit(status: int | None) -> str:
    if status is None:
        return "stopped"
    # bubblewrap reports a death by signal N as the exit status 128 + N
    number = -status if status < 0 else status - 128 if status > 128 else None
    if number is None:
        return f"exited with status {status}"
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGKILL:
        return f"was killed ({name}: out of memory, or another limit)"
    return f"was killed by {name}"
