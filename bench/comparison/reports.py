"""The report: markdown tables fit for docs/performance.md, and the goal checks.

Ratios are taken against the in-process floor measured in the same run, at
the same workload and concurrency: absolute figures drift with the machine's
load, ratios taken minutes apart much less.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from comparison.contenders import FLOOR_NAME, OPENFXN_REST
from comparison.runs import ColdStart, Results, Row, Soak
from comparison.workloads import Workload

MIB = 1024
SOAK_GROWTH_LIMIT = 0.10
SOAK_MIN_SAMPLES = 20
TIMED = {
    "openfxn-rest": "`POST /predictors` to the first REST prediction",
    "openfxn-graphql": "`POST /predictors` to the first `createPrediction`",
}
PEER_TIMED = "launch to the first 200 on greeting"


def number(value: float) -> str:
    """Three significant figures or so, with thousands separated."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(value: float, floor: float | None) -> str:
    if floor is None or floor == 0:
        return "-"
    return shown_ratio(value / floor)


def shown_ratio(share: float) -> str:
    """Two decimals, or two significant digits below 0.1."""
    return f"{share:.2g}" if share < 0.1 else f"{share:.2f}"


def table(
    header: Sequence[str], body: Sequence[Sequence[str]], text_columns: int = 1
) -> list[str]:
    """A markdown table: the first columns (text) left-aligned, numbers right."""
    lines = ["| " + " | ".join(header) + " |"]
    numbers = len(header) - text_columns
    lines.append("|" + "---|" * text_columns + "---:|" * numbers)
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def find(rows: Sequence[Row], contender: str, workload: str, conns: int) -> Row | None:
    wanted = (contender, workload, conns)
    found = (
        row for row in rows if (row.contender, row.workload, row.connections) == wanted
    )
    return next(found, None)


# ---------- results ----------


def workload_table(
    workload: Workload, rows: Sequence[Row], order: Sequence[str]
) -> list[str]:
    mine = sorted(
        (row for row in rows if row.workload == workload.name),
        key=lambda row: (order.index(row.contender), row.connections),
    )
    has_ideal = workload.ideal_per_second(1) is not None
    header = [
        *("server", "conns", "req/s"),
        *(["% ideal"] if has_ideal else []),
        *("÷ floor", "p50 ms", "p99 ms", "CPU µs/req", "CPU ÷ floor"),
        *("peak PSS MiB", "errors"),
    ]
    return [
        f"#### {workload.name}",
        "",
        *table(header, [result_cells(row, workload, rows) for row in mine]),
    ]


def result_cells(row: Row, workload: Workload, rows: Sequence[Row]) -> list[str]:
    floor = find(rows, FLOOR_NAME, row.workload, row.connections)
    wrk = row.load.wrk
    ideal = workload.ideal_per_second(row.connections)
    return [
        row.contender,
        str(row.connections),
        number(wrk.requests_per_second),
        *([f"{100 * wrk.requests_per_second / ideal:.0f}%"] if ideal else []),
        ratio(wrk.requests_per_second, requests_per_second(floor) if floor else None),
        number(wrk.p50_ms),
        number(wrk.p99_ms),
        number(row.cpu_us_per_request),
        ratio(row.cpu_us_per_request, floor.cpu_us_per_request if floor else None),
        number(row.peak_pss_kib / MIB),
        str(row.load.errors),
    ]


def cold_start_table(starts: Sequence[ColdStart], order: Sequence[str]) -> list[str]:
    header = ("server", "timed", "cold start s", "range", "samples", "idle PSS MiB")
    body = []
    for contender in order:
        mine = [start for start in starts if start.contender == contender]
        if mine:
            body.append(cold_start_cells(contender, mine))
    return table(header, body, 2)


def cold_start_cells(contender: str, starts: Sequence[ColdStart]) -> list[str]:
    seconds = [start.seconds for start in starts]
    idle = [s.idle_pss_kib / MIB for s in starts if s.idle_pss_kib is not None]
    return [
        contender,
        TIMED.get(contender, PEER_TIMED),
        f"{statistics.median(seconds):.2f}",
        f"{min(seconds):.2f}-{max(seconds):.2f}",
        str(len(seconds)),
        number(statistics.median(idle)) if idle else "-",
    ]


def soak_lines(result: Soak) -> list[str]:
    samples = [kib / MIB for kib in result.samples_kib]
    wrk = result.load.wrk
    return [
        f"{result.contender} {result.workload} at {result.connections} connections "
        f"for {result.seconds} s: {number(wrk.requests_per_second)} req/s, "
        f"{result.load.errors} errors; PSS of the server's processes over "
        f"{len(samples)} samples: first {samples[0]:.1f} MiB, last "
        f"{samples[-1]:.1f} MiB, max {max(samples):.1f} MiB.",
    ]


# ---------- goals ----------


@dataclass(frozen=True)
class Goal:
    what: str
    measured: str
    target: str
    is_met: bool | None  # None: not measured in this run


def goals(rows: Sequence[Row], soaked: Soak | None) -> list[Goal]:
    def at(contender: str, workload: str, conns: int) -> Row | None:
        return find(rows, contender, workload, conns)

    rest8, floor8 = at(OPENFXN_REST, "greeting", 8), at(FLOOR_NAME, "greeting", 8)
    bento8 = at("bentoml", "greeting", 8)
    rest64, floor64 = at(OPENFXN_REST, "greeting", 64), at(FLOOR_NAME, "greeting", 64)
    sleep64 = at(OPENFXN_REST, "sleep", 64)
    throughput, cpu = requests_per_second, cpu_us_per_request
    return [
        ratio_goal(
            "REST throughput ÷ floor, greeting, 8 conns",
            rest8,
            floor8,
            throughput,
            "≥ 0.5",
            lambda value: value >= 0.5,
        ),
        ratio_goal(
            "REST throughput ÷ BentoML, greeting, 8 conns",
            rest8,
            bento8,
            throughput,
            "≥ 5",
            lambda value: value >= 5,
        ),
        ratio_goal(
            "REST CPU per prediction ÷ floor, greeting, 8 conns",
            rest8,
            floor8,
            cpu,
            "≤ 3",
            lambda value: value <= 3,
        ),
        ratio_goal(
            "REST p99 ÷ floor p99, greeting, 64 conns",
            rest64,
            floor64,
            p99_ms,
            "≤ 2",
            lambda value: value <= 2,
        ),
        sleep_goal(sleep64),
        soak_goal(soaked),
    ]


