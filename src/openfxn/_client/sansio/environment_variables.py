"""Plans for the caller's environment variables (secrets)."""

from __future__ import annotations

from openfxn._client.models import EnvironmentVariable
from openfxn._client.sansio.core import Core, parse, parse_list, segment
from openfxn._client.sansio.effects import Plan


class EnvironmentVariablePlans:
    def __init__(self, core: Core) -> None:
        self.core = core

    def list(self) -> Plan[list[EnvironmentVariable]]:
        reply = yield from self.core.call("GET", "/environmentVariables")
        return parse_list(EnvironmentVariable, reply)

    def create(self, name: str, value: str) -> Plan[EnvironmentVariable]:
        body = {"name": name, "value": value}
        reply = yield from self.core.call("POST", "/environmentVariables", body=body)
        return parse(EnvironmentVariable, reply)

    def delete(self, name: str) -> Plan[bool]:
        path = f"/environmentVariables/{segment(name)}"
        reply = yield from self.core.call("DELETE", path)
        return reply is True
