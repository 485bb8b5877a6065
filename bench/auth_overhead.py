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
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import (
    LOAD_CPU,
    SERVER_CPU,
    Tools,
    children_cpu_seconds,
    find_tools,
    format_columns,
    format_interference,
    format_load,
    machine_cpu_seconds,
    raise_on_sigterm,
)
from loads import WrkResult, parse_wrk, run_wrk
from servers import Server, running_server

CONNECTIONS = (1, 8)
BASELINE = "/health/live"
ENDPOINTS = (BASELINE, "/user")


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


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()  # fields[0] is field 3, "state"
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15
    return ticks / os.sysconf("SC_CLK_TCK")


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


def headers_for(endpoint: str, key: str) -> tuple[str, ...]:
    """wrk's options: the Bearer key for every endpoint but the baseline."""
    if endpoint == BASELINE:
        return ()
    return ("-H", f"Authorization: Bearer {key}")


def measure(
    tools: Tools,
    server: Server,
    endpoint: str,
    connections: int,
    args: argparse.Namespace,
) -> tuple[Row, WrkResult]:
    """A warm-up run, then a measured run with CPU time sampled around it."""
    url = server.base_url + endpoint
    options = headers_for(endpoint, server.key)
    warmup = parse_wrk(run_wrk(tools, url, connections, args.warmup, options))
    before = sample_cpu(server.pid)
    report = run_wrk(tools, url, connections, args.duration, options)
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
    body = [
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
    return format_columns(header, body)


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
    print(
        format_interference(
            sum(row.other_cpu_s for row in rows),
            sum(row.steal_s for row in rows),
            len(rows) * args.duration * (os.cpu_count() or 1),
        )
    )
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
