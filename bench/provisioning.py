#!/usr/bin/env python3
"""How long provisioning takes: from ``createPredictor`` to ACTIVE.

Runs the real server app in process (SQLite, a temporary data directory) and
times each predictor from the REST ``POST /predictors`` to the end of its
provisioning, which builds or reuses its environment with uv and loads its
module in a process of its own. Two predictors, as notebooks:

- ``none``: no requirements;
- ``one``: one small requirement, ``%pip install REQUIREMENT`` (default
  ``six==1.16.0``, a single pure-Python file on PyPI).

And three states of the caches, each measured ``--rounds`` times:

- ``cold``: a new data directory (no environments) and an empty uv cache, so
  a requirement is downloaded from PyPI;
- ``warm uv``: a new data directory, but the uv cache of an earlier round, so
  the environment is built again from cached packages;
- ``cached``: a second predictor with the same requirements on the same
  server, which reuses the environment: only the module is loaded.

    .venv/bin/python bench/provisioning.py [--rounds N] [--requirement SPEC]

The ``cold`` rows need PyPI. The exit status is 1 when a predictor does not
end ACTIVE.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from openfxn.server.app import create_app
from openfxn.server.runtime.provisioning import Provisioner
from openfxn.server.settings import Settings
from openfxn.server.store.migrate import upgrade

STATES = ("cold", "warm uv", "cached")
GREETING = 'def predict(name: str) -> str:\n    return f"Hello, {name}!"\n'


def notebook(requirement: str | None) -> bytes:
    cells = [f"%pip install {requirement}\n"] if requirement else []
    cells.append(GREETING)
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": "code", "metadata": {}, "source": source}
                | {"outputs": [], "execution_count": None}
                for source in cells
            ],
        }
    ).encode()


@contextmanager
def uv_cache(directory: Path) -> Iterator[None]:
    """Point uv, which provisioning runs, at ``directory`` for its cache."""
    before = os.environ.get("UV_CACHE_DIR")
    os.environ["UV_CACHE_DIR"] = str(directory)
    try:
        yield
    finally:
        if before is None:
            del os.environ["UV_CACHE_DIR"]
        else:
            os.environ["UV_CACHE_DIR"] = before


async def provision_twice(data: Path, source: bytes) -> tuple[float, float]:
    """Seconds to ACTIVE for a first predictor and a second with the same source."""
    app = create_app(Settings(data=data))  # the data directory is migrated
    async with app.router.lifespan_context(app):
        services = app.state.services
        await services.users.create("bench")
        key = (await services.access_keys.issue_for("bench", "bench")).key
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://bench",
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            first = await time_one(app.state.provisioner, client, "first", source)
            second = await time_one(app.state.provisioner, client, "second", source)
    return first, second


async def time_one(
    provisioner: Provisioner, client: httpx.AsyncClient, name: str, source: bytes
) -> float:
    payload = base64.b64encode(source).decode()
    data_url = f"data:application/json;name=predictor.ipynb;base64,{payload}"
    started = time.perf_counter()
    response = await client.post(
        "/predictors", json={"tag": f"@bench/{name}", "notebook": data_url}
    )
    response.raise_for_status()
    await provisioner.wait()
    elapsed = time.perf_counter() - started

    predictor = (await client.get(f"/predictors/@bench/{name}")).json()
    if predictor["status"] != "ACTIVE":
        raise SystemExit(f"@bench/{name} ended {predictor['status']}: {predictor}")
    return elapsed


def measure(rounds: int, requirement: str) -> dict[tuple[str, str], list[float]]:
    times: dict[tuple[str, str], list[float]] = {}
    for label, source in (("none", notebook(None)), ("one", notebook(requirement))):
        with tempfile.TemporaryDirectory(prefix="openfxn-bench-") as root:
            for round_ in range(rounds):
                for state in ("cold", "warm uv"):
                    cache = Path(root) / f"uv-{round_}"  # new for cold, kept for warm
                    with uv_cache(cache):
                        data = Path(root) / f"data-{round_}-{state}"
                        data.mkdir()
                        upgrade(Settings(data=data))
                        first, second = asyncio.run(provision_twice(data, source))
                    times.setdefault((label, state), []).append(first)
                    times.setdefault((label, "cached"), []).append(second)
                    print(
                        f"  {label:4} round {round_ + 1}: {state} {first:.2f} s, "
                        f"cached {second:.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )
    return times


def report(times: dict[tuple[str, str], list[float]], requirement: str) -> None:
    print(f"provisioning, createPredictor to ACTIVE; 'one' is {requirement}")
    print("predictor  state    median s  min s  max s  runs  ÷ cold")
    print("---------  -------  --------  -----  -----  ----  ------")
    for label in ("none", "one"):
        cold = statistics.median(times[(label, "cold")])
        for state in STATES:
            runs = times[(label, state)]
            median = statistics.median(runs)
            print(
                f"{label:9}  {state:7}  {median:8.2f}  {min(runs):5.2f}  "
                f"{max(runs):5.2f}  {len(runs):4}  {median / cold:6.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs per state")
    parser.add_argument(
        "--requirement", default="six==1.16.0", help="the one small requirement"
    )
    arguments = parser.parse_args()
    times = measure(arguments.rounds, arguments.requirement)
    report(times, arguments.requirement)


if __name__ == "__main__":
    main()
