"""Hostile code in the sandbox, for real: each case runs a small program through
``launch.run`` under bubblewrap and checks what it could and could not reach.

Outside CI the cases skip when bubblewrap cannot run on this machine; in CI
(``CI=true``) that is a failure, so the sandbox cannot be lost silently.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from openfxn.server.runtime import launch
from openfxn.server.runtime.sandboxes import (
    Limits,
    Sandbox,
    SandboxUnavailable,
    create_sandbox,
)
from openfxn.server.settings import SandboxMode, SandboxTier, Settings
from tests.server.runtime.conftest import Listener

PYTHON = Path(getattr(sys, "_base_executable", sys.executable))
SCRATCH_BYTES = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    data = tmp_path_factory.mktemp("data")
    found = create_sandbox(Settings(sandbox=SandboxMode.AUTO, data=data))
    if found.tier != SandboxTier.A:
        if os.environ.get("CI"):
            pytest.fail("CI must run predictors in tier A (bubblewrap), and cannot")
        pytest.skip("bubblewrap cannot run on this machine")
    limits = Limits(scratch_bytes=SCRATCH_BYTES)
    return Sandbox(SandboxTier.A, found.bwrap, limits, found.cgroups)


async def run(sandbox: Sandbox, code: str, tmp_path: Path, **variables: str) -> str:
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    completed = await launch.run(
        PYTHON,
        ["-I", "-c", textwrap.dedent(code)],
        sandbox=sandbox,
        readable=[],
        variables=variables,
        workdir=workdir,
        time_limit=20,
    )
    assert not completed.timed_out, completed
    return completed.stdout.strip()


def attempt(expression: str) -> str:
    """A program printing 'reached' if ``expression`` succeeds, else the error."""
    return f"""
        import os, socket, sys
        try:
            {expression}
            print("reached")
        except OSError as error:
            print(type(error).__name__)
    """


async def test_runs_as_nobody_with_only_its_variables(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    os.environ["OPENFXN_TEST_SERVER_ONLY"] = "server"
    try:
        code = "import os; print(os.getuid(), os.getgid(), sorted(os.environ))"
        printed = await run(sandbox, code, tmp_path, API_TOKEN="t")
    finally:
        del os.environ["OPENFXN_TEST_SERVER_ONLY"]

    uid, gid, names = printed.split(" ", 2)
    assert (uid, gid) == ("65534", "65534")
    assert "API_TOKEN" in names
    assert "OPENFXN_TEST_SERVER_ONLY" not in names


async def test_server_files_are_invisible(sandbox: Sandbox, tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    secret.write_text("canary")

    printed = await run(sandbox, attempt(f"open({str(secret)!r}).read()"), tmp_path)

    assert printed == "FileNotFoundError"


HIDDEN = ("/home", "/var", "/run", "/srv", "/mnt", "/etc/shadow", "/etc/passwd")


async def test_system_files_are_invisible(sandbox: Sandbox, tmp_path: Path) -> None:
    code = f"import os; print([p for p in {HIDDEN!r} if os.path.exists(p)])"

    assert await run(sandbox, code, tmp_path) == "[]"


async def test_no_loopback_tcp(
    sandbox: Sandbox, tmp_path: Path, listener: Listener
) -> None:
    reach = f"socket.create_connection(('127.0.0.1', {listener.port}), timeout=2)"

    printed = await run(sandbox, attempt(reach), tmp_path)

    assert printed in ("OSError", "ConnectionRefusedError")  # network unreachable
    assert listener.connections == 0


async def test_no_pathname_unix_socket(
    sandbox: Sandbox, tmp_path: Path, listener: Listener
) -> None:
    reach = f"socket.socket(socket.AF_UNIX).connect({str(listener.unix_path)!r})"

    printed = await run(sandbox, attempt(reach), tmp_path)

    assert printed == "FileNotFoundError"
    assert listener.connections == 0


async def test_cannot_make_user_namespaces(sandbox: Sandbox, tmp_path: Path) -> None:
    code = """
        import ctypes, errno
        libc = ctypes.CDLL(None, use_errno=True)
        status = libc.unshare(0x10000000)  # CLONE_NEWUSER
        print(status, errno.errorcode.get(ctypes.get_errno()))
    """

    # --disable-userns leaves a limit of zero: ENOSPC, or EPERM on older kernels
    assert await run(sandbox, code, tmp_path) in ("-1 ENOSPC", "-1 EPERM")


async def test_scratch_space_is_capped(sandbox: Sandbox, tmp_path: Path) -> None:
    fill = "open('big', 'wb').write(bytes(2 * " + str(SCRATCH_BYTES) + "))"

    printed = await run(sandbox, attempt(fill), tmp_path)

    assert printed == "OSError"  # ENOSPC
    assert not (tmp_path / "work" / "big").exists()  # and never on the host


async def test_daemon_does_not_outlive_the_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    marker = tmp_path / "work" / "alive"
    code = """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(30)
            os._exit(0)
        print(os.getpid())
    """

    printed = await run(sandbox, code, tmp_path)

    assert printed == "2"  # its own pid namespace: bwrap's init is 1
    assert not marker.exists()
    leftovers = [
        pid
        for pid in os.listdir("/proc")
        if pid.isdigit() and b"time.sleep(30)" in read_cmdline(pid)
    ]
    assert leftovers == []


def read_cmdline(pid: str) -> bytes:
    try:
        return Path("/proc", pid, "cmdline").read_bytes()
    except OSError:
        return b""


def test_required_sandbox_refuses_to_start_without_bwrap(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it

    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        create_sandbox(Settings(sandbox=SandboxMode.BWRAP, data=tmp_path))
    with pytest.raises(SandboxUnavailable, match="tier A: bubblewrap is not installed"):
        create_sandbox(Settings(sandbox_min_tier=SandboxTier.A, data=tmp_path))
    assert create_sandbox(Settings(data=tmp_path)).kind == "shim"


def test_sandbox_off_runs_nothing_unless_allowed(tmp_path: Path) -> None:
    refusing = create_sandbox(Settings(sandbox=SandboxMode.NONE, data=tmp_path))
    allowing = create_sandbox(
        Settings(sandbox=SandboxMode.NONE, allow_unconfined=True, data=tmp_path)
    )

    command = allowing.wrap(["python", "-c", "pass"], readable=[], workdir=Path("/w"))

    assert (allowing.kind, command) == ("none", ["python", "-c", "pass"])
    assert allowing.refusal() is None
    assert "OPENFXN_ALLOW_UNCONFINED=true" in (refusal := refusing.refusal() or "")
    assert "Install bubblewrap" in refusal
