"""Plans for the caller's account: profile, update, authorization secret."""

from __future__ import annotations

from typing import Any

from openfxn._client.models import User
from openfxn._client.sansio.core import Core, parse, segment
from openfxn._client.sansio.effects import Plan


class UserPlans:
    def __init__(self, core: Core) -> None:
        self.core = core

    def retrieve(self, username: str | None) -> Plan[User]:
        path = "/user" if username is None else f"/users/{segment(username)}"
        reply = yield from self.core.call("GET", path)
        return parse(User, reply)

    def update(self, changes: dict[str, Any]) -> Plan[User]:
        reply = yield from self.core.call("PATCH", "/user", body=changes)
        return parse(User, reply)

    def rotate_authorization_secret(self) -> Plan[User]:
        reply = yield from self.core.call("POST", "/user/authorizationSecret")
        return parse(User, reply)
