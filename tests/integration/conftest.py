"""Fixtures of the live-server tests; ``live_server`` itself, shared with the
client library's tests, is in ``tests/conftest.py``.

``official_client`` is one installed version of the official ``fxn`` client
pointed at that server: 0.0.26 and 0.0.23, or the versions a test names with
``@pytest.mark.parametrize("official_client", [...], indirect=True)``.
"""

from __future__ import annotations

import pytest

from tests.integration.official import OfficialClient, install
from tests.integration.support import LiveServer


@pytest.fixture(scope="session", params=["0.0.26", "0.0.23"])
def official_client(
    request: pytest.FixtureRequest, live_server: LiveServer
) -> OfficialClient:
    version: str = request.param
    return OfficialClient(version, install(version), live_server)
