"""What every bench shares: the tools, pinning, processes, HTTP and plain tables.

The benches pin the server under test to CPU 0 and the load (wrk, and the
bench itself) to CPU 1. Standard library only, so that a bench that needs
nothing else runs on any Python 3.11+.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
SERVER_CPU = "0"
LOAD_CPU = "1"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
TAIL_LINES = 15
WRK_HINT = "wrk is not installed. Install it with: apt-get install -y wrk"
LIVE_PATH = "/health/live"


@dataclass(frozen=True)
class Tools:
    """The executables the benches run."""

    openfxn: str
    wrk: str
    taskset: str | None


def find_tools(openfxn: str | None) -> Tools:
    """The executables, or exit saying which one is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit(WRK_HINT)
    venv_openfxn = REPO / ".venv" / "bin" / "openfxn"
    found = openfxn or (str(venv_openfxn) if venv_openfxn.exists() else None)
    found = found or shutil.which("openfxn")
    if found is None:
        raise SystemExit("openfxn not found: create .venv or pass --openfxn")
    return Tools(openfxn=found, wrk=wrk, taskset=shutil.which("taskset"))


def pinned(tools: Tools, cpu: str, command: list[str]) -> list[str]:
    """``command`` run on one CPU when taskset exists (it execs, keeping the PID)."""
    if tools.taskset is None:
        return command
    return [tools.taskset, "-c", cpu, *command]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ---------- processes ----------


def launch(
    command: list[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server process that writes to ``log``.

    It gets a session of its own: Ctrl-C reaches only the bench, and the
    session finds the server's processes again (``processes.tree``).
    """
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            env=None if env is None else dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_command(
    command: list[str], timeout_s: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end, capturing its text; its status is the caller's."""
    return subprocess.run(
        command,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def wait_until(
    process: subprocess.Popen[bytes],
    is_ready: Callable[[], bool],
    log: Path,
    timeout_s: float = STARTUP_TIMEOUT_S,
    interval_s: float = 0.2,
) -> float:
    """Seconds until ``is_ready()``; fails if the process exits first."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited ({process.returncode}):\n{tail(log)}"
            )
        with contextlib.suppress(OSError):
            if is_ready():
                return time.perf_counter() - started
        time.sleep(interval_s)
    raise RuntimeError(
        f"the server did not answer in {timeout_s:.0f} s; its log ends with:\n"
        f"{tail(log)}"
    )


def wait_until_live(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Return once /health/live answers 200; fail if the server exits first."""
    wait_until(process, lambda: get(base_url + LIVE_PATH)[0] == 200, log)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server by its PID; SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no server log)"


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# ---------- HTTP ----------


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 5.0,
) -> tuple[int, bytes]:
    """Status and body of one request; an HTTP error status is a result too."""
    sent = urllib.request.Request(
        url, data=body, method=method, headers=dict(headers or {})
    )
    try:
        with urllib.request.urlopen(sent, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get(url: str, key: str | None = None) -> tuple[int, bytes]:
    """Status and body of one GET."""
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return request(url, headers=headers)


# ---------- the machine ----------


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU time of all CPUs since boot: (busy, stolen by the hypervisor)."""
    with open("/proc/stat") as stat:
        # user nice system idle iowait irq softirq steal
        fields = [int(value) for value in stat.readline().split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4] - fields[7]
    ticks = os.sysconf("SC_CLK_TCK")
    return busy / ticks, fields[7] / ticks


def children_cpu_seconds() -> float:
    """CPU time of this script's finished children (wrk), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------- plain-text reports ----------


def format_columns(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, right-aligned others, a rule under the header."""
    cells = [list(header), *map(list, body)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_load(start: tuple[float, ...], end: tuple[float, ...]) -> str:
    def show(load: tuple[float, ...]) -> str:
        return " ".join(f"{value:.2f}" for value in load)

    return f"load average (1/5/15 min): start {show(start)}, end {show(end)}"


def format_interference(other_s: float, steal_s: float, available_s: float) -> str:
    """How much CPU others took while the measured runs ran: a quiet machine is ~0."""
    other = max(other_s, 0.0)
    available = max(available_s, 1e-9)
    return (
        f"during the measured runs ({available:.0f} CPU-s): other processes used "
        f"{other:.1f} CPU-s ({100 * other / available:.0f}%), "
        f"the hypervisor stole {steal_s:.1f} ({100 * steal_s / available:.0f}%)"
    )
