"""What the report says about the machine and the software it measured."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from harness import REPO, Tools, run_command
from loads import wrk_version


def output_of(command: list[str]) -> str:
    """The first line a command prints, or '?' when it cannot run."""
    try:
        done = run_command(command, 60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if done.returncode == 0 and lines else "?"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "?"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def describe_machine(tools: Tools) -> list[str]:
    commit = output_of(["git", "-C", str(REPO), "describe", "--always", "--dirty"])
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} cores, {memory_gib():.0f} GiB",
        f"kernel: Linux {platform.release()}; Python {platform.python_version()}",
        f"{wrk_version(tools).partition(' Copyright')[0]}; "
        f"{output_of(['bwrap', '--version'])}",
        f"openfxn {output_of([tools.openfxn, '--version'])} ({tools.openfxn}), "
        f"commit {commit}",
    ]


def known_settings(tools: Tools, variables: list[str]) -> dict[str, bool]:
    """Which OPENFXN_ variables the server under test has a setting for."""
    python = Path(tools.openfxn).parent / "python"
    fields = [name.removeprefix("OPENFXN_").lower() for name in variables]
    script = (
        "import sys; from openfxn.server.settings import Settings; "
        "print(' '.join(n for n in sys.argv[1:] if n in Settings.model_fields))"
    )
    found = output_of([str(python), "-c", script, *fields]).split()
    return {name: field in found for name, field in zip(variables, fields, strict=True)}
