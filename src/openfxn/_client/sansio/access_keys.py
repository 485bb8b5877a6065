"""Plans for the caller's access keys."""

from __future__ import annotations

from datetime import datetime

from openfxn._client.models import AccessKey, NewAccessKey
from openfxn._client.sansio.core import Core, parse, parse_list, segment
from openfxn._client.sansio.effects import Plan


class AccessKeyPlans:
    def __init__(self, core: Core) -> None:
        self.core = core

    def create(self, name: str, expires: datetime | None) -> Plan[NewAccessKey]:
        body = {"name": name, "expires": expires.isoformat() if expires else None}
        reply = yield from self.core.call("POST", "/accessKeys", body=body)
        return parse(NewAccessKey, reply)

    def list(self) -> Plan[list[AccessKey]]:
        reply = yield from self.core.call("GET", "/accessKeys")
        return parse_list(AccessKey, reply)

    def revoke(self, id: str) -> Plan[AccessKey]:
        reply = yield from self.core.call("DELETE", f"/accessKeys/{segment(id)}")
        return parse(AccessKey, reply)
