"""The sandbox a predictor's code runs in.

With bubblewrap (``apt-get install bubblewrap``) the code gets namespaces of
its own for every kind (user, mount, pid, network, ipc, uts, cgroup), no
capabilities, no way to make more user namespaces, uid and gid 65534, and a
filesystem that holds only ``/usr``, the Python installation, the predictor's
environment and the few files it is given, all read-only, plus a size-capped
tmpfs for its working directory and ``/tmp``. There is no network, not even
loopback, so neither the server's port nor its database can be reached, and
no file of the server's (database, keys, other predictors) is visible. The
sandbox dies with the process that started it.

Paths inside are the same as outside, so a command reads the same either way.

``OPENFXN_SANDBOX`` chooses: ``auto`` (the default) uses bubblewrap when a
probe shows it works and otherwise runs code unconfined with a warning;
``bwrap`` refuses to start without it; ``none`` turns it off, with a warning.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openfxn.server.settings import SandboxMode, Settings

logger = logging.getLogger("openfxn.server")

NOBODY = "65534"
PROBE_TIMEOUT_S = 10.0
# Debian and most distributions now keep these in /usr and link them from /.
USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_FILES = ("/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/mime.types")


class SandboxUnavailable(Exception):
    """The settings require a sandbox this machine cannot give."""


@dataclass(frozen=True)
class Sandbox:
    """Wraps a command so that it runs confined; ``bwrap`` None runs it as it is."""

    bwrap: str | None
    scratch_bytes: int = 256 * 1024 * 1024

    @property
    def kind(self) -> str:
        return "bwrap" if self.bwrap else "none"

    def wrap(
        self, command: Sequence[str], *, readable: Sequence[Path], workdir: Path
    ) -> list[str]:
        """``command`` confined, seeing ``readable`` read-only and ``workdir``
        as an empty scratch directory."""
        if self.bwrap is None:
            return list(command)
        return [
            self.bwrap,
            *isolation(),
            *filesystem(readable, workdir, self.scratch_bytes),
            "--chdir", str(workdir),
            "--",
            *command,
        ]  # fmt: skip


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


def python_roots() -> list[str]:
    """Where this Python lives: environments made from it point there."""
    roots = {sys.base_prefix, sys.base_exec_prefix}
    return sorted(root for root in roots if not root.startswith("/usr"))


@functools.cache  # the machine does not change while the server runs
def probe(bwrap: str) -> str | None:
    """None when bubblewrap can start a confined Python here; else why not."""
    sandbox = Sandbox(bwrap)
    python = getattr(sys, "_base_executable", sys.executable)  # not a venv's link
    command = sandbox.wrap(
        [python, "-I", "-S", "-c", "pass"],
        readable=[],
        workdir=Path("/tmp/probe"),
    )
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if result.returncode != 0:
        return result.stderr.strip() or f"exit status {result.returncode}"
    return None


def create_sandbox(settings: Settings) -> Sandbox:
    """The sandbox the settings ask for, probed; logs what user code will get."""
    if settings.sandbox == SandboxMode.NONE:
        logger.warning("sandbox off (OPENFXN_SANDBOX=none): predictors run unconfined")
        return Sandbox(None)

    bwrap = shutil.which("bwrap")
    problem = probe(bwrap) if bwrap else "bwrap is not installed"
    if problem is None:
        assert bwrap is not None
        logger.info("sandbox bwrap (%s)", bwrap)
        return Sandbox(bwrap, settings.sandbox_scratch_bytes)

    if settings.sandbox == SandboxMode.BWRAP:
        raise SandboxUnavailable(
            f"OPENFXN_SANDBOX=bwrap, but bubblewrap cannot run here: {problem}. "
            "Install it (apt-get install bubblewrap) and allow user namespaces, "
            "or set OPENFXN_SANDBOX=auto."
        )
    logger.warning(
        "sandbox unavailable (%s): predictors run unconfined; install bubblewrap "
        "(apt-get install bubblewrap) to confine them",
        problem,
    )
    return Sandbox(None)
