"""Measured runs: wrk from the load CPU against one contender serving one workload.

Around each measured run the server's process tree is read from /proc: its
CPU time (every 0.25 s, so that processes replaced during the run still
count) and its PSS (every second, keeping the peak). The machine's own CPU
counters show how much other processes took meanwhile.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import Tools, request
from loads import Load, run_posts, write_post_script
from processes import TreeClock, sample_machine, tree_pss_kib

from comparison.contenders import Launched, request_for
from comparison.workloads import Workload, write_body

PSS_EVERY_S = 1.0
CHECK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Target:
    """A contender serving a workload, ready to be loaded."""

    contender: str
    workload: Workload
    pid: int
    url: str
    key: str
    body: Path
    script: Path


@dataclass(frozen=True)
class Row:
    """One measured run: a contender, a workload, a concurrency."""

    contender: str
    workload: str
    connections: int
    load: Load
    cpu_s: float  # the server's whole process tree
    peak_pss_kib: int
    other_cpu_s: float  # processes outside the server, wrk and this bench
    steal_s: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s * 1e6 / max(self.load.wrk.requests, 1)


@dataclass(frozen=True)
class ColdStart:
    """From creating a predictor (openfxn) or launching a peer to its first answer."""

    contender: str
    seconds: float
    idle_pss_kib: int | None  # the server tree afterwards, left alone a moment


@dataclass(frozen=True)
class Warmup:
    """A warm-up run, kept only to report its errors."""

    contender: str
    workload: str
    connections: int
    load: Load


def prepare(
    contender: str, workload: Workload, server: Launched, folder: Path
) -> Target:
    """The body and wrk script files for a contender serving a workload."""
    url, body = request_for(contender, workload, server)
    stem = f"{contender}-{workload.name}"
    body_file = write_body(folder / f"{stem}.json", body)
    script = write_post_script(
        folder / f"{stem}.lua", body_file, server.key, workload.expected
    )
    return Target(contender, workload, server.pid, url, server.key, body_file, script)


def check_answer(target: Target) -> None:
    """One request by hand: a 200 that holds the expected answer, or fail."""
    post_and_check(
        target.contender,
        target.workload,
        target.url,
        target.body.read_bytes(),
        target.key,
    )


def post_and_check(
    contender: str, workload: Workload, url: str, body: bytes, key: str
) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    status, reply = request(url, "POST", body, headers, CHECK_TIMEOUT_S)
    if status != 200 or workload.expected not in reply.decode(errors="replace"):
        raise RuntimeError(
            f"{contender} answered {workload.name} with {status}: {reply[:300]!r}"
        )


def drain(target: Target) -> None:
    """Wait until the server has answered what an earlier run left queued.

    wrk closes its connections at the end of a run, but a server may go on
    with the requests it took (openfxn does). One request by hand waits its
    turn behind them, so that the next run starts with the server idle.
    """
    check_answer(target)


def warm_up(tools: Tools, target: Target, connections: int, seconds: int) -> Warmup:
    drain(target)
    load = run_posts(tools, target.script, target.url, connections, seconds)
    return Warmup(target.contender, target.workload.name, connections, load)


def measure(tools: Tools, target: Target, connections: int, seconds: int) -> Row:
    """One measured run, with the server tree's CPU and PSS read around it."""
    drain(target)
    before = sample_machine()
    with TreeClock(target.pid, pss_every_s=PSS_EVERY_S) as clock:
        load = run_posts(tools, target.script, target.url, connections, seconds)
    after = sample_machine()
    server_s, others_s = clock.seconds()
    tree_s = server_s + others_s
    ours = (after.load - before.load) + (after.own - before.own)
    return Row(
        contender=target.contender,
        workload=target.workload.name,
        connections=connections,
        load=load,
        cpu_s=tree_s,
        peak_pss_kib=clock.peak_pss_kib,
        other_cpu_s=after.machine - before.machine - tree_s - ours,
        steal_s=after.steal - before.steal,
    )


# ---------- memory over a long run ----------


@dataclass(frozen=True)
class Soak:
    """A long run at one concurrency, and the server tree's PSS sampled along it."""

    contender: str
    workload: str
    connections: int
    seconds: int
    load: Load
    samples_kib: list[int]


def soak(
    tools: Tools, target: Target, connections: int, seconds: int, every_s: float
) -> Soak:
    samples: list[int] = []
    stopping = threading.Event()
    sampler = threading.Thread(
        target=sample_pss, args=(target.pid, every_s, samples, stopping), daemon=True
    )
    sampler.start()
    try:
        load = run_posts(tools, target.script, target.url, connections, seconds)
    finally:
        stopping.set()
        sampler.join()
    return Soak(
        target.contender, target.workload.name, connections, seconds, load, samples
    )


def sample_pss(
    root: int, every_s: float, samples: list[int], stopping: threading.Event
) -> None:
    """PSS of the tree now and every ``every_s`` until stopped."""
    while not stopping.is_set():
        samples.append(tree_pss_kib(root))
        stopping.wait(every_s)


def idle_pss_kib(pid: int, settle_s: float = 1.0) -> int:
    """The tree's PSS once it has been left alone a moment."""
    time.sleep(settle_s)
    return tree_pss_kib(pid)


@dataclass
class Results:
    """Everything one comparison measured, and what went wrong along the way."""

    rows: list[Row] = field(default_factory=list)
    warmups: list[Warmup] = field(default_factory=list)
    starts: list[ColdStart] = field(default_factory=list)
    soaked: Soak | None = None
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # servers that failed

    def error_notes(self) -> list[str]:
        """A line for each run, warm-ups included, in which a request failed."""
        runs = [
            ("", row.contender, row.workload, row.connections, row.load)
            for row in self.rows
        ]
        runs += [
            (" warm-up", w.contender, w.workload, w.connections, w.load)
            for w in self.warmups
        ]
        if self.soaked is not None:
            runs.append(
                (
                    " soak",
                    self.soaked.contender,
                    self.soaked.workload,
                    self.soaked.connections,
                    self.soaked.load,
                )
            )
        return [
            f"errors in{kind} {contender} {workload} -c{conns}: "
            + load.describe_errors("the answer")
            for kind, contender, workload, conns, load in runs
            if load.errors
        ]
