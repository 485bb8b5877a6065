"""The workloads: what each server is asked, and the answer that proves it worked.

Every server runs the same function per workload. The peers take plain JSON
(``bench/peers/functions.py``); openfxn takes its own wire format, where the
tensor is a Value (``type`` float32, ``shape``, ``data`` a base64 ``data:``
URL), over REST (``POST /predict/@owner/name``) and GraphQL
(``createPrediction``). Its predictors are in ``bench/peers/predictors``.
"""

from __future__ import annotations

import array
import base64
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servers import file_url

PREDICTORS = Path(__file__).resolve().parent.parent / "peers" / "predictors"
TENSOR_ELEMENTS = 100_000
SLEEP_S = 0.05
GRAPHQL_MUTATION = (
    "mutation ($input: CreatePredictionInput!) { createPrediction(input: $input) "
    "{ id results { data type shape stringValue floatValue } latency error } }"
)


@dataclass(frozen=True)
class Workload:
    """One function, and its inputs in each server's form."""

    name: str  # also the peers' route: POST /greeting
    inputs: dict[str, Any]  # the peers' JSON body
    rest_inputs: dict[str, Any]  # openfxn's POST /predict body
    graphql_inputs: list[dict[str, Any]]  # openfxn's createPrediction inputs
    expected: str  # every good reply holds this text
    predictor: str  # the openfxn predictor's source, as a data: URL

    def graphql_body(self, tag: str) -> dict[str, Any]:
        arguments = {"tag": tag, "client": "linux", "inputs": self.graphql_inputs}
        return {"query": GRAPHQL_MUTATION, "variables": {"input": arguments}}

    def ideal_per_second(self, connections: int) -> float | None:
        """The most a perfect server could answer: only sleep has a limit."""
        return connections / SLEEP_S if self.name == "sleep" else None


def tensor_base64() -> str:
    """100,000 float32 of 0.0 to 4.5 by halves: the sum, 225,000, is exact."""
    values = array.array("f", ((i % 10) * 0.5 for i in range(TENSOR_ELEMENTS)))
    if sys.byteorder == "big":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode()


def tensor_value(encoded: str) -> dict[str, Any]:
    return {
        "data": f"data:application/octet-stream;base64,{encoded}",
        "type": "float32",
        "shape": [TENSOR_ELEMENTS],
    }


@functools.cache
def all_workloads() -> tuple[Workload, ...]:
    encoded = tensor_base64()
    return (
        Workload(
            name="greeting",
            inputs={"name": "World"},
            rest_inputs={"name": "World"},
            graphql_inputs=[{"name": "name", "data": "data:,World", "type": "string"}],
            expected="Hello, World!",
            predictor=file_url(PREDICTORS / "greeting.py"),
        ),
        Workload(
            name="tensor",
            inputs={"data": encoded},
            rest_inputs={"data": tensor_value(encoded)},
            graphql_inputs=[{"name": "data", **tensor_value(encoded)}],
            expected="225000",
            # a notebook, the one source that can state a requirement (numpy)
            predictor=file_url(PREDICTORS / "tensor.ipynb"),
        ),
        Workload(
            name="sleep",
            inputs={},
            rest_inputs={},
            graphql_inputs=[],
            expected="slept",
            predictor=file_url(PREDICTORS / "sleep.py"),
        ),
    )


def workload_named(name: str) -> Workload:
    return next(workload for workload in all_workloads() if workload.name == name)


def write_body(path: Path, body: Any) -> Path:
    path.write_text(json.dumps(body))
    return path
