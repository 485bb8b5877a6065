#!/usr/bin/env python3
"""What a prediction costs: REST predictions against the same function called bare.

Starts a throwaway openfxn server (SQLite in a temporary data directory, the
sandbox on) pinned to CPU 0, with a user and key from ``openfxn admin``, and
publishes a greeting predictor::

    def predict(name: str) -> str:
        return f"Hello, {name}!"

It times the greeting's cold start over a few rounds: ``POST /predictors`` to
ACTIVE, then the first prediction, which starts a worker (and reports it in
``coldStart``). Then, with 1, 8 and 64 connections, wrk pinned to CPU 1 posts
``{"name": "World"}`` to ``POST /predict/@user/greeting``, and to the floor: the
same function called in a bare Starlette endpoint on uvicorn, in the server
process, pinned to CPU 0 as well. Each measured run follows a warm-up run;
the CPU time of the server and of the worker processes under it is read from
/proc while it runs.

    .venv/bin/python bench/predictions.py [--duration SECONDS] [--quick]

Needs Linux (/proc), wrk (``apt-get install -y wrk``) and the project's
virtualenv (the floor runs Starlette and uvicorn). The exit status is 1 when any
response is not a 200 with the greeting in it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from harness import (
    LOAD_CPU,
    SERVER_CPU,
    Tools,
    find_tools,
    format_columns,
    format_interference,
    format_load,
    free_port,
    launch,
    pinned,
    raise_on_sigterm,
    stop_server,
    wait_until_live,
)
from loads import Load, run_posts, write_post_script
from processes import TreeClock, sample_machine
from servers import (
    Server,
    check_sandbox,
    create_predictor,
    predict,
    running_server,
    source_url,
    username,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CONNECTIONS = (1, 8, 64)
FLOOR, OPENFXN = "floor", "openfxn"
NAME = "greeting"
GREETING = 'def predict(name: str) -> str:\n    return f"Hello, {name}!"\n'
BODY = '{"name": "World"}'
EXPECTED = "Hello, World!"
QUICK = {"duration": 3, "warmup": 1, "rounds": 3}
DEFAULTS = {"duration": 10, "warmup": 3, "rounds": 5}


@dataclass(frozen=True)
class Row:
    """One measured run: a server at one concurrency."""

    server: str
    connections: int
    load: Load
    cpu_s: float  # the server and every process under it
    worker_cpu_s: float  # the processes under it alone
    other_cpu_s: float
    steal_s: float

    def per_request_us(self, seconds: float) -> float:
        return seconds * 1e6 / max(self.load.wrk.requests, 1)


@dataclass(frozen=True)
class ColdStart:
    """One round: a new predictor, its first prediction and a second one (ms)."""

    provisioning_ms: float
    first_ms: float
    reported_ms: float
    second_ms: float


@dataclass(frozen=True)
class Target:
    """A server under load: its process, and the URL wrk posts to."""

    name: str
    pid: int
    url: str


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=int, help="seconds per measured run (10; --quick 3)"
    )
    parser.add_argument(
        "--warmup", type=int, help="seconds of warm-up before each (3; --quick 1)"
    )
    parser.add_argument("--rounds", type=int, help="cold-start rounds (5; --quick 3)")
    parser.add_argument(
        "--quick", action="store_true", help="short runs: the whole bench in ~1 min"
    )
    parser.add_argument(
        "--openfxn", default=None, help="openfxn executable (default: .venv's)"
    )
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for option, default in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, option) is None:
            setattr(args, option, default)
    if min(args.duration, args.warmup, args.rounds) < 1:
        parser.error("--duration, --warmup and --rounds must be at least 1")
    return args


# ---------- the floor: the function in a bare Starlette endpoint ----------


def load_greeting() -> Any:
    """The very function the predictor is made of."""
    namespace: dict[str, Any] = {}
    exec(GREETING, namespace)
    return namespace["predict"]


async def floor_predict(request: Request) -> Response:
    inputs = await request.json()
    result = request.app.state.predict(**inputs)
    return JSONResponse({"results": [{"data": result, "type": "string"}]})


async def floor_live(request: Request) -> Response:
    return Response(b'{"live":true}', media_type="application/json")


def serve_floor(port: int) -> None:
    """Run the floor app as ``openfxn serve`` runs its own: no access log."""
    app = Starlette(
        routes=[
            Route("/predict/{tag:path}", floor_predict, methods=["POST"]),
            Route("/health/live", floor_live, methods=["GET"]),
        ]
    )
    app.state.predict = load_greeting()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


@contextmanager
def running_floor(tools: Tools, temp: Path) -> Iterator[Target]:
    """The floor server, pinned to the server's CPU, stopped on exit."""
    port = free_port()
    log = temp / "floor.log"
    command = [sys.executable, __file__, "--serve-floor", str(port)]
    process = launch(pinned(tools, SERVER_CPU, command), log)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_live(process, base_url, log)
        yield Target(FLOOR, process.pid, f"{base_url}/predict/@bench/{NAME}")
    finally:
        stop_server(process)


