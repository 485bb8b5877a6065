"""What custom authorization adds to a prediction, measured in one run.

Starts ``openfxn serve`` (SQLite in a temporary directory, pinned to CPU 0,
loopback authorization URLs allowed), publishes a greeting predictor, and
points its owner's authorization URL at a tiny approving service in this
process. Then it makes predictions one at a time from CPU 1, interleaving
three kinds so that drift in the machine's load hits them alike:

- ``access key``: the owner's own key (no authorization URL involved);
- ``authorized``: any other key, put to the owner's URL every time;
- ``authorized, cached``: the same, with a reply that allows reuse
  (``Cache-Control: max-age=60``), so only the first asks the URL.

It prints the median, p90 and p99 of each, and the median added to the
access-key median. Usage::

    .venv/bin/python bench/authorization.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    find_tools,
    free_port,
    pinned,
    stop_server,
    tail,
)

GREETING = b'def predict(name: str) -> str:\n    return f"Hello, {name}!"\n'
TAG = "@owner/greeting"
KINDS = ("access key", "authorized", "authorized, cached")
CLIENT_CPU = 1


def approving_service() -> tuple[ThreadingHTTPServer, str]:
    """An approving authorization service; /cached allows reuse for 60 s."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: with Nagle on, the body would
        # wait for the client's delayed ACK (40 ms), which no real service does.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"customer": "bench"}'
            self.send_response(200)
            if self.path == "/cached":
                self.send_header("Cache-Control", "max-age=60")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def openfxn_server(openfxn: str, root: Path) -> Iterator[tuple[str, str]]:
    """A server and the owner's key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENFXN_")}
    env |= {
        "OPENFXN_ALLOW_LOOPBACK_AUTHORIZATION": "true",
        "OPENFXN_ALLOW_HTTP_AUTHORIZATION": "true",
    }
    data, log = root / "data", root / "server.log"
    created = subprocess.run(
        [openfxn, "admin", "create-user", "owner", "--data", str(data)],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    command = [
        openfxn, "serve", "--data", str(data), "--port", str(port),
        "--host", "127.0.0.1", "--log-level", "warning",
    ]  # fmt: skip
    tools = find_tools(openfxn)
    with log.open("wb") as output:
        process = subprocess.Popen(
            pinned(tools, "0", command),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(url), f"the server to start ({tail(log)})")
        yield url, key
    finally:
        stop_server(process)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(condition: Callable[[], bool], what: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def publish(client: httpx.Client) -> None:
    source = "data:;name=greeting.py;base64," + base64.b64encode(GREETING).decode()
    made = client.post("/predictors", json={"tag": TAG, "notebook": source})
    made.raise_for_status()
    wait_until(
        lambda: client.get(f"/predictors/{TAG}").json()["status"] == "ACTIVE",
        "the predictor to provision",
    )


def point_at(client: httpx.Client, url: str) -> None:
    client.patch("/user", json={"authorizationUrl": url}).raise_for_status()


def timed(client: httpx.Client, key: str) -> float:
    started = time.perf_counter()
    response = client.post(
        f"/predict/{TAG}",
        json={"name": "World"},
        headers={"Authorization": f"Bearer {key}"},
    )
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200 or response.json()["error"] is not None:
        raise SystemExit(f"a prediction failed: {response.text[:300]}")
    return elapsed


def measure(
    url: str, owner_key: str, service: str, rounds: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    owner = httpx.Client(base_url=url, auth=(owner_key, ""), trust_env=False)
    caller = httpx.Client(base_url=url, trust_env=False, timeout=30)
    with owner, caller:
        publish(owner)
        for index in range(rounds + 20):  # the first 20 warm everything up
            point_at(owner, f"{service}/fresh")
            key_time = timed(caller, owner_key)
            fresh = timed(caller, f"customer-{index}")
            point_at(owner, f"{service}/cached")
            timed(caller, "returning-customer")  # approved once, then reused
            cached = timed(caller, "returning-customer")
            if index >= 20:
                for kind, value in zip(KINDS, (key_time, fresh, cached), strict=True):
                    times[kind].append(value)
    return times


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(times: dict[str, list[float]]) -> str:
    base = statistics.median(times["access key"])
    lines = [
        "kind                rounds  p50 ms  p90 ms  p99 ms  added p50 ms",
        "------------------  ------  ------  ------  ------  ------------",
    ]
    for kind, values in times.items():
        p50 = statistics.median(values)
        added = "-" if kind == "access key" else f"{p50 - base:+.2f}"
        lines.append(
            f"{kind:<18}  {len(values):>6}  {p50:>6.2f}  "
            f"{percentile(values, 0.9):>6.2f}  {percentile(values, 0.99):>6.2f}  "
            f"{added:>12}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--openfxn", default=str(Path(".venv/bin/openfxn")))
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {CLIENT_CPU})
    service, service_url = approving_service()
    try:
        with (
            tempfile.TemporaryDirectory() as root,
            openfxn_server(args.openfxn, Path(root)) as (url, key),
        ):
            times = measure(url, key, service_url, args.rounds)
    finally:
        service.shutdown()
    print("custom authorization: one prediction at a time; server on CPU 0, client")
    print("and the approving service on CPU 1; SQLite, sandbox as detected")
    print(report(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
