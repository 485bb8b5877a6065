"""Where an openfxn prediction's CPU goes: each thread of the server's processes.

Starts ``openfxn serve`` as ``compare.py`` does (CPU 0, a throwaway user and
data directory, sandbox as configured), creates one of the comparison's
predictors, warms it, then drives it with wrk from CPU 1 and reads every
thread's user and system time from ``/proc/<pid>/task/<tid>/stat`` before and
after. Prints each busy thread's CPU per prediction and how CPU 0 spent the
run. Standard library only.

    .venv/bin/python bench/threads.py
    .venv/bin/python bench/threads.py --workload tensor --connections 64
    .venv/bin/python bench/threads.py --setting OPENFXN_SQLITE_SYNCHRONOUS=normal
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from comparison.workloads import workload_named
from harness import SERVER_CPU, find_tools, format_columns
from loads import run_posts, write_post_script
from processes import process_table, tree
from servers import create_predictor, predict, running_server, username

WARMUP_S = 3
BUSY_S = 0.005  # threads that used less over the run are left out
CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def thread_seconds(root: int) -> dict[tuple[int, int], tuple[str, float, float]]:
    """(pid, tid) -> (what it is, user s, system s) for each thread of the server."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in tree(root, process_table()):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in map(int, tids):
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rpartition(")")[2].split()
            role = describe(root, pid, tid, name)
            found[pid, tid] = (role, int(fields[11]) / ticks, int(fields[12]) / ticks)
    return found


def describe(root: int, pid: int, tid: int, name: str) -> str:
    if pid != root:
        return f"{name} {pid}" + ("" if tid == pid else f" thread {tid}")
    return "server: event loop" if tid == pid else f"server: thread {tid}"


def cpu_fields(cpu: str) -> list[int]:
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith(f"cpu{cpu} "):
                return [int(value) for value in line.split()[1:9]]
    raise RuntimeError(f"no cpu{cpu} in /proc/stat")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workload", default="greeting", help="greeting, tensor, sleep"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=int, default=8, help="seconds measured")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting (environment variable), repeatable",
    )
    parser.add_argument("--openfxn", help="openfxn executable (default: .venv's)")
    args = parser.parse_args()
    settings = {"UV_OFFLINE": "1"}  # the tensor's numpy, from uv's cache
    for setting in args.setting:
        name, equals, value = setting.partition("=")
        if not equals:
            parser.error(f"--setting {setting!r}: write NAME=VALUE")
        settings[name] = value

    tools = find_tools(args.openfxn)
    workload = workload_named(args.workload)
    with (
        running_server(tools, None, settings) as server,
        tempfile.TemporaryDirectory(prefix="openfxn-threads-") as temp,
    ):
        tag = f"@{username(server)}/{workload.name}"
        create_predictor(server, tag, workload.predictor)
        predict(server, tag, workload.rest_inputs, workload.expected)
        body = Path(temp) / "body.json"
        body.write_text(json.dumps(workload.rest_inputs))
        script = write_post_script(
            Path(temp) / "post.lua", body, server.key, workload.expected
        )
        url = f"{server.base_url}/predict/{tag}"
        run_posts(tools, script, url, args.connections, WARMUP_S)
        before, cpu_before = thread_seconds(server.pid), cpu_fields(SERVER_CPU)
        load = run_posts(tools, script, url, args.connections, args.duration)
        after, cpu_after = thread_seconds(server.pid), cpu_fields(SERVER_CPU)

    count = load.wrk.requests
    rows, total = [], 0.0
    for key, (role, user, system) in sorted(after.items()):
        _, user_before, system_before = before.get(key, (role, 0.0, 0.0))
        used_user, used_system = user - user_before, system - system_before
        total += used_user + used_system
        if used_user + used_system >= BUSY_S:
            rows.append(
                [
                    role,
                    f"{used_user / count * 1e6:,.1f}",
                    f"{used_system / count * 1e6:,.1f}",
                ]
            )
    rows.append(["all threads", "", f"{total / count * 1e6:,.1f} in all"])
    spent = [
        after_ - before_ for before_, after_ in zip(cpu_before, cpu_after, strict=True)
    ]
    shares = ", ".join(
        f"{name} {100 * value / max(sum(spent), 1):.0f}%"
        for name, value in zip(CPU_FIELDS, spent, strict=True)
        if value
    )
    print(
        f"{workload.name} at {args.connections} connections for {args.duration} s: "
        f"{load.wrk.requests_per_second:,.0f} predictions/s, p50 {load.wrk.p50_ms} ms, "
        f"p99 {load.wrk.p99_ms} ms, {load.describe_errors(workload.expected)}"
    )
    print(f"CPU {SERVER_CPU} (the server's): {shares}\n")
    print(
        format_columns(["thread", "user µs/prediction", "system µs/prediction"], rows)
    )


if __name__ == "__main__":
    main()
