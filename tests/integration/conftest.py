"""A real ``openfxn serve`` process on a loopback port, shared by the session.

The server runs from the ``openfxn`` script of the interpreter running pytest,
with a temporary data directory and one user, ``peter``. Its standard output
and error go to ``server.log`` in the temporary directory; a failing test that
used the server gets that log attached to its report. Every subprocess gets
an environment without proxy variables, so nothing leaves 127.0.0.1.

``official_client`` is one installed version of the official ``fxn`` client
pointed at that server: 0.0.26 and 0.0.23, or the versions a test names with
``@pytest.mark.parametrize("official_client", [...], indirect=True)``.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Generator, Iterator

import pytest

from tests.integration.official import OfficialClient, install
from tests.integration.support import (
    OPENFXN,
    STOP_TIMEOUT_S,
    LiveServer,
    create_user,
    group_is_empty,
    port_is_free,
    start_server,
    stop,
    tail,
)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    assert OPENFXN.exists(), f"no openfxn script next to {sys.executable}"
    root = tmp_path_factory.mktemp("live")
    data = root / "data"
    data.mkdir()
    log = root / "server.log"

    process, url = start_server(data, log)
    port = int(url.rsplit(":", 1)[1])
    try:
        server = LiveServer(url=url, key=create_user(data), data=data, log=log)
        yield server
    finally:
        status, killed = stop(process)
        leftovers = not group_is_empty(process.pid)
        if leftovers:
            os.killpg(process.pid, signal.SIGKILL)

    problems = []
    if killed:
        problems.append(f"it ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s")
    elif status not in (0, -signal.SIGTERM):  # uvicorn re-raises the signal
        problems.append(f"it exited {status} after SIGTERM")
    elif "Application shutdown complete" not in server.log_text():
        problems.append("it did not finish its shutdown")
    if leftovers:
        problems.append("processes of its group outlived it")
    if not port_is_free(port):
        problems.append(f"port {port} is still bound")
    log_text = server.log_text()
    if any(secret in log_text for secret in server.secrets()):
        problems.append("its log contains the access key")
    assert not problems, (
        f"openfxn serve did not stop cleanly: {'; '.join(problems)}. "
        f"Server log:\n{tail(log)}"
    )


@pytest.fixture(scope="session", params=["0.0.26", "0.0.23"])
def official_client(
    request: pytest.FixtureRequest, live_server: LiveServer
) -> OfficialClient:
    version: str = request.param
    return OfficialClient(version, install(version), live_server)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server log to the report of a failing test that used it."""
    report = yield
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("openfxn server log (tail)", tail(server.log)))
    return report
