#!/usr/bin/env python3
"""What authentication costs: ``GET /user`` (Bearer key) against ``GET /health/live``.

Starts a throwaway openfxn server pinned to CPU 0, creates a user and key with
``openfxn admin create-user``, then drives both endpoints with ``wrk`` pinned to
CPU 1, with 1 and 8 connections. Each measured run follows a short warm-up run.
The server process's CPU time (utime + stime from /proc/PID/stat) is sampled
around each measured run, giving server CPU microseconds per request.

    python bench/auth_overhead.py [--duration SECONDS] [--database-url URL]

Standard library only. Needs Linux (/proc) and wrk (``apt-get install -y wrk``).
The exit status is 1 when wrk reports any non-2xx/3xx response or socket error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
SERVER_CPU = "0"
LOAD_CPU = "1"
CONNECTIONS = (1, 8)
BASELINE = "/health/live"
ENDPOINTS = (BASELINE, "/user")
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
WRK_GRACE_S = 30.0
TAIL_LINES = 15
WRK_HINT = "wrk is not installed. Install it with: apt-get install -y wrk"
# wrk prints times with these units; the factor converts to milliseconds.
TIME_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
PERCENTILE_LINE = r"^\s*{}%\s+([\d.]+)(us|ms|s|m|h)\s*$"


@dataclass(frozen=True)
class WrkResult:
    """The numbers this bench reads from one wrk report."""

    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


@dataclass(frozen=True)
class Row:
    """One measured run: an endpoint at one concurrency."""

    endpoint: str
    connections: int
    wrk: WrkResult
    server_cpu_s: float
    other_cpu_s: float
    steal_s: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s * 1e6 / max(self.wrk.requests, 1)


@dataclass(frozen=True)
class Server:
    """A running server: its process id, base URL and an access key for it."""

    pid: int
    base_url: str
    key: str


@dataclass(frozen=True)
class Tools:
    """The executables the bench runs."""

    openfxn: str
    wrk: str
    taskset: str | None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds per measured run (10)"
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="seconds of warm-up before each (3)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="database for the server, e.g. postgresql://user@host/db "
        "(default: SQLite in the temporary data directory)",
    )
    parser.add_argument(
        "--openfxn", default=None, help="openfxn executable (default: .venv's)"
    )
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 1:
        parser.error("--duration and --warmup must be at least 1 second")
    return args


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


def openfxn_env(database_url: str | None) -> dict[str, str]:
    """The environment for openfxn commands; admin commands read the URL here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENFXN_")}
    if database_url is not None:
        env["OPENFXN_DATABASE_URL"] = database_url
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def create_key(tools: Tools, data: Path, env: dict[str, str]) -> str:
    """A new user's access key: the last line ``admin create-user`` prints."""
    username = f"bench-{secrets.token_hex(4)}"
    command = [tools.openfxn, "admin", "create-user", username, "--data", str(data)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        output = "\n".join((done.stderr + done.stdout).splitlines()[-TAIL_LINES:])
        raise RuntimeError(f"admin create-user failed, ending with:\n{output}")
    return lines[-1].strip()


def start_server(
    tools: Tools, data: Path, port: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """The server process, in its own session so Ctrl-C reaches only us."""
    command = [
        *(tools.openfxn, "serve", "--data", str(data), "--port", str(port)),
        *("--host", "127.0.0.1", "--log-level", "warning"),
    ]
    with log.open("wb") as output:
        return subprocess.Popen(
            pinned(tools, SERVER_CPU, command),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def get(url: str, key: str | None = None) -> tuple[int, bytes]:
    """Status and body of one GET."""
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_live(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Return once /health/live answers 200; fail if the server exits first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited ({process.returncode}):\n{tail(log)}"
            )
        with contextlib.suppress(OSError):
            if get(base_url + BASELINE)[0] == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer in {STARTUP_TIMEOUT_S:.0f} s")


def check_key(base_url: str, key: str) -> None:
    """Fail unless GET /user with the key answers 200 with a profile."""
    status, body = get(base_url + "/user", key)
    if status != 200 or "username" not in json.loads(body):
        raise RuntimeError(f"GET /user answered {status}: {body[:300]!r}")


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


@contextlib.contextmanager
def running_server(tools: Tools, database_url: str | None) -> Iterator[Server]:
    """A server with a fresh user and key, stopped and cleaned up on exit."""
    with tempfile.TemporaryDirectory(prefix="openfxn-bench-") as temp:
        data, log = Path(temp) / "data", Path(temp) / "server.log"
        env = openfxn_env(database_url)
        key = create_key(tools, data, env)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        process = start_server(tools, data, port, env, log)
        try:
            wait_until_live(process, base_url, log)
            check_key(base_url, key)
            yield Server(pid=process.pid, base_url=base_url, key=key)
        finally:
            stop_server(process)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()  # fields[0] is field 3, "state"
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15
    return ticks / os.sysconf("SC_CLK_TCK")


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


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds: the server's, wrk's, and the whole machine's."""

    server: float
    load: float
    machine: float
    steal: float

    def others(self) -> float:
        """CPU time spent by neither the server nor wrk (nor this script)."""
        return self.machine - self.server - self.load - time.process_time()


def sample_cpu(server_pid: int) -> CpuSample:
    machine, steal = machine_cpu_seconds()
    return CpuSample(
        server=cpu_seconds(server_pid),
        load=children_cpu_seconds(),
        machine=machine,
        steal=steal,
    )


def run_wrk(
    tools: Tools, url: str, connections: int, seconds: int, key: str | None
) -> str:
    """wrk's report for one run from CPU 1."""
    command = [tools.wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if key is not None:
        command += ["-H", f"Authorization: Bearer {key}"]
    done = subprocess.run(
        pinned(tools, LOAD_CPU, [*command, url]),
        capture_output=True,
        text=True,
        timeout=seconds + WRK_GRACE_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def percentile_ms(report: str, percent: int) -> float:
    """A latency percentile from wrk's --latency distribution, in ms."""
    found = re.search(PERCENTILE_LINE.format(percent), report, re.MULTILINE)
    if found is None:
        raise ValueError(f"no {percent}% line in wrk's report:\n{report}")
    return float(found.group(1)) * TIME_UNITS_MS[found.group(2)]


def number_after(report: str, pattern: str, default: str | None = None) -> str:
    found = re.search(pattern, report, re.MULTILINE)
    if found is not None:
        return found.group(1)
    if default is None:
        raise ValueError(f"{pattern!r} not in wrk's report:\n{report}")
    return default


def socket_errors(report: str) -> int:
    found = re.search(r"Socket errors:(.*)$", report, re.MULTILINE)
    if found is None:
        return 0
    return sum(int(count) for count in re.findall(r"\d+", found.group(1)))


def parse_wrk(report: str) -> WrkResult:
    """Requests, throughput, p50/p99 and errors from one wrk --latency report."""
    return WrkResult(
        requests=int(number_after(report, r"^\s*(\d+) requests in ")),
        requests_per_second=float(number_after(report, r"^Requests/sec:\s*([\d.]+)")),
        p50_ms=percentile_ms(report, 50),
        p99_ms=percentile_ms(report, 99),
        non_2xx=int(number_after(report, r"Non-2xx or 3xx responses:\s*(\d+)", "0")),
        socket_errors=socket_errors(report),
    )


def measure(
    tools: Tools,
    server: Server,
    endpoint: str,
    connections: int,
    args: argparse.Namespace,
) -> tuple[Row, WrkResult]:
    """A warm-up run, then a measured run with CPU time sampled around it."""
    url = server.base_url + endpoint
    key = server.key if endpoint != BASELINE else None
    warmup = parse_wrk(run_wrk(tools, url, connections, args.warmup, key))
    before = sample_cpu(server.pid)
    report = run_wrk(tools, url, connections, args.duration, key)
    after = sample_cpu(server.pid)
    server_cpu = after.server - before.server
    other_cpu = after.others() - before.others()
    steal = after.steal - before.steal
    row = Row(endpoint, connections, parse_wrk(report), server_cpu, other_cpu, steal)
    return row, warmup


def ratio_cell(row: Row, rows: Sequence[Row]) -> str:
    """This row's throughput over the baseline's at the same concurrency."""
    if row.endpoint == BASELINE:
        return "-"
    for other in rows:
        if other.endpoint == BASELINE and other.connections == row.connections:
            return f"{row.wrk.requests_per_second / other.wrk.requests_per_second:.2f}"
    return "?"


def format_table(rows: Sequence[Row]) -> str:
    header = (
        *("endpoint", "conns", "req/s", "p50 ms", "p99 ms"),
        *("CPU µs/req", "÷ live", "errors"),
    )
    cells = [header] + [
        (
            row.endpoint,
            str(row.connections),
            f"{row.wrk.requests_per_second:.0f}",
            f"{row.wrk.p50_ms:.2f}",
            f"{row.wrk.p99_ms:.2f}",
            f"{row.cpu_us_per_request:.0f}",
            ratio_cell(row, rows),
            str(row.wrk.errors),
        )
        for row in rows
    ]
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


def format_interference(rows: Sequence[Row], duration: int) -> str:
    """How much CPU others took while the measured runs ran: a quiet machine is ~0."""
    other = max(sum(row.other_cpu_s for row in rows), 0.0)
    steal = sum(row.steal_s for row in rows)
    available = len(rows) * duration * (os.cpu_count() or 1)
    return (
        f"during the measured runs ({available} CPU-s): other processes used "
        f"{other:.1f} CPU-s ({100 * other / available:.0f}%), "
        f"the hypervisor stole {steal:.1f} ({100 * steal / available:.0f}%)"
    )


def describe_setup(tools: Tools, args: argparse.Namespace) -> str:
    url = args.database_url
    database = "SQLite (temporary)" if url is None else url.partition(":")[0]
    pinning = (
        f"server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}"
        if tools.taskset
        else "taskset missing: nothing pinned"
    )
    return (
        f"openfxn auth overhead: {database}; wrk -t1, {args.warmup} s warm-up + "
        f"{args.duration} s measured per row; {pinning}"
    )


def error_notes(rows: Sequence[Row], warmups: Sequence[WrkResult]) -> list[str]:
    """A line for every run in which wrk saw a failed request."""
    notes = [
        f"wrk: {row.endpoint} -c{row.connections}: {row.wrk.non_2xx} non-2xx/3xx, "
        f"{row.wrk.socket_errors} socket errors"
        for row in rows
        if row.wrk.errors
    ]
    notes += [
        f"wrk warm-up: {row.endpoint} -c{row.connections}: {warm.non_2xx} "
        f"non-2xx/3xx, {warm.socket_errors} socket errors"
        for row, warm in zip(rows, warmups, strict=True)
        if warm.errors
    ]
    return notes


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    tools = find_tools(args.openfxn)
    print(describe_setup(tools, args), flush=True)
    load_start = os.getloadavg()
    rows: list[Row] = []
    warmups: list[WrkResult] = []
    with running_server(tools, args.database_url) as server:
        for connections in CONNECTIONS:
            for endpoint in ENDPOINTS:
                row, warmup = measure(tools, server, endpoint, connections, args)
                rows.append(row)
                warmups.append(warmup)
    print(format_table(rows))
    print(format_load(load_start, os.getloadavg()))
    print(format_interference(rows, args.duration))
    notes = error_notes(rows, warmups)
    for note in notes:
        print(note, file=sys.stderr)
    return 1 if notes else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    try:
        return run(args)
    except KeyboardInterrupt:
        print(
            "interrupted; the server is stopped and its data removed", file=sys.stderr
        )
        return 130
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
