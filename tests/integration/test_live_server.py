"""The documented curl examples, and the server's log, against a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.support import COMMAND_TIMEOUT_S, LiveServer, loopback_env

STATUS_MARK = "\n--status--"
NON_ASCII_KEY = "👁👄👁"
USER_QUERY = {"query": "query { user { username ... on User { email } } }"}


@dataclass(frozen=True)
class CurlReply:
    status: int
    body: str
    stderr: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            pytest.fail(f"not JSON (status {self.status}): {self.body!r}")


@pytest.fixture(scope="session")
def curl_binary() -> str:
    found = shutil.which("curl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("curl is not installed; CI must run the curl examples")
        pytest.skip("curl is not installed")
    return found


def curl(binary: str, *arguments: str) -> CurlReply:
    """Run curl with ``arguments`` as the docs write them, plus quiet options."""
    command = [
        binary, "-q", *arguments, "--silent", "--show-error", "--noproxy", "*",
        "--max-time", "20", "--write-out", f"{STATUS_MARK}%{{http_code}}",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=COMMAND_TIMEOUT_S,
        env=loopback_env(),
        check=False,
    )
    assert result.returncode == 0, (
        f"curl exited {result.returncode}.\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}"
    )
    body, _, status = result.stdout.rpartition(STATUS_MARK)
    return CurlReply(int(status), body, result.stderr)


def assert_profile(reply: CurlReply, server: LiveServer) -> None:
    assert reply.status == 200, reply
    profile = reply.json()
    assert profile["username"] == server.username, profile
    assert profile["email"] == server.email, profile
    expected = {"username", "created", "name", "avatar", "bio", "website", "github"}
    assert expected <= set(profile), profile


def test_bearer_curl_shows_profile(curl_binary: str, live_server: LiveServer) -> None:
    reply = curl(
        curl_binary,
        f"{live_server.url}/user",
        "-H",
        f"Authorization: Bearer {live_server.key}",
    )
    assert_profile(reply, live_server)


def test_basic_curl_shows_profile(curl_binary: str, live_server: LiveServer) -> None:
    reply = curl(curl_binary, f"{live_server.url}/user", "-u", f"{live_server.key}:")
    assert_profile(reply, live_server)


def test_non_ascii_basic_key_unauthorized(
    curl_binary: str, live_server: LiveServer
) -> None:
    reply = curl(curl_binary, f"{live_server.url}/user", "-u", f"{NON_ASCII_KEY}:")
    assert reply.status == 401, reply
    body = reply.json()
    assert set(body) == {"error", "errors"}, body
    assert isinstance(body["error"], str), body
    assert body["error"], body
    assert body["errors"] == [{"message": body["error"]}], body
    # the server is still up and answering after it
    assert_profile(
        curl(curl_binary, f"{live_server.url}/user", "-u", f"{live_server.key}:"),
        live_server,
    )


def test_log_omits_key_names_user(live_server: LiveServer) -> None:
    url, key = live_server.url, live_server.key
    before = live_server.log_text().count("openfxn.access")
    bearer = {"Authorization": f"Bearer {key}"}
    with httpx.Client(trust_env=False, timeout=20) as client:
        statuses = [
            client.get(f"{url}/user", headers=bearer).status_code,
            client.get(f"{url}/user", auth=(key, "")).status_code,
            client.post(f"{url}/graph", headers=bearer, json=USER_QUERY).status_code,
            client.get(
                f"{url}/user", headers={"Authorization": f"Bearer {key}x"}
            ).status_code,
        ]
    assert statuses == [200, 200, 200, 401]

    log = live_server.wait_for_log(
        lambda text: text.count("openfxn.access") >= before + len(statuses)
    )
    access_lines = [line for line in log.splitlines() if "openfxn.access" in line]
    assert len(access_lines) >= before + len(statuses), log
    for secret in live_server.secrets():
        assert secret not in log, f"the server log contains the key:\n{log}"
    assert any(
        "GET /user 200" in line and line.rstrip().endswith(f" {live_server.username}")
        for line in access_lines
    ), log
