"""Load from wrk: one bounded run from the load CPU, and the figures of its report.

``run_wrk`` drives a URL with wrk's GETs and ``run_posts`` with POSTs of a
body, through a Lua script that also counts the 2xx replies lacking an
expected text (a failed prediction still answers 200). Standard library only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from harness import LOAD_CPU, Tools, pinned, run_command

WRK_GRACE_S = 30.0
WRK_TIMEOUT = "10s"  # a slower reply is a socket error, not a latency
# wrk prints times with these units; the factor converts to milliseconds.
TIME_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
PERCENTILE_LINE = r"^\s*{}%\s+([\d.]+)(us|ms|s|m|h)\s*$"

# The body comes from a file, so that a large one (a tensor) is read once.
POST_SCRIPT = """\
local file = assert(io.open({body_file}, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
end

function response(status, headers, body)
  if status < 300 and not string.find(body, {expected}, 1, true) then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("wrong")
  end
  io.write(string.format("Wrong bodies: %d\\n", total))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """The numbers the benches read from one wrk report."""

    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


@dataclass(frozen=True)
class Load:
    """One wrk run of POSTs: its report, and the 2xx replies lacking the answer."""

    wrk: WrkResult
    wrong_bodies: int

    @property
    def errors(self) -> int:
        return self.wrk.errors + self.wrong_bodies

    def describe_errors(self, expected: str) -> str:
        return (
            f"{self.wrk.non_2xx} non-2xx/3xx, {self.wrk.socket_errors} socket "
            f"errors, {self.wrong_bodies} 2xx without {expected!r}"
        )


def run_wrk(
    tools: Tools,
    url: str,
    connections: int,
    seconds: int,
    options: tuple[str, ...] = (),
) -> str:
    """wrk's report for one run from the load CPU."""
    command = [
        *(tools.wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"),
        *("--timeout", WRK_TIMEOUT, *options, url),
    ]
    done = run_command(pinned(tools, LOAD_CPU, command), seconds + WRK_GRACE_S)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def write_post_script(path: Path, body_file: Path, key: str, expected: str) -> Path:
    """A wrk script that POSTs ``body_file`` with a Bearer key, checking replies."""
    path.write_text(
        POST_SCRIPT.format(
            body_file=json.dumps(str(body_file)), key=key, expected=json.dumps(expected)
        )
    )
    return path


def run_posts(
    tools: Tools, script: Path, url: str, connections: int, seconds: int
) -> Load:
    """One run of a script written by ``write_post_script``."""
    report = run_wrk(tools, url, connections, seconds, ("-s", str(script)))
    wrong = re.search(r"^Wrong bodies: (\d+)$", report, re.MULTILINE)
    if wrong is None:
        raise ValueError(f"no 'Wrong bodies' line in wrk's report:\n{report}")
    return Load(parse_wrk(report), int(wrong.group(1)))


def percentile_ms(report: str, percent: int) -> float:
    """A latency percentile from wrk's --latency distribution, in ms."""
    found = re.search(PERCENTILE_LINE.format(percent), report, re.MULTILINE)
    if found is None:
        raise ValueError(f"no {percent}% line in wrk's report:\n{report}")
    return float(found.group(1)) * TIME_UNITS_MS[found.group(2)]


def number_after(report: str, pattern: str, default: str | None = None) -> str:
    found = re.search(pattern, report, re.MULTILINE)
    if found is not None:
        return found.group(1)
    if default is None:
        raise ValueError(f"{pattern!r} not in wrk's report:\n{report}")
    return default


def socket_errors(report: str) -> int:
    found = re.search(r"Socket errors:(.*)$", report, re.MULTILINE)
    if found is None:
        return 0
    return sum(int(count) for count in re.findall(r"\d+", found.group(1)))


def parse_wrk(report: str) -> WrkResult:
    """Requests, throughput, p50/p99 and errors from one wrk --latency report."""
    return WrkResult(
        requests=int(number_after(report, r"^\s*(\d+) requests in ")),
        requests_per_second=float(number_after(report, r"^Requests/sec:\s*([\d.]+)")),
        p50_ms=percentile_ms(report, 50),
        p99_ms=percentile_ms(report, 99),
        non_2xx=int(number_after(report, r"Non-2xx or 3xx responses:\s*(\d+)", "0")),
        socket_errors=socket_errors(report),
    )


def wrk_version(tools: Tools) -> str:
    done = run_command([tools.wrk, "-v"], 10)
    first = (done.stdout + done.stderr).strip().splitlines()
    return first[0] if first else "?"
