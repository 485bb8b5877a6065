"""Per-call time of one prediction through openfxn's client and fxn 0.0.26.

Starts ``openfxn serve`` (SQLite in a temporary directory, pinned to CPU 0 when
taskset exists), publishes a greeting predictor::

    def predict(name: str) -> str:
        return f"Hello, {name}!"

and times ``{"name": "World"}`` predictions of it, one call at a time, four
ways, interleaved in rounds so that drift in the machine's load hits all alike:

- ``openfxn sync``: ``Function().predictions.create`` (REST ``POST /predict``);
- ``openfxn async``: ``AsyncFunction().predictions.create``, awaited in turn;
- ``fxn 0.0.26 sync``: ``fxn.Function().predictions.create`` (GraphQL);
- ``fxn 0.0.26 async``: ``fxn.Function().predictions.stream``, its only async
  call (REST ``POST /predict?stream=true``, a new aiohttp session per call).

Each client keeps one client object for the whole run (one per round for the
async ones, whose connections belong to the round's event loop), so
connections are reused as an application would reuse them. The official
client runs in its own virtualenv (``.cache/fxn-0.0.26``, which the compat
tests install) in a child process pinned with this one to CPU 1. The first
round warms everything up and is not counted. Usage::

    .venv/bin/python bench/client.py [--rounds 20] [--calls 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import REPO, Tools, free_port, stop_server, wait_until_live
from servers import create_key, openfxn_env, start_server

from openfxn import AsyncFunction, Function

GREETING = 'def predict(name: str) -> str:\n    return f"Hello, {name}!"\n'
INPUTS = {"name": "World"}
EXPECTED = "Hello, World!"
OFFICIAL = REPO / ".cache" / "fxn-0.0.26" / "bin" / "python"
CLIENT_CPU = 1
KINDS = ("openfxn sync", "openfxn async", "fxn 0.0.26 sync", "fxn 0.0.26 async")

# The official client's side: reads "sync N" or "async N", makes N calls, and
# prints the milliseconds of each as a JSON list.
OFFICIAL_LOOP = """\
import asyncio, json, sys, time
import fxn

key, url, tag = sys.argv[1:4]
client = fxn.Function(access_key=key, api_url=url)

def sync_call():
    prediction = client.predictions.create(tag, name="World")
    assert prediction.results == ["Hello, World!"], prediction

async def async_call():
    async for prediction in client.predictions.stream(tag, name="World"):
        last = prediction
    assert last.results == ["Hello, World!"], last

async def timed_async(count):
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await async_call()
        times.append((time.perf_counter() - started) * 1000)
    return times

for line in sys.stdin:
    kind, count = line.split()
    if kind == "sync":
        times = []
        for _ in range(int(count)):
            started = time.perf_counter()
            sync_call()
            times.append((time.perf_counter() - started) * 1000)
    else:
        times = asyncio.run(timed_async(int(count)))
    print(json.dumps(times), flush=True)
"""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds counted (20)")
    parser.add_argument("--calls", type=int, default=10, help="calls per kind (10)")
    return parser.parse_args(argv)


@contextmanager
def running_server() -> Iterator[tuple[str, str]]:
    """A throwaway server and a new user's key: (base URL, key)."""
    openfxn = str(REPO / ".venv" / "bin" / "openfxn")
    tools = Tools(openfxn=openfxn, wrk="", taskset=shutil.which("taskset"))
    with tempfile.TemporaryDirectory(prefix="openfxn-bench-") as temp:
        data, log = Path(temp) / "data", Path(temp) / "server.log"
        env = openfxn_env(None)
        key = create_key(tools, data, env)
        url = f"http://127.0.0.1:{free_port()}"
        process = start_server(tools, data, int(url.rsplit(":", 1)[1]), env, log)
        try:
            wait_until_live(process, url, log)
            yield url, key
        finally:
            stop_server(process)


def publish(url: str, key: str) -> str:
    """The greeting's tag, once it is ACTIVE and has answered once."""
    source = base64.b64encode(GREETING.encode()).decode()
    with Function(key, url) as fxn:
        tag = f"@{fxn.users.retrieve().username}/greeting"
        fxn.predictors.create(tag, f"data:text/x-python;name=g.py;base64,{source}")
        if fxn.predictors.wait(tag).status != "ACTIVE":
            raise SystemExit(f"{tag} did not become ACTIVE")
        fxn.predictions.create(tag, INPUTS, raise_on_error=True)
    return tag


def timed(call: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
        assert getattr(result, "results", None) == [EXPECTED], result
    return times


async def timed_async(url: str, key: str, tag: str, count: int) -> list[float]:
    times = []
    async with AsyncFunction(key, url) as fxn:
        for _ in range(count):
            started = time.perf_counter()
            prediction = await fxn.predictions.create(tag, INPUTS)
            times.append((time.perf_counter() - started) * 1000)
            assert prediction.results == [EXPECTED], prediction
    return times


def official(url: str, key: str, tag: str) -> subprocess.Popen[str]:
    if not OFFICIAL.exists():
        raise SystemExit(
            f"fxn 0.0.26 is not installed at {OFFICIAL.parent.parent}: run "
            "`.venv/bin/pytest tests/integration -m compat -k 0.0.26` once, which "
            "installs it there."
        )
    command = [str(OFFICIAL), "-c", OFFICIAL_LOOP, key, url, tag]
    taskset = shutil.which("taskset")
    if taskset:
        command = [taskset, "-c", str(CLIENT_CPU), *command]
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def ask(process: subprocess.Popen[str], kind: str, count: int) -> list[float]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(f"{kind} {count}\n")
    process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"the fxn 0.0.26 process exited ({process.wait()})")
    times: list[float] = json.loads(line)
    return times


def measure(
    url: str, key: str, tag: str, rounds: int, calls: int
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    child = official(url, key, tag)
    try:
        with Function(key, url) as fxn:
            for number in range(rounds + 1):
                got = {
                    "openfxn sync": timed(
                        lambda: fxn.predictions.create(tag, INPUTS), calls
                    ),
                    "openfxn async": asyncio.run(timed_async(url, key, tag, calls)),
                    "fxn 0.0.26 sync": ask(child, "sync", calls),
                    "fxn 0.0.26 async": ask(child, "async", calls),
                }
                if number > 0:  # the first round warms up
                    for kind, times in got.items():
                        samples[kind] += times
                print(f"round {number}/{rounds}", file=sys.stderr)
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=30)
    return samples


def quantile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def table(samples: dict[str, list[float]]) -> str:
    lines = [
        f"{'client':<18} {'calls':>5} {'median ms':>9} {'p90 ms':>7} {'p99 ms':>7}",
        f"{'-' * 18} {'-' * 5} {'-' * 9} {'-' * 7} {'-' * 7}",
    ]
    for kind, times in samples.items():
        lines.append(
            f"{kind:<18} {len(times):>5} {statistics.median(times):>9.2f} "
            f"{quantile(times, 0.9):>7.2f} {quantile(times, 0.99):>7.2f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > CLIENT_CPU:
        os.sched_setaffinity(0, {CLIENT_CPU})
    with running_server() as (url, key):
        tag = publish(url, key)
        samples = measure(url, key, tag, args.rounds, args.calls)
    print(
        f"one prediction of {tag.split('/')[1]} per call, {args.rounds} rounds of "
        f"{args.calls} calls per client, interleaved; server on CPU 0, clients on "
        f"CPU {CLIENT_CPU}"
    )
    print(table(samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