def requests_per_second(row: Row) -> float:
    return row.load.wrk.requests_per_second


def cpu_us_per_request(row: Row) -> float:
    return row.cpu_us_per_request


def p99_ms(row: Row) -> float:
    return row.load.wrk.p99_ms


def ratio_goal(
    what: str,
    row: Row | None,
    base: Row | None,
    figure: Callable[[Row], float],
    target: str,
    is_met: Callable[[float], bool],
) -> Goal:
    """A goal on ``figure(row) / figure(base)``."""
    if row is None or base is None or figure(base) == 0:
        return Goal(what, "not measured", target, None)
    value = figure(row) / figure(base)
    return Goal(what, shown_ratio(value), target, is_met(value))


def sleep_goal(row: Row | None) -> Goal:
    what, target = "REST sleep, 64 conns, share of the ideal 1,280/s", "≥ 80%"
    if row is None:
        return Goal(what, "not measured", target, None)
    share = row.load.wrk.requests_per_second / 1280
    return Goal(what, f"{100 * share:.0f}%", target, share >= 0.8)


def soak_goal(soaked: Soak | None) -> Goal:
    what = "REST greeting soak, PSS peak of its 2nd half ÷ of its 1st"
    target = f"≤ {1 + SOAK_GROWTH_LIMIT:.2f} (flat)"
    if soaked is None or len(soaked.samples_kib) < 2:
        return Goal(what, "not measured", target, None)
    growth = soak_growth(soaked.samples_kib)
    if len(soaked.samples_kib) < SOAK_MIN_SAMPLES:  # a worker replaced is a step
        return Goal(what, f"{growth:.2f}, too short a soak to judge", target, None)
    return Goal(what, f"{growth:.2f}", target, growth <= 1 + SOAK_GROWTH_LIMIT)


def soak_growth(samples: Sequence[int]) -> float:
    """The second half's peak over the first half's.

    What the first seconds add (workers starting, caches filling) is in both
    peaks; only what keeps growing shows.
    """
    half = len(samples) // 2
    return max(samples[half:]) / max(max(samples[:half]), 1)


def goal_table(checks: Sequence[Goal]) -> list[str]:
    shown = {True: "yes", False: "**no**", None: "-"}
    body = [[g.what, g.measured, g.target, shown[g.is_met]] for g in checks]
    return table(("goal (openfxn)", "measured", "target", "met"), body, 1)


# ---------- the whole report ----------


@dataclass(frozen=True)
class Setup:
    """What the report says about how it was taken."""

    command: str
    mode: str
    machine: list[str]
    versions: dict[str, dict[str, str]]
    settings: list[tuple[str, str]]  # (server, its settings)
    workload_settings: list[str]


def setup_lines(setup: Setup) -> list[str]:
    lines = ["Command:", "", "```sh", setup.command, "```", "", setup.mode, ""]
    lines += [f"- {line}" for line in setup.machine]
    for environment, found in setup.versions.items():
        shown = ", ".join(f"{name} {version}" for name, version in found.items())
        lines.append(f"- {environment} environment: {shown}")
    lines += ["", *table(("server", "settings"), setup.settings, 2), ""]
    if setup.workload_settings:
        lines += ["Changed for one workload only:", ""]
        lines += [f"- {line}" for line in setup.workload_settings]
    return lines


def render(
    setup: Setup, results: Results, workloads: Sequence[Workload], order: Sequence[str]
) -> str:
    lines = ["## Peer comparison", "", *setup_lines(setup), ""]
    for workload in workloads:
        if any(row.workload == workload.name for row in results.rows):
            lines += [*workload_table(workload, results.rows, order), ""]
    lines += [
        "`÷ floor`: the figure over the in-process floor's, same workload and "
        "connections, in this run. CPU is user + system time of the server's "
        "whole process tree over the measured run, divided by the requests; "
        "peak PSS is the tree's highest PSS, read every second. `% ideal`: "
        "throughput over connections ÷ 50 ms. `errors`: non-2xx, socket errors "
        "(a reply slower than 10 s is one) and 2xx replies without the answer.",
        "",
    ]
    if results.starts:
        lines += ["#### Cold start and idle memory", ""]
        lines += [*cold_start_table(results.starts, order), ""]
        lines += [
            "The peers have no step that creates a predictor: their cold start is "
            "the launch of the server process (with its interpreter and imports) "
            "to its first greeting. openfxn's starts from `POST /predictors` of a "
            "new greeting predictor, with the server already running and the "
            "predictor's environment already built, and ends with its first "
            "prediction, which starts its worker. Idle PSS: the server's "
            "process tree after one request to each workload, left alone 1 s.",
            "",
        ]
    if results.soaked is not None:
        lines += ["#### Memory over a soak", "", *soak_lines(results.soaked), ""]
    lines += ["#### Goals", "", *goal_table(goals(results.rows, results.soaked)), ""]
    notes = results.failures + results.error_notes() + results.notes
    if notes:
        lines += ["#### Notes", "", *(f"- {note}" for note in notes), ""]
    return "\n".join(lines)
