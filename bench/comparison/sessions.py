"""One comparison, server by server: launches, warm-ups, measured runs, cold starts.

Each launcher (a kind of server process) is started once for each run of
workloads that share its settings. A peer's launch is also one of its cold
starts; openfxn's cold starts are new predictors, made after its measured runs
so that their workers do not weigh on the runs' memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from servers import Server, create_predictor, username

from comparison.contenders import (
    OPENFXN,
    OPENFXN_REST,
    Launched,
    Launcher,
    launches,
    request_for,
    running_openfxn,
    running_peer,
    settings_for,
)
from comparison.plans import Plan
from comparison.runs import (
    ColdStart,
    Results,
    Target,
    check_answer,
    idle_pss_kib,
    measure,
    post_and_check,
    prepare,
    soak,
    warm_up,
)
from comparison.workloads import Workload, workload_named


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def load_target(plan: Plan, target: Target, results: Results) -> None:
    """Warm-ups and measured runs at each concurrency, for one target."""
    mode = plan.mode
    if not mode.warms_each_run:
        results.warmups.append(warm_up(plan.tools, target, 8, mode.warmup))
    for connections in plan.connections:
        if mode.warms_each_run:
            results.warmups.append(
                warm_up(plan.tools, target, connections, mode.warmup)
            )
        row = measure(plan.tools, target, connections, mode.duration)
        results.rows.append(row)
        progress(
            f"  {row.contender} {row.workload} c={connections}: "
            f"{row.load.wrk.requests_per_second:,.0f} req/s, "
            f"p99 {row.load.wrk.p99_ms:.1f} ms, "
            f"{row.cpu_us_per_request:,.0f} µs CPU/req, {row.load.errors} errors"
        )


def measure_peer(
    plan: Plan, launcher: Launcher, group: list[Workload], results: Results
) -> None:
    contender = launcher.contenders[0]
    settings = settings_for(launcher, group[0])
    log = plan.folder / f"{launcher.name}.log"
    with running_peer(plan.tools, launcher, plan.envs, settings, log) as server:
        targets = [prepare(contender, w, server, plan.folder) for w in group]
        for target in targets:
            check_answer(target)
        assert server.start_s is not None
        idle = idle_pss_kib(server.pid)
        results.starts.append(ColdStart(contender, server.start_s, idle))
        progress(f"{contender} answered {server.start_s:.2f} s after its launch")
        for target in targets:
            load_target(plan, target, results)


def measure_openfxn(
    plan: Plan, launcher: Launcher, group: list[Workload], results: Results
) -> None:
    contenders = [c for c in launcher.contenders if c in plan.contenders]
    settings = settings_for(launcher, group[0])
    with running_openfxn(plan.tools, launcher, settings) as server:
        owner = username(server)
        for workload in group:
            create_predictor(server, f"@{owner}/{workload.name}", workload.predictor)
        launched = Launched(server.pid, server.base_url, server.key, owner)
        targets = [
            prepare(contender, workload, launched, plan.folder)
            for workload in group
            for contender in contenders
        ]
        for target in targets:
            check_answer(target)
        idle = idle_pss_kib(server.pid)
        progress(f"openfxn serves {', '.join(w.name for w in group)}")
        for target in targets:
            load_target(plan, target, results)
        for contender in contenders:
            for _ in range(plan.mode.cold_rounds):
                seconds = openfxn_cold_start(server, launched, contender)
                results.starts.append(ColdStart(contender, seconds, idle))


def soak_openfxn(plan: Plan, launcher: Launcher, results: Results) -> None:
    """REST greetings at 8 connections for a long while, watching memory.

    On a server of its own, so that it starts from what greetings alone leave
    in memory (after a warm-up), not from what the tensor runs did.
    """
    mode, greeting = plan.mode, workload_named("greeting")
    settings = settings_for(launcher, greeting)
    with running_openfxn(plan.tools, launcher, settings) as server:
        owner = username(server)
        create_predictor(server, f"@{owner}/{greeting.name}", greeting.predictor)
        launched = Launched(server.pid, server.base_url, server.key, owner)
        target = prepare(OPENFXN_REST, greeting, launched, plan.folder)
        results.warmups.append(warm_up(plan.tools, target, 8, mode.warmup))
        progress(f"  soaking {OPENFXN_REST} greeting for {mode.soak_s} s")
        results.soaked = soak(plan.tools, target, 8, mode.soak_s, mode.soak_every_s)


def openfxn_cold_start(server: Server, launched: Launched, contender: str) -> float:
    """Seconds from creating a greeting predictor to its first answer."""
    greeting = workload_named("greeting")
    name = f"cold-{time.monotonic_ns()}"
    started = time.perf_counter()
    create_predictor(server, f"@{launched.owner}/{name}", greeting.predictor)
    url, body = request_for(contender, greeting, launched, name)
    post_and_check(contender, greeting, url, json_bytes(body), launched.key)
    return time.perf_counter() - started


def json_bytes(body: object) -> bytes:
    return json.dumps(body).encode()


def measure_launcher(plan: Plan, launcher: Launcher, results: Results) -> None:
    for group in launches(launcher, plan.workloads):
        if launcher.name == OPENFXN:
            measure_openfxn(plan, launcher, group, results)
        else:
            measure_peer(plan, launcher, group, results)
    if launcher.name != OPENFXN:
        top_up_cold_starts(plan, launcher, results)
    elif is_soaked(plan):
        soak_openfxn(plan, launcher, results)


def is_soaked(plan: Plan) -> bool:
    greeting = any(workload.name == "greeting" for workload in plan.workloads)
    return plan.mode.soak_s > 0 and greeting and OPENFXN_REST in plan.contenders


def top_up_cold_starts(plan: Plan, launcher: Launcher, results: Results) -> None:
    """More launches of a peer, until it has the mode's count of cold starts."""
    contender = launcher.contenders[0]
    have = sum(start.contender == contender for start in results.starts)
    for _ in range(plan.mode.cold_rounds - have):
        log = plan.folder / f"{launcher.name}-cold.log"
        with running_peer(plan.tools, launcher, plan.envs, {}, log) as server:
            assert server.start_s is not None
            idle = idle_pss_kib(server.pid)
            results.starts.append(ColdStart(contender, server.start_s, idle))
        progress(f"{contender} answered {server.start_s:.2f} s after its launch")


def measure_safely(plan: Plan, launcher: Launcher, results: Results) -> None:
    """Measure a launcher; a server that fails is a note, and the others go on."""
    progress(f"{launcher.name}:")
    try:
        measure_launcher(plan, launcher, results)
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        results.failures.append(f"{launcher.name} failed: {error}")
        progress(f"{launcher.name} failed: {error}")
