"""``openfxn serve --demo``, the README's first command: a real server with the
demo account, its key printed, and the sample predictors provisioned."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.support import (
    HOST,
    OPENFXN,
    free_port,
    loopback_env,
    stop,
    tail,
    wait_until_ready,
)

PROVISION_TIMEOUT_S = 60.0


def printed_key(log: Path) -> str:
    lines = log.read_text().splitlines()
    return lines[lines.index("Demo account 'demo', access key:") + 1].strip()


def wait_until_provisioned(
    client: httpx.Client, tags: list[str]
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + PROVISION_TIMEOUT_S
    while True:
        predictors = [client.get(f"/predictors/{tag}").json() for tag in tags]
        done = all(p["status"] != "PROVISIONING" for p in predictors)
        if done or time.monotonic() > deadline:
            return predictors
        time.sleep(0.2)


def test_demo_serves_account_and_samples(tmp_path: Path) -> None:
    url = f"http://{HOST}:{free_port()}"
    log = tmp_path / "demo.log"
    command = [
        str(OPENFXN), "serve", "--demo", "--data", str(tmp_path / "data"),
        "--host", HOST, "--port", url.rsplit(":", 1)[1],
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=loopback_env(),
            start_new_session=True,
        )
    try:
        assert wait_until_ready(process, url, log), tail(log)
        key = printed_key(log)
        with httpx.Client(base_url=url, auth=(key, ""), trust_env=False) as client:
            profile = client.get("/user").json()
            predictors = wait_until_provisioned(
                client, ["@demo/greeting", "@demo/text-stats", "@samplefxn/greeting"]
            )
            listed = client.get("/predictors", params={"query": ""}).json()
        # The README's custom-authorization line: any key at all is approved.
        sample = httpx.post(
            f"{url}/predict/@samplefxn/greeting",
            json={"name": "Rhea", "age": 7},
            headers={"Authorization": "Bearer anything"},
            trust_env=False,
        )
    finally:
        stop(process)

    assert profile["username"] == "demo"
    assert f"curl {url}/predictors/@demo/greeting -u {key}:" in log.read_text()
    assert [p["status"] for p in predictors] == ["ACTIVE"] * 3, tail(log)
    assert sample.status_code == 200, sample.text
    assert sample.json()["results"][0]["stringValue"] == "Hello, Rhea! You are 7."
    assert "curl -X POST" in log.read_text()
    assert predictors[1]["card"].startswith("# Text statistics")
    assert {p["tag"] for p in listed} >= {"@demo/greeting", "@demo/text-stats"}
