"""The three functions every peer serves, written once.

Each server under comparison wraps these in its own way of taking a JSON
request; the work done per request is the same everywhere. The tensor arrives
as base64 of raw little-endian float32, the cheapest text form to decode.

This module needs numpy and nothing else, so that it imports in each peer's
own environment.
"""

from __future__ import annotations

import base64
import time

import numpy as np

SLEEP_S = 0.05


def greeting(name: str) -> str:
    return f"Hello, {name}!"


def tensor_sum(data: str) -> float:
    """The float32 sum of a base64 string of raw little-endian float32."""
    return float(np.frombuffer(base64.b64decode(data), dtype="<f4").sum())


def sleep() -> str:
    """Blocks for 50 ms, as a predictor waiting on I/O or a device would."""
    time.sleep(SLEEP_S)
    return "slept"
