"""Running a predictor's code in a process of its own.

This is the one place that starts user code. It runs in the sandbox (see
``sandboxes.py``), with an environment holding only what the predictor may see,
in its own process group (killed whole when it ends or times out), with output
capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openfxn.server.runtime.sandboxes import Sandbox

OUTPUT_LIMIT = 1024 * 1024


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
) -> asyncio.subprocess.Process:
    """Start ``python arguments`` confined, in an empty ``workdir``, with the
    predictor's variables; the code sees its environment and ``readable``.

    The process leads a process group of its own: end it with ``kill_group``,
    which takes down everything it started.
    """
    environment = python.parent.parent  # DIR/bin/python
    command = sandbox.wrap(
        [str(python), *arguments],
        readable=[environment, *readable],
        workdir=workdir,
    )
    return await asyncio.create_subprocess_exec(
        *command,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=workdir,
        env={**variables, **base_environment(workdir)},
        start_new_session=True,
        limit=OUTPUT_LIMIT,
    )


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
    process = await spawn(
        python,
        arguments,
        sandbox=sandbox,
        readable=readable,
        variables=variables,
        workdir=workdir,
    )
    reading = asyncio.gather(capped(process.stdout), capped(process.stderr))
    try:
        stdout, stderr = await asyncio.wait_for(asyncio.shield(reading), time_limit)
        timed_out = False
    except TimeoutError:
        timed_out = True
    except asyncio.CancelledError:  # the server is stopping: take the code down too
        kill_group(process.pid)
        await asyncio.shield(process.wait())
        reading.cancel()
        raise
    kill_group(process.pid)  # always: nothing the code started may outlive it
    await process.wait()
    if timed_out:
        try:  # a process that left the group may still hold the pipes open
            stdout, stderr = await asyncio.wait_for(reading, 1.0)
        except TimeoutError:
            stdout, stderr = "", ""
    return Completed(process.returncode, stdout, stderr, timed_out)


async def capped(stream: asyncio.StreamReader | None) -> str:
    """Read a stream to its end, keeping at most OUTPUT_LIMIT bytes."""
    assert stream is not None
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk[: max(0, OUTPUT_LIMIT - len(kept))]
    return kept.decode(errors="replace")


def kill_group(pid: int) -> None:
    """Kill the whole process group: children the code started die with it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
