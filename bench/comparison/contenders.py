"""The servers under comparison: how each starts, and its settings per workload.

A contender is a row of the report; a launcher is a kind of server process.
They are one and the same except for openfxn, whose one server is measured
through REST and through GraphQL. Each launcher has its fixed settings, and
``WORKLOAD_SETTINGS`` is the one place where a workload changes them: a
launcher is started once for each run of workloads that share its settings.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import SERVER_CPU, Tools, free_port, launch, pinned, request, wait_until
from processes import stop_tree
from servers import Server, check_sandbox, running_server

from comparison.environments import BENTOML, FLOOR, RAY, Environment
from comparison.workloads import Workload

PEERS = Path(__file__).resolve().parent.parent / "peers"
PEER_STARTUP_TIMEOUT_S = 180.0
PEER_POLL_S = 0.01
PEER_KEY = "unchecked"  # every request carries a Bearer key; peers ignore it

OPENFXN, OPENFXN_REST, OPENFXN_GRAPHQL = "openfxn", "openfxn-rest", "openfxn-graphql"
FLOOR_NAME = "floor"


@dataclass(frozen=True)
class Launcher:
    """A kind of server process, and the contenders measured through it."""

    name: str
    contenders: tuple[str, ...]
    environment: Environment | None  # None: the project's own openfxn
    command: tuple[str, ...] = ()  # run in bench/peers; {bin} and {port} filled in
    variables: Mapping[str, str] = field(default_factory=dict)  # {envs} filled in
    settings: str = ""  # as the report states them


LAUNCHERS = (
    Launcher(
        FLOOR_NAME,
        (FLOOR_NAME,),
        FLOOR,
        ("{bin}/python", "floor.py", "--port", "{port}"),
        settings="Starlette on uvicorn (uvloop, httptools), the function called "
        "on the event loop; access log off",
    ),
    Launcher(
        OPENFXN,
        (OPENFXN_REST, OPENFXN_GRAPHQL),
        None,
        variables={"UV_OFFLINE": "1"},
        settings="`openfxn serve` with no OPENFXN_ variable set (its defaults: "
        "SQLite in a new data directory), sandbox tier A (bubblewrap, checked "
        "on /health); the tensor predictor's numpy installed from uv's cache "
        "(UV_OFFLINE=1)",
    ),
    Launcher(
        "floor-prefork",
        ("floor-prefork",),
        FLOOR,
        ("{bin}/python", "floor.py", "--port", "{port}", "--prefork"),
        settings="the floor, with the function in one worker process forked "
        "at start, over a socketpair; 1 thread in it",
    ),
    Launcher(
        "bentoml",
        ("bentoml",),
        BENTOML,
        (
            *("{bin}/bentoml", "serve", "bentoml_service:Peer"),
            *("--host", "127.0.0.1", "--port", "{port}", "--working-dir", "."),
        ),
        variables={"BENTOML_DO_NOT_TRACK": "true", "BENTOML_HOME": "{envs}/bentoml"},
        settings="1 worker, threads=40, access log off "
        '(`logging={"access": {"enabled": False}}`)',
    ),
    Launcher(
        "ray-serve",
        ("ray-serve",),
        RAY,
        ("{bin}/python", "ray_service.py", "--port", "{port}"),
        variables={"RAY_USAGE_STATS_ENABLED": "0"},
        settings="1 replica, FastAPI ingress, max_ongoing_requests=100, "
        'ray.init(include_dashboard=False, _node_ip_address="127.0.0.1"), '
        "access log off",
    ),
)

# What a workload changes in a launcher's settings, and nothing else does.
WORKLOAD_SETTINGS: dict[tuple[str, str], dict[str, str]] = {
    (OPENFXN, "sleep"): {"OPENFXN_WORKER_CONCURRENCY": "64"},
    ("floor-prefork", "sleep"): {"FLOOR_WORKER_THREADS": "64"},
}

# How the openfxn contenders are asked, in the report's settings.
TRANSPORTS = {
    OPENFXN_REST: "REST `POST /predict/@owner/name` with a Bearer key",
    OPENFXN_GRAPHQL: "GraphQL `createPrediction` on `POST /graph`, with a Bearer key",
}

CONTENDERS = (
    FLOOR_NAME,
    "floor-prefork",
    OPENFXN_REST,
    OPENFXN_GRAPHQL,
    "bentoml",
    "ray-serve",
)


def settings_for(launcher: Launcher, workload: Workload) -> dict[str, str]:
    return WORKLOAD_SETTINGS.get((launcher.name, workload.name), {})


def launches(launcher: Launcher, workloads: list[Workload]) -> list[list[Workload]]:
    """The workloads in runs that share the launcher's settings, in order."""
    runs = itertools.groupby(
        workloads, key=lambda workload: settings_for(launcher, workload)
    )
    return [list(run) for _, run in runs]


@dataclass(frozen=True)
class Launched:
    """A server that answers: its root process, its address, and its key."""

    pid: int
    base_url: str
    key: str
    owner: str = ""  # openfxn: the user whose predictors it serves
    start_s: float | None = None  # peers: launch to the first greeting


def request_for(
    contender: str, workload: Workload, server: Launched, predictor: str | None = None
) -> tuple[str, Any]:
    """The URL a contender serves a workload at, and the JSON body to post.

    openfxn serves it as the predictor named after the workload, or
    ``predictor``.
    """
    tag = f"@{server.owner}/{predictor or workload.name}"
    if contender == OPENFXN_REST:
        return f"{server.base_url}/predict/{tag}", workload.rest_inputs
    if contender == OPENFXN_GRAPHQL:
        return f"{server.base_url}/graph", workload.graphql_body(tag)
    return f"{server.base_url}/{workload.name}", workload.inputs


# ---------- starting them ----------


@contextlib.contextmanager
def running_peer(
    tools: Tools, launcher: Launcher, envs: Path, settings: Mapping[str, str], log: Path
) -> Iterator[Launched]:
    """A peer pinned to the server CPU, timed from launch to its first greeting."""
    assert launcher.environment is not None
    port = free_port()
    fill = {"bin": str(launcher.environment.path(envs) / "bin"), "port": port}
    command = [part.format(**fill) for part in launcher.command]
    variables = {
        name: value.format(envs=envs) for name, value in launcher.variables.items()
    }
    env = {**os.environ, **variables, **settings}
    base_url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = launch(pinned(tools, SERVER_CPU, command), log, env, cwd=PEERS)
    try:
        wait_until(
            process,
            lambda: greets(base_url),
            log,
            timeout_s=PEER_STARTUP_TIMEOUT_S,
            interval_s=PEER_POLL_S,
        )
        start_s = time.perf_counter() - started
        yield Launched(process.pid, base_url, PEER_KEY, start_s=start_s)
    finally:
        stop_tree(process)


def greets(base_url: str) -> bool:
    body = json.dumps({"name": "World"}).encode()
    headers = {"Content-Type": "application/json"}
    status, _ = request(f"{base_url}/greeting", "POST", body, headers, timeout_s=5)
    return status == 200


@contextlib.contextmanager
def running_openfxn(
    tools: Tools, launcher: Launcher, settings: Mapping[str, str]
) -> Iterator[Server]:
    """openfxn serve with a user and key; fails unless the sandbox is tier A."""
    with running_server(tools, None, {**launcher.variables, **settings}) as server:
        check_sandbox(server)
        yield server
