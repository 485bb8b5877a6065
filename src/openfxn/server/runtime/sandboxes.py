"""The sandbox a predictor's code runs in, in the best tier this machine allows.

Tier A, bubblewrap (``apt-get install bubblewrap``): namespaces of its own for
every kind (user, mount, pid, network, ipc, uts, cgroup), no capabilities, no
way to make more user namespaces, uid and gid 65534, and a filesystem that
holds only ``/usr``, the Python installation, the predictor's environment and
the few files it is given, all read-only, plus a size-capped tmpfs for its
working directory and ``/tmp``. There is no network, not even loopback, so
neither the server's port nor its database can be reached, and no file of the
server's (database, keys, other predictors) is visible. The sandbox dies with
the process that started it.

Tier B, where user namespaces are refused (a default Docker container): the
trusted first step of the process (``predictors/confinement.py``) drops every
capability and applies Landlock (the same read-only view, a writable working
directory, no TCP, no signals out) and a seccomp filter that refuses
``socket()``. It cannot cap the disk the code fills beyond one file's size.

Tier C has neither: predictors are refused unless ``OPENFXN_ALLOW_UNCONFINED``
says the code is trusted.

In every tier the code runs with resource limits (address space, open files,
file size, no core dumps), no new privileges, not dumpable, killed with its
parent, in a control group capping its memory and processes where the server
may make one (``cgroups.py``), and under the server's wall-clock deadlines.

Paths inside are the same as outside, so a command reads the same either way.
``OPENFXN_SANDBOX`` chooses the tier: ``auto`` (the best a probe finds),
``bwrap`` (A or refuse to start), ``shim`` (B) or ``none`` (C);
``OPENFXN_SANDBOX_MIN_TIER`` refuses to start below a tier, naming what is
missing.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openfxn.server.predictors import confinement
from openfxn.server.runtime.cgroups import Cgroups, find_cgroups
from openfxn.server.settings import SandboxMode, Settings
from openfxn.server.settings import SandboxTier as Tier

logger = logging.getLogger("openfxn.server")

NOBODY = "65534"
PROBE_TIMEOUT_S = 10.0
# Debian and most distributions now keep these in /usr and link them from /.
USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_FILES = ("/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/mime.types")


MODE_TIERS = {SandboxMode.BWRAP: Tier.A, SandboxMode.SHIM: Tier.B}


class SandboxUnavailable(Exception):
    """The settings require a sandbox this machine cannot give."""


class Unconfined(Exception):
    """The server would run a predictor's code unconfined, and may not."""


@dataclass(frozen=True)
class Limits:
    """What one process of a predictor's code may use."""

    memory_bytes: int = 2 * 1024**3
    processes: int = 64
    open_files: int = 1024
    scratch_bytes: int = 256 * 1024**2

    def rlimits(self) -> dict[str, int]:
        # The address space gets headroom: runtimes reserve more than they touch,
        # and the control group, where there is one, caps what is touched.
        return {
            "as": 4 * self.memory_bytes,
            "nproc": self.processes,
            "nofile": self.open_files,
            "fsize": self.scratch_bytes,
            "core": 0,
        }


@dataclass(frozen=True)
class Sandbox:
    """Wraps a command so that it runs confined in ``tier``."""

    tier: Tier = Tier.C
    bwrap: str | None = None
    limits: Limits = field(default_factory=Limits)
    cgroups: Cgroups | None = None
    allow_unconfined: bool = False

    @property
    def kind(self) -> str:
        return {Tier.A: "bwrap", Tier.B: "shim", Tier.C: "none"}[self.tier]

    def refusal(self) -> str | None:
        """Why code may not run here, or None."""
        if self.tier != Tier.C or self.allow_unconfined:
            return None
        return (
            "This server cannot confine predictors' code (no bubblewrap, no "
            "Landlock and seccomp), so it runs none. Install bubblewrap, or set "
            "OPENFXN_ALLOW_UNCONFINED=true if you trust every predictor's code."
        )

    def wrap(
        self, command: Sequence[str], *, readable: Sequence[Path], workdir: Path
    ) -> list[str]:
        """``command`` confined, seeing ``readable`` read-only and ``workdir``
        as an empty scratch directory."""
        if self.tier != Tier.A:
            return list(command)
        assert self.bwrap is not None
        return [
            self.bwrap,
            *isolation(),
            *filesystem(readable, workdir, self.limits.scratch_bytes),
            "--chdir", str(workdir),
            "--",
            *command,
        ]  # fmt: skip

    def layers(self, *, readable: Sequence[Path], workdir: Path) -> dict[str, Any]:
        """What ``confinement.apply`` applies inside, for ``readable`` and
        ``workdir``."""
        layers: dict[str, Any] = {"rlimits": self.limits.rlimits()}
        if self.tier == Tier.A:
            layers["seccomp"] = {"deny_sockets": False}  # no network there anyway
        if self.tier == Tier.B:
            read = [*system_paths(), *map(str, readable)]
            write = [str(workdir), "/dev/null"]
            layers["landlock"] = {"read": read, "write": write}
            layers["seccomp"] = {"deny_sockets": True}
        return layers

    def environment(self, *, readable: Sequence[Path], workdir: Path) -> dict[str, str]:
        """The variable that hands ``layers`` to the process."""
        layers = self.layers(readable=readable, workdir=workdir)
        return {confinement.VARIABLE: json.dumps(layers)}