# ---------- the predictor over REST ----------


def predict_greeting(server: Server, tag: str) -> tuple[float, dict[str, Any]]:
    return predict(server, tag, json.loads(BODY), EXPECTED)


def cold_start(server: Server, tag: str) -> ColdStart:
    provisioning = create_predictor(server, tag, source_url(GREETING))
    first, prediction = predict_greeting(server, tag)
    if prediction.get("coldStart") is None:
        raise RuntimeError(f"the first prediction of {tag} has no coldStart")
    second = predict_greeting(server, tag)[0]
    return ColdStart(provisioning, first, prediction["coldStart"], second)


def measure_cold_starts(server: Server, owner: str, rounds: int) -> list[ColdStart]:
    starts = []
    for round_ in range(1, rounds + 1):
        start = cold_start(server, f"@{owner}/cold-{round_}")
        starts.append(start)
        print(
            f"  cold start {round_}: ACTIVE in {start.provisioning_ms:.0f} ms, "
            f"first prediction {start.first_ms:.0f} ms (coldStart "
            f"{start.reported_ms:.0f}), second {start.second_ms:.1f} ms",
            file=sys.stderr,
            flush=True,
        )
    return starts


# ---------- the load ----------


def measure(
    tools: Tools,
    script: Path,
    target: Target,
    connections: int,
    args: argparse.Namespace,
) -> tuple[Row, Load]:
    """A warm-up run, then a measured run with CPU time read around it."""
    warmup = run_posts(tools, script, target.url, connections, args.warmup)
    before = sample_machine()
    with TreeClock(target.pid) as clock:
        load = run_posts(tools, script, target.url, connections, args.duration)
    after = sample_machine()
    server_s, workers_s = clock.seconds()
    ours = (after.load - before.load) + (after.own - before.own)
    row = Row(
        server=target.name,
        connections=connections,
        load=load,
        cpu_s=server_s + workers_s,
        worker_cpu_s=workers_s,
        other_cpu_s=after.machine - before.machine - server_s - workers_s - ours,
        steal_s=after.steal - before.steal,
    )
    return row, warmup


# ---------- the report ----------


def ratio_cell(row: Row, rows: Sequence[Row]) -> str:
    """This row's throughput over the floor's at the same concurrency."""
    if row.server == FLOOR:
        return "-"
    for other in rows:
        if other.server == FLOOR and other.connections == row.connections:
            throughput = other.load.wrk.requests_per_second
            return f"{row.load.wrk.requests_per_second / throughput:.2f}"
    return "?"


def workers_cell(row: Row) -> str:
    if row.server == FLOOR:
        return "-"
    return f"{row.per_request_us(row.worker_cpu_s):.0f}"


def format_table(rows: Sequence[Row]) -> str:
    header = (
        *("server", "conns", "req/s", "p50 ms", "p99 ms", "CPU µs/req"),
        *("workers µs", "÷ floor", "errors"),
    )
    body = [
        (
            row.server,
            str(row.connections),
            f"{row.load.wrk.requests_per_second:.0f}",
            f"{row.load.wrk.p50_ms:.2f}",
            f"{row.load.wrk.p99_ms:.2f}",
            f"{row.per_request_us(row.cpu_s):.0f}",
            workers_cell(row),
            ratio_cell(row, rows),
            str(row.load.errors),
        )
        for row in rows
    ]
    return format_columns(header, body)


