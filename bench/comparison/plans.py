"""What one comparison measures, and how long: the modes and the plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness import Tools

from comparison.contenders import LAUNCHERS, Launcher
from comparison.workloads import Workload

CONNECTIONS = (1, 8, 64)


@dataclass(frozen=True)
class Mode:
    name: str
    duration: int  # seconds per measured run
    warmup: int  # seconds per warm-up run
    warms_each_run: bool  # else one warm-up at 8 connections per workload
    cold_rounds: int  # cold starts per server
    soak_s: int  # 0: no soak
    soak_every_s: float
    leaves_out_ray: bool


QUICK = Mode("quick", 1, 1, False, 1, 5, 1.0, True)
FULL = Mode("full", 10, 3, True, 3, 600, 5.0, False)


@dataclass(frozen=True)
class Plan:
    """The servers, workloads and concurrencies of one run, and its mode."""

    tools: Tools
    mode: Mode
    contenders: list[str]
    workloads: list[Workload]
    connections: list[int]
    envs: Path  # the peers' environments
    folder: Path  # bodies, scripts and logs of this run

    def launchers(self) -> list[Launcher]:
        """The server processes to start, in the order they are measured."""
        return [
            launcher
            for launcher in LAUNCHERS
            if any(contender in self.contenders for contender in launcher.contenders)
        ]