def isolation() -> list[str]:
    return [
        "--unshare-all",  # no --share-net: no network at all
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--uid", NOBODY,
        "--gid", NOBODY,
        "--hostname", "predictor",
    ]  # fmt: skip


def filesystem(readable: Sequence[Path], workdir: Path, scratch: int) -> list[str]:
    # The tmpfs first: later mounts at paths under /tmp go on top of it.
    arguments = ["--size", str(scratch), "--tmpfs", "/tmp"]
    arguments += ["--ro-bind", "/usr", "/usr"]
    for name in USR_LINKS:
        if Path("/", name).is_symlink() and Path("/usr", name).exists():
            arguments += ["--symlink", f"usr/{name}", f"/{name}"]
    for path in (*ETC_FILES, *python_roots(), *map(str, readable)):
        if Path(path).exists():
            arguments += ["--ro-bind", path, path]
    arguments += ["--proc", "/proc", "--dev", "/dev"]
    arguments += ["--size", str(scratch), "--tmpfs", str(workdir)]
    return arguments


def system_paths() -> list[str]:
    """What code reads outside bubblewrap: the same view as inside."""
    linked = [f"/{name}" for name in USR_LINKS if Path("/", name).exists()]
    return ["/usr", *linked, *ETC_FILES, *python_roots()]


def python_roots() -> list[str]:
    """Where this Python lives: environments made from it point there."""
    roots = {sys.base_prefix, sys.base_exec_prefix}
    return sorted(root for root in roots if not root.startswith("/usr"))


def base_python() -> str:
    return getattr(sys, "_base_executable", sys.executable)  # not a venv's link


@functools.cache  # the machine does not change while the server runs
def probe(tier: Tier, bwrap: str | None = None) -> str | None:
    """None when ``tier`` can confine a Python here; else why not."""
    sandbox = Sandbox(tier, bwrap)
    workdir = Path("/tmp") if tier == Tier.B else Path("/tmp/probe")
    readable = [Path(confinement.__file__)]
    code = "import runpy, sys; runpy.run_path(sys.argv[1])['apply_or_exit']()"
    command = sandbox.wrap(
        [base_python(), "-I", "-S", "-c", code, str(readable[0])],
        readable=readable,
        workdir=workdir,
    )
    environment = sandbox.environment(readable=readable, workdir=workdir)
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env={**environment, "PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if result.returncode != 0:
        return result.stderr.strip() or f"exit status {result.returncode}"
    return None


def find_tier(mode: SandboxMode) -> tuple[Tier, str | None, list[str]]:
    """The best tier ``mode`` allows here, bubblewrap's path, and what is
    missing for each better tier."""
    missing: list[str] = []
    if mode in (SandboxMode.AUTO, SandboxMode.BWRAP):
        bwrap = shutil.which("bwrap")
        problem = probe(Tier.A, bwrap) if bwrap else "bubblewrap is not installed"
        if problem is None:
            return Tier.A, bwrap, missing
        missing.append(f"tier A: {problem}")
    if mode in (SandboxMode.AUTO, SandboxMode.SHIM):
        problem = probe(Tier.B)
        if problem is None:
            return Tier.B, None, missing
        missing.append(f"tier B: {problem}")
    return Tier.C, None, missing


def create_sandbox(settings: Settings) -> Sandbox:
    """The sandbox the settings ask for, probed; logs what user code will get."""
    tier, bwrap, missing = find_tier(settings.sandbox)
    # Tiers sort from A, the best, to C: the strictest demand is the least.
    minimum = min(MODE_TIERS.get(settings.sandbox, Tier.C), settings.sandbox_min_tier)
    if tier > minimum:
        raise SandboxUnavailable(
            f"The settings require sandbox tier {minimum.value} or better, and this "
            f"machine offers tier {tier.value}: {'; '.join(missing)}. Install "
            "bubblewrap (apt-get install bubblewrap) and allow user namespaces, "
            "or lower OPENFXN_SANDBOX_MIN_TIER."
        )
    limits = Limits(
        memory_bytes=settings.predictor_memory_bytes,
        # Threads count as processes here; a worker's own prediction threads
        # come on top of what the predictor may start.
        processes=settings.predictor_processes + settings.worker_concurrency,
        open_files=settings.predictor_open_files,
        scratch_bytes=settings.sandbox_scratch_bytes,
    )
    cgroups = find_cgroups(settings.data, limits.memory_bytes, limits.processes)
    sandbox = Sandbox(tier, bwrap, limits, cgroups, settings.allow_unconfined)
    log_sandbox(sandbox, missing)
    return sandbox


def log_sandbox(sandbox: Sandbox, missing: list[str]) -> None:
    groups = "control groups" if sandbox.cgroups else "no control groups"
    logger.info("sandbox tier %s (%s, %s)", sandbox.tier, sandbox.kind, groups)
    for reason in missing:
        logger.warning("sandbox %s", reason)
    if sandbox.cgroups is None and os.geteuid() == 0 and sandbox.tier != Tier.C:
        logger.warning(
            "sandbox: no control groups here, so a predictor's processes and memory "
            "are capped only by resource limits, and root is exempt from the "
            "process limit"
        )
    if sandbox.tier == Tier.C:
        if sandbox.allow_unconfined:
            logger.warning(
                "sandbox: NONE. Predictors' code runs unconfined, with the server's "
                "rights (OPENFXN_ALLOW_UNCONFINED=true)"
            )
        else:
            logger.warning("sandbox: none available, so predictors are refused")
