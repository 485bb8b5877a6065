"""A control group per process that runs a predictor's code, where the machine
lets the server make them (cgroup v1 ``memory`` and ``pids``, as root).

It caps the memory the code may touch (the kernel kills it past the cap, and
says so in ``memory.oom_control``) and the processes it may have at once: the
one process cap that holds when bubblewrap started as root maps the code to
uid 0, which RLIMIT_NPROC exempts. Killing everything in the group ends the
whole tree, daemons that left the process group included.

Each server keeps its groups under one parent named after its data directory,
so that a server started again on the same directory can kill and remove
what a killed one left behind (``reap``), and never touches another's.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("openfxn.server")

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")
KILL_ROUNDS = 50


@dataclass(frozen=True)
class Cgroup:
    """One process's group, one directory per controller."""

    directories: tuple[Path, ...]

    @property
    def procs(self) -> list[Path]:
        return [directory / "cgroup.procs" for directory in self.directories]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs:
            with contextlib.suppress(OSError):
                found.update(int(line) for line in procs.read_text().split())
        return found

    def kill(self) -> None:
        """Kill every process in the group, those it starts meanwhile too."""
        for _round in range(KILL_ROUNDS):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def is_out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the group for its memory."""
        for directory in self.directories:
            with contextlib.suppress(OSError):
                for line in (directory / "memory.oom_control").read_text().splitlines():
                    name, _, count = line.partition(" ")
                    if name == "oom_kill" and int(count) > 0:
                        return True
        return False

    def remove(self) -> None:
        self.kill()
        for directory in self.directories:
            with contextlib.suppress(OSError):
                directory.rmdir()


@dataclass(frozen=True)
class Cgroups:
    """Makes the groups of one server, under ``memory`` and ``pids``, the
    server's parent directories in those two hierarchies."""

    memory: Path
    pids: Path
    memory_bytes: int
    processes: int

    @property
    def parents(self) -> tuple[Path, Path]:
        return self.memory, self.pids

    def create(self, name: str) -> Cgroup:
        """A new group; OSError where the kernel refuses it."""
        group = Cgroup((self.memory / name, self.pids / name))
        for directory in group.directories:
            directory.mkdir(exist_ok=True)
        limit = str(self.memory_bytes)
        (self.memory / name / "memory.limit_in_bytes").write_text(limit)
        with contextlib.suppress(OSError):  # only where swap is accounted
            (self.memory / name / "memory.memsw.limit_in_bytes").write_text(limit)
        (self.pids / name / "pids.max").write_text(str(self.processes))
        return group

    def reap(self) -> int:
        """Kill and remove what an earlier server on this data left; how many."""
        names = {
            child.name
            for parent in self.parents
            for child in parent.iterdir()
            if child.is_dir()
        }
        for name in names:
            Cgroup(tuple(parent / name for parent in self.parents)).remove()
        return len(names)

    def close(self) -> None:
        """Remove the server's parents, once its groups are gone."""
        for parent in self.parents:
            with contextlib.suppress(OSError):
                parent.rmdir()


def own_directory(controller: str) -> Path | None:
    """Where this process sits in ``controller``'s v1 hierarchy."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _number, names, path = line.split(":", 2)
        if controller in names.split(","):
            return ROOT / controller / path.lstrip("/")
    return None


def find_cgroups(data: Path, memory_bytes: int, processes: int) -> Cgroups | None:
    """This server's groups, or None where it may not make them."""
    name = "openfxn-" + hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:16]
    parents = []
    for controller in CONTROLLERS:
        own = own_directory(controller)
        if own is None or not (own / "cgroup.procs").exists():
            return None
        parents.append(own / name)
    memory, pids = parents
    try:
        for parent in parents:
            parent.mkdir(exist_ok=True)
        probe = Cgroups(memory, pids, memory_bytes, processes).create("probe")
        probe.remove()
    except OSError as error:
        logger.debug("no control groups: %s", error)
        return None
    return Cgroups(memory, pids, memory_bytes, processes)
