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
virtualenv (the floor runs Starlette and uvicorn). It reuses the server, wrk
and /proc helpers of ``auth_overhead.py``. The exit status is 1 when any
response is not a 200 with the greeting in it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from auth_overhead import (
    LOAD_CPU,
    SERVER_CPU,
    WRK_GRACE_S,
    Server,
    Tools,
    WrkResult,
    children_cpu_seconds,
    find_tools,
    format_load,
    free_port,
    get,
    machine_cpu_seconds,
    parse_wrk,
    pinned,
    raise_on_sigterm,
    running_server,
    stop_server,
    wait_until_live,
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
PROVISION_POLL_S = 0.005
TREE_POLL_S = 0.25
PROVISION_TIMEOUT_S = 120.0
WRK_TIMEOUT = "10s"  # a slower reply is a socket error, not a latency
QUICK = {"duration": 3, "warmup": 1, "rounds": 3}
DEFAULTS = {"duration": 10, "warmup": 3, "rounds": 5}

# wrk counts non-2xx replies itself; this counts 2xx replies without the
# greeting (a prediction that failed still answers 200) and prints the total.
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
end

function response(status, headers, body)
  if status < 300 and not string.find(body, {expected}, 1, true) then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("wrong")
  end
  io.write(string.format("Wrong bodies: %d\\n", total))
end
"""


@dataclass(frozen=True)
class Load:
    """One wrk run: its report, and the 2xx replies that lacked the greeting."""

    wrk: WrkResult
    wrong_bodies: int

    @property
    def errors(self) -> int:
        return self.wrk.errors + self.wrong_bodies


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
    with log.open("wb") as output:
        process = subprocess.Popen(
            pinned(tools, SERVER_CPU, command),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_live(process, base_url, log)
        yield Target(FLOOR, process.pid, f"{base_url}/predict/@bench/{NAME}")
    finally:
        stop_server(process)


# ---------- the predictor over REST ----------


def call(server: Server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Status and JSON reply of one request with the server's key."""
    request = urllib.request.Request(
        server.base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {server.key}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def username(server: Server) -> str:
    status, user = call(server, "GET", "/user")
    if status != 200:
        raise RuntimeError(f"GET /user answered {status}: {user}")
    name: str = user["username"]
    return name


def check_sandbox(server: Server) -> str:
    """The sandbox /health reports; bubblewrap, or the numbers mean another thing."""
    status, body = get(server.base_url + "/health")
    sandbox: str = json.loads(body).get("sandbox", "?")
    if status != 200 or sandbox != "bwrap":
        raise RuntimeError(
            f"/health answered {status} with sandbox {sandbox!r}, not 'bwrap'. "
            "Install bubblewrap (apt-get install bubblewrap) and run again."
        )
    return sandbox


def create_predictor(server: Server, tag: str) -> float:
    """Milliseconds from ``POST /predictors`` to ACTIVE."""
    source = base64.b64encode(GREETING.encode()).decode()
    body = {"tag": tag, "notebook": f"data:text/x-python;base64,{source}"}
    started = time.perf_counter()
    status, reply = call(server, "POST", "/predictors", body)
    if status != 201:
        raise RuntimeError(f"POST /predictors answered {status}: {reply}")
    while reply["status"] == "PROVISIONING":
        if time.perf_counter() - started > PROVISION_TIMEOUT_S:
            raise RuntimeError(
                f"{tag} still PROVISIONING after {PROVISION_TIMEOUT_S} s"
            )
        time.sleep(PROVISION_POLL_S)
        reply = call(server, "GET", f"/predictors/{tag}")[1]
    elapsed = (time.perf_counter() - started) * 1000
    if reply["status"] != "ACTIVE":
        raise RuntimeError(f"{tag} ended {reply['status']}: {reply.get('error')}")
    return elapsed


def predict(server: Server, tag: str) -> tuple[float, dict[str, Any]]:
    """Milliseconds for one prediction, and the prediction; fails unless it greets."""
    started = time.perf_counter()
    status, reply = call(server, "POST", f"/predict/{tag}", json.loads(BODY))
    elapsed = (time.perf_counter() - started) * 1000
    results = reply.get("results") if isinstance(reply, dict) else None
    if status != 200 or not results or results[0].get("stringValue") != EXPECTED:
        raise RuntimeError(f"POST /predict/{tag} answered {status}: {reply}")
    return elapsed, reply


def cold_start(server: Server, tag: str) -> ColdStart:
    provisioning = create_predictor(server, tag)
    first, prediction = predict(server, tag)
    if prediction.get("coldStart") is None:
        raise RuntimeError(f"the first prediction of {tag} has no coldStart")
    second = predict(server, tag)[0]
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


# ---------- CPU time from /proc ----------


def process_table() -> dict[int, tuple[int, int]]:
    """Every process: its parent, and its own CPU ticks (all its threads)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # it exited while we looked
            continue
        fields = stat.rpartition(")")[2].split()  # fields[0] is field 3, "state"
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def tree_ticks(root: int) -> dict[int, int]:
    """The CPU ticks of a process and of every process under it."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    ticks, pending = {}, [root]
    while pending:
        pid = pending.pop()
        if pid in table:
            ticks[pid] = table[pid][1]
        pending += children.get(pid, [])
    return ticks


class TreeClock:
    """The CPU time a server and the processes under it use while it runs.

    Workers are killed and replaced during a run, and a killed worker's time
    does not show in the server's count of its reaped children (the sandbox's
    processes die first), so the tree is read every ``TREE_POLL_S`` and each
    process counts up to the last time it was seen.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.first = tree_ticks(root)
        self.last = dict(self.first)
        self.stopping = threading.Event()
        self.poller = threading.Thread(target=self.poll, daemon=True)

    def __enter__(self) -> TreeClock:
        self.poller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.poller.join()
        self.last.update(tree_ticks(self.root))

    def poll(self) -> None:
        while not self.stopping.wait(TREE_POLL_S):
            self.last.update(tree_ticks(self.root))

    def seconds(self) -> tuple[float, float]:
        """CPU seconds of the server process, and of the processes under it."""
        used = {pid: ticks - self.first.get(pid, 0) for pid, ticks in self.last.items()}
        server = used.pop(self.root, 0)
        hertz = os.sysconf("SC_CLK_TCK")
        return server / hertz, sum(used.values()) / hertz


@dataclass(frozen=True)
class MachineSample:
    """Cumulative CPU seconds: wrk's, this script's, and the whole machine's."""

    load: float
    own: float
    machine: float
    steal: float


def sample_machine() -> MachineSample:
    machine, steal = machine_cpu_seconds()
    return MachineSample(children_cpu_seconds(), time.process_time(), machine, steal)


# ---------- the load ----------


def write_wrk_script(path: Path, key: str) -> Path:
    path.write_text(
        WRK_SCRIPT.format(body=json.dumps(BODY), key=key, expected=json.dumps(EXPECTED))
    )
    return path


def run_wrk(
    tools: Tools, script: Path, url: str, connections: int, seconds: int
) -> Load:
    """One wrk run from CPU 1, posting the greeting's inputs."""
    command = [
        *(tools.wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"),
        *("--timeout", WRK_TIMEOUT, "-s", str(script), url),
    ]
    done = subprocess.run(
        pinned(tools, LOAD_CPU, command),
        capture_output=True,
        text=True,
        timeout=seconds + WRK_GRACE_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stderr}")
    wrong = re.search(r"^Wrong bodies: (\d+)$", done.stdout, re.MULTILINE)
    if wrong is None:
        raise ValueError(f"no 'Wrong bodies' line in wrk's report:\n{done.stdout}")
    return Load(parse_wrk(done.stdout), int(wrong.group(1)))


def measure(
    tools: Tools,
    script: Path,
    target: Target,
    connections: int,
    args: argparse.Namespace,
) -> tuple[Row, Load]:
    """A warm-up run, then a measured run with CPU time read around it."""
    warmup = run_wrk(tools, script, target.url, connections, args.warmup)
    before = sample_machine()
    with TreeClock(target.pid) as clock:
        load = run_wrk(tools, script, target.url, connections, args.duration)
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
        f"errors in{kind} {row.server} -c{row.connections}: {load.wrk.non_2xx} "
        f"non-2xx/3xx, {load.wrk.socket_errors} socket errors, "
        f"{load.wrong_bodies} 2xx without {EXPECTED!r}"
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
        environment_ms = create_predictor(server, tag)
        predict(server, tag)
        print(describe_setup(tools, args, sandbox, environment_ms), flush=True)
        starts = measure_cold_starts(server, owner, args.rounds)

        script = write_wrk_script(Path(temp) / "predict.lua", server.key)
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
    print(format_interference(rows, args.duration))
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