def format_cold_starts(starts: Sequence[ColdStart]) -> str:
    def cells(label: str, values: list[float]) -> tuple[str, ...]:
        shown = (statistics.median(values), min(values), max(values))
        return (label, str(len(values)), *(f"{value:.1f}" for value in shown))

    header = ("cold start", "rounds", "median ms", "min ms", "max ms")
    body = [
        cells("POST /predictors to ACTIVE", [s.provisioning_ms for s in starts]),
        cells("first prediction", [s.first_ms for s in starts]),
        cells("  its coldStart", [s.reported_ms for s in starts]),
        cells("second prediction", [s.second_ms for s in starts]),
    ]
    return format_columns(header, body)


def describe_setup(
    tools: Tools, args: argparse.Namespace, sandbox: str, environment_ms: float
) -> str:
    pinning = (
        f"servers on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}"
        if tools.taskset
        else "taskset missing: nothing pinned"
    )
    return (
        f"openfxn predictions: SQLite (temporary, {filesystem(tempfile.gettempdir())}),"
        f" sandbox {sandbox}; wrk -t1 POST {BODY}, {args.warmup} s warm-up + "
        f"{args.duration} s measured per row; {pinning}\n"
        f"@USER/{NAME} built the environment (ACTIVE in {environment_ms:.0f} ms); "
        "each cold-start round is a new predictor that reuses it"
    )


def filesystem(path: str) -> str:
    """The type of the file system holding ``path``, from /proc/mounts."""
    best, kind = "", "?"
    with open("/proc/mounts") as mounts:
        for line in mounts:
            point, fstype = line.split()[1:3]
            is_under = path == point or path.startswith(point.rstrip("/") + "/")
            if is_under and len(point) > len(best):
                best, kind = point, fstype
    return kind


def error_notes(rows: Sequence[Row], warmups: Sequence[Load]) -> list[str]:
    """A line for every run in which a request failed."""
    runs = [("", row, row.load) for row in rows]
    runs += [(" warm-up", row, warm) for row, warm in zip(rows, warmups, strict=True)]
    return [
        f"errors in{kind} {row.server} -c{row.connections}: "
        + load.describe_errors(EXPECTED)
        for kind, row, load in runs
        if load.errors
    ]


# ---------- the run ----------


def run(args: argparse.Namespace) -> int:
    tools = find_tools(args.openfxn)
    if tools.taskset is not None:  # this script's requests and polls go with wrk
        os.sched_setaffinity(0, {int(LOAD_CPU)})
    load_start = os.getloadavg()
    rows: list[Row] = []
    warmups: list[Load] = []
    with (
        tempfile.TemporaryDirectory(prefix="openfxn-bench-") as temp,
        running_server(tools, None) as server,
    ):
        sandbox = check_sandbox(server)
        owner = username(server)
        tag = f"@{owner}/{NAME}"
        environment_ms = create_predictor(server, tag, source_url(GREETING))
        predict_greeting(server, tag)
        print(describe_setup(tools, args, sandbox, environment_ms), flush=True)
        starts = measure_cold_starts(server, owner, args.rounds)

        body = Path(temp, "body.json")
        body.write_text(BODY)
        script = write_post_script(
            Path(temp, "predict.lua"), body, server.key, EXPECTED
        )
        url = f"{server.base_url}/predict/{tag}"
        predictor = Target(OPENFXN, server.pid, url)
        with running_floor(tools, Path(temp)) as floor:
            for connections in CONNECTIONS:
                for target in (floor, predictor):
                    row, warmup = measure(tools, script, target, connections, args)
                    rows.append(row)
                    warmups.append(warmup)
    print(format_table(rows))
    print(format_cold_starts(starts))
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
        print(note)
    return 1 if notes else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.serve_floor is not None:
        serve_floor(args.serve_floor)
        return 0
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    try:
        return run(args)
    except KeyboardInterrupt:
        print(
            "interrupted; the servers are stopped and their data removed",
            file=sys.stderr,
        )
        return 130
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
