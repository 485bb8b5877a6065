"""What a server's processes use, read from /proc: CPU time and memory (PSS).

A server is the process the bench started and every process it leads to: its
descendants, and the processes of its session, which keep the session when
their parent exits and are reparented (Ray's helpers), plus their descendants,
which may have a session of their own (BentoML's worker, a sandbox). Standard
library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness import STOP_TIMEOUT_S, children_cpu_seconds, machine_cpu_seconds

TREE_POLL_S = 0.25


@dataclass(frozen=True)
class ProcessStat:
    """The fields of /proc/PID/stat the benches read."""

    parent: int
    session: int
    ticks: int  # utime + stime, all threads
    started: int  # since boot, in ticks: tells a process from a reused PID
    is_zombie: bool


def read_stat(pid: int) -> ProcessStat | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # it exited while we looked
        return None
    fields = stat.rpartition(")")[2].split()  # fields[0] is field 3, "state"
    return ProcessStat(
        parent=int(fields[1]),
        session=int(fields[3]),
        ticks=int(fields[11]) + int(fields[12]),
        started=int(fields[19]),
        is_zombie=fields[0] == "Z",
    )


def process_table() -> dict[int, ProcessStat]:
    """Every process of the machine."""
    table = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                table[int(entry.name)] = stat
    return table


def tree(root: int, table: dict[int, ProcessStat]) -> dict[int, ProcessStat]:
    """The processes of the server started as ``root``, in its own session."""
    children: dict[int, list[int]] = {}
    for pid, stat in table.items():
        children.setdefault(stat.parent, []).append(pid)
    pending = [root, *(pid for pid, stat in table.items() if stat.session == root)]
    members: dict[int, ProcessStat] = {}
    while pending:
        pid = pending.pop()
        if pid in table and pid not in members:
            members[pid] = table[pid]
            pending += children.get(pid, [])
    return members


def tree_ticks(root: int) -> dict[int, int]:
    """The CPU ticks of every process of a server."""
    return {pid: stat.ticks for pid, stat in tree(root, process_table()).items()}


def pss_kib(pids: list[int]) -> int:
    """Proportional set size summed over processes: shared pages split fairly."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
    return total


def tree_pss_kib(root: int) -> int:
    return pss_kib(list(tree(root, process_table())))


class TreeClock:
    """The CPU time a server's processes use while it runs, and their peak PSS.

    Processes come and go during a run (workers are replaced), and a killed
    process's time does not always show in its parent's count of reaped
    children, so the tree is read every ``TREE_POLL_S`` and each process counts
    up to the last time it was seen. With ``pss_every_s``, the tree's PSS is
    also read that often, and the highest sum kept.
    """

    def __init__(self, root: int, pss_every_s: float | None = None) -> None:
        self.root = root
        self.first = tree_ticks(root)
        self.last = dict(self.first)
        self.pss_every_s = pss_every_s
        self.peak_pss_kib = 0
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
        next_pss = time.monotonic()
        while True:
            members = tree(self.root, process_table())
            self.last.update({pid: stat.ticks for pid, stat in members.items()})
            if self.pss_every_s is not None and time.monotonic() >= next_pss:
                self.peak_pss_kib = max(self.peak_pss_kib, pss_kib(list(members)))
                next_pss += self.pss_every_s
            if self.stopping.wait(TREE_POLL_S):
                return

    def seconds(self) -> tuple[float, float]:
        """CPU seconds of the server process, and of the other processes."""
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


def stop_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM a server, then SIGKILL whatever of its tree outlives the grace."""
    members = tree(process.pid, process_table())
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
    members.update(tree(process.pid, process_table()))
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and survivors(members):
        time.sleep(0.1)
    for pid in survivors(members):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=STOP_TIMEOUT_S)


def survivors(members: dict[int, ProcessStat]) -> list[int]:
    """The processes still running that are the very ones seen before."""
    alive = []
    for pid, stat in members.items():
        now = read_stat(pid)
        if now is not None and now.started == stat.started and not now.is_zombie:
            alive.append(pid)
    return alive
