#!/usr/bin/env python3
"""Compare openfxn with its peers: the same functions, side by side, one machine.

Each server runs alone on CPU 0 (its whole process tree, pinned with taskset)
while wrk and this script run on CPU 1, over loopback:

- openfxn-rest: ``openfxn serve`` with its defaults, sandbox tier A, REST
  ``POST /predict/@owner/name`` with a Bearer key;
- openfxn-graphql: the same server, through GraphQL ``createPrediction``;
- floor: bare Starlette on uvicorn, the function called in the server process;
- floor-prefork: the same, the function in one pre-forked worker process;
- bentoml: BentoML (threads=40) serving the same functions;
- ray-serve: Ray Serve (max_ongoing_requests=100) serving them.

Workloads: greeting ({"name": "World"} to "Hello, World!"), tensor (the sum of
100,000 float32 sent as base64), sleep (a predictor that sleeps 50 ms); at 1,
8 and 64 connections. Also each server's cold start and, for openfxn REST,
its memory over a soak. The peers install once, pinned, into their own
virtual environments (``--envs``); openfxn is the project's ``.venv``.

Modes:
  --quick   1 s runs after one 1 s warm-up per server and workload, a 5 s
            soak, without Ray Serve unless --only names it: under 2 minutes.
  (default) full: 10 s runs, each after a 3 s warm-up, 3 cold starts per
            server, a 10-minute soak: about 25 minutes.

The report (markdown) goes to standard output, progress to standard error.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from comparison import environments, reports
from comparison.contenders import CONTENDERS, TRANSPORTS, WORKLOAD_SETTINGS
from comparison.environments import InstallError
from comparison.machines import describe_machine, known_settings
from comparison.plans import CONNECTIONS, FULL, QUICK, Mode, Plan
from comparison.reports import Setup
from comparison.runs import Results
from comparison.sessions import measure_safely
from comparison.workloads import all_workloads
from harness import (
    LOAD_CPU,
    SERVER_CPU,
    Tools,
    find_tools,
    format_interference,
    format_load,
    raise_on_sigterm,
)

RAY = "ray-serve"
DEFAULT_ENVS = Path.home() / ".cache" / "openfxn-bench"


# ---------- arguments ----------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="the quick mode")
    parser.add_argument(
        "--only",
        metavar="SERVER[,SERVER]",
        help=f"measure only these servers: {', '.join(CONTENDERS)}",
    )
    parser.add_argument(
        "--workloads",
        metavar="W[,W]",
        help="only these workloads: greeting, tensor, sleep",
    )
    parser.add_argument("--connections", metavar="N[,N]", help="concurrencies (1,8,64)")
    parser.add_argument("--duration", type=int, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, help="seconds per warm-up run")
    parser.add_argument(
        "--soak", type=int, help="seconds of the openfxn REST soak (0: none)"
    )
    parser.add_argument(
        "--envs",
        type=Path,
        default=DEFAULT_ENVS,
        help=f"where the peers' environments live (default {DEFAULT_ENVS})",
    )
    parser.add_argument(
        "--openfxn", default=None, help="openfxn executable (default: .venv's)"
    )
    return parser.parse_args(argv)


def chosen(text: str | None, known: Sequence[str], what: str) -> list[str]:
    """The names a comma-separated option lists, in the known order."""
    if text is None:
        return list(known)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise SystemExit(
            f"unknown {what}: {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(known)}"
        )
    return [name for name in known if name in names]


def mode_of(args: argparse.Namespace) -> Mode:
    """The chosen mode, with the durations the options change."""
    mode = QUICK if args.quick else FULL
    for option, field, least in (
        ("duration", "duration", 1),
        ("warmup", "warmup", 1),
        ("soak", "soak_s", 0),
    ):
        value = getattr(args, option)
        if value is not None and value < least:
            raise SystemExit(f"--{option} must be at least {least}: {value}")
        if value is not None:
            mode = dataclasses.replace(mode, **{field: value})
    return mode


def check_tools(openfxn: str | None) -> Tools:
    """wrk, taskset and openfxn, or exit saying what to install."""
    tools = find_tools(openfxn)
    if tools.taskset is None:
        raise SystemExit(
            "taskset is not installed; the comparison pins each server to one "
            "CPU. Install it with: apt-get install -y util-linux"
        )
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("the comparison needs 2 CPUs: one for the server, one for wrk")
    if not Path("/proc/self/smaps_rollup").exists():
        raise SystemExit("the comparison reads /proc/PID/smaps_rollup (Linux 4.14+)")
    return tools


def make_plan(args: argparse.Namespace, folder: Path) -> tuple[Plan, list[str]]:
    """The plan, and the lines that say what was left out."""
    mode = mode_of(args)
    contenders = chosen(args.only, CONTENDERS, "server")
    notes = []
    if mode.leaves_out_ray and args.only is None:
        contenders.remove(RAY)
        notes.append(
            "ray-serve is left out of the quick mode, which it would take past 2 "
            "minutes (about 30 s more); run the full mode, or name it in --only"
        )
    names = [workload.name for workload in all_workloads()]
    kept = chosen(args.workloads, names, "workload")
    workloads = [workload for workload in all_workloads() if workload.name in kept]
    plan = Plan(
        check_tools(args.openfxn),
        mode,
        contenders,
        workloads,
        counts(args.connections),
        args.envs.expanduser().resolve(),
        folder,
    )
    return plan, notes


def counts(text: str | None) -> list[int]:
    if text is None:
        return list(CONNECTIONS)
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        raise SystemExit(f"--connections takes positive numbers, like 1,8,64: {text}")
    return numbers


# ---------- environments ----------


def prepare_environments(plan: Plan) -> dict[str, dict[str, str]]:
    """Build what is missing; the versions of what the report names, by env."""
    found: dict[str, dict[str, str]] = {}
    for launcher in plan.launchers():
        environment = launcher.environment
        if environment is not None and environment.name not in found:
            environments.ensure(environment, plan.envs)
            found[environment.name] = environments.versions(environment, plan.envs)
    return found


# ---------- the report ----------


def describe_mode(plan: Plan) -> str:
    mode = plan.mode
    warmups = (
        f"each after a {mode.warmup} s warm-up at its concurrency"
        if mode.warms_each_run
        else f"after one {mode.warmup} s warm-up at 8 connections per server "
        "and workload"
    )
    return (
        f"Mode {mode.name}: {mode.duration} s measured runs ({warmups}) with "
        f"`wrk -t1 -cN -d{mode.duration}s --latency --timeout 10s` and a Lua "
        "script that POSTs the body with a Bearer key; each server's process "
        f"tree pinned to CPU {SERVER_CPU}, wrk and this script to CPU {LOAD_CPU}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
    )


def describe_workload_settings(plan: Plan) -> list[str]:
    variables = [
        name
        for settings in WORKLOAD_SETTINGS.values()
        for name in settings
        if name.startswith("OPENFXN_")
    ]
    known = known_settings(plan.tools, variables)
    measured = {launcher.name for launcher in plan.launchers()}
    workloads = {workload.name for workload in plan.workloads}
    lines = []
    for (launcher, workload), settings in WORKLOAD_SETTINGS.items():
        if launcher not in measured or workload not in workloads:
            continue
        for name, value in settings.items():
            unknown = name in known and not known[name]
            warning = " (this openfxn has no such setting: ignored)" if unknown else ""
            lines.append(f"{launcher}, {workload}: `{name}={value}`{warning}")
    return lines


def build_setup(
    plan: Plan, argv: Sequence[str], versions: dict[str, dict[str, str]]
) -> Setup:
    command = shlex.join([".venv/bin/python", "bench/compare.py", *argv])
    settings = [
        (
            contender,
            "; ".join(filter(None, (TRANSPORTS.get(contender), launcher.settings))),
        )
        for launcher in plan.launchers()
        for contender in launcher.contenders
        if contender in plan.contenders
    ]
    return Setup(
        command=command,
        mode=describe_mode(plan),
        machine=describe_machine(plan.tools),
        versions=versions,
        settings=settings,
        workload_settings=describe_workload_settings(plan),
    )


# ---------- the run ----------


def run(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="openfxn-compare-") as folder:
        plan, notes = make_plan(args, Path(folder))
        versions = prepare_environments(plan)
        os.sched_setaffinity(0, {int(LOAD_CPU)})  # with wrk, off the server's CPU
        results = Results(notes=notes)
        load_start = os.getloadavg()
        for launcher in plan.launchers():
            measure_safely(plan, launcher, results)
        results.notes += [
            format_load(load_start, os.getloadavg()),
            interference(plan, results),
            f"the whole comparison took {time.monotonic() - started:.0f} s",
        ]
        print(
            reports.render(
                build_setup(plan, argv, versions),
                results,
                plan.workloads,
                plan.contenders,
            )
        )
    return 1 if results.failures or results.error_notes() else 0


def interference(plan: Plan, results: Results) -> str:
    rows = results.rows
    return format_interference(
        sum(row.other_cpu_s for row in rows),
        sum(row.steal_s for row in rows),
        len(rows) * plan.mode.duration * (os.cpu_count() or 1),
    )


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except InstallError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the servers are stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
