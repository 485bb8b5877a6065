"""Predictions approved by the predictor owner's own service.

An owner who sets an ``authorizationUrl`` hands their customers any key they
like. A prediction of one of the owner's predictors that comes without a
valid access key is then put to that URL: the server POSTs
``{"tag": "@owner/name", "accessKey": KEY}`` (the key byte for byte, or null),
signed the way Standard Webhooks signs (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256, under the owner's
secret, of ``id.timestamp.body``), and reads the reply:

- 200 without an ``error``: approved, on the owner's account; an optional
  ``"customer"`` names the owner's customer, kept on the prediction;
- any reply with an ``error``: refused with that text, and the reply's status
  when it is a 4xx (403 otherwise);
- anything else (another status, a redirect, no JSON, too large, too slow,
  unreachable, a refused address): refused, failing closed, with a message
  that blames the owner's authorization service.

One URL is the server's own: ``APPROVE_EVERYONE`` approves every request
without a network call. Only the server sets it (``openfxn serve --demo``, for
``@samplefxn``), since its scheme is not one a user may save.

An approval is reused for as long as the reply's ``Cache-Control: max-age``
allows (capped by a setting), keyed by a hash of the tag and the key; a
refusal is never reused. Every decision the owner's service makes is recorded
for the owner (once, however often it is reused), with the key only as a keyed
hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from openfxn.server.errors import BadGateway, PermissionDenied, Unavailable
from openfxn.server.outbound import OutboundClient, OutboundError, Reply
from openfxn.server.secrets import KeyRing
from openfxn.server.settings import Settings
from openfxn.server.store.database import Database
from openfxn.server.store.tables import Account, AuthorizationDecision

logger = logging.getLogger("openfxn.server")

SECRET_PREFIX = "whsec_"
APPROVE_EVERYONE = "openfxn:approve-everyone"
MAX_AGE = re.compile(r"(?:^|[,\s])max-age=(\d+)")
CUSTOMER_LENGTH = 255
ERROR_LENGTH = 1000
FAILED = (
    "The authorization service of this predictor's owner failed ({problem}), so "
    "the prediction was refused. Try again later, or ask the owner."
)


@dataclass(frozen=True)
class Approval:
    """The owner's service said yes: for ``customer``, if it named one."""

    customer: str | None
    cached: bool = False


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_context(account_id: int) -> str:
    """What a sealed signing secret is bound to: moving it to another account
    makes it unreadable."""
    return f"authorization-secret|{account_id}"


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` of ``body``, as Standard Webhooks defines it."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class Authorizer:
    def __init__(
        self,
        database: Database,
        ring: KeyRing,
        settings: Settings,
        client: OutboundClient | None = None,
    ) -> None:
        self.database = database
        self.ring = ring
        self.cache_max_s = settings.authorization_cache_max_s
        self.pepper = ring.derive("authorization decisions")
        self.client = client or OutboundClient(
            allow_loopback=settings.allow_loopback_authorization,
            allow_http=settings.allow_http_authorization,
            deadline_s=settings.authorization_timeout_s,
            per_owner_concurrency=settings.authorization_concurrency,
        )
        self.approvals: dict[str, tuple[float, Approval]] = {}

    async def authorize(
        self, owner: Account, tag: str, access_key: str | None
    ) -> Approval:
        """Ask ``owner``'s service about ``access_key`` for ``tag``; raises
        PermissionDenied when it refuses, BadGateway or Unavailable when it
        fails."""
        assert owner.authorization_url is not None
        key_hash = self.key_hash(tag, access_key)
        if owner.authorization_url == APPROVE_EVERYONE:
            await self.record(owner, tag, key_hash, "allowed")
            return Approval(None)
        cached = self.cached(key_hash)
        if cached is not None:  # the decision recorded when it was made stands
            return Approval(cached.customer, cached=True)
        try:
            reply = await self.ask(owner, tag, access_key)
            approval, max_age = self.judge(reply)
        except (PermissionDenied, BadGateway, Unavailable) as error:
            outcome = "refused" if isinstance(error, PermissionDenied) else "failed"
            await self.record(owner, tag, key_hash, outcome, detail=error.message)
            if outcome == "failed":
                logger.warning("authorization for %s failed: %s", tag, error.message)
            raise
        if max_age > 0:
            self.approvals[key_hash] = (time.monotonic() + max_age, approval)
        await self.record(owner, tag, key_hash, "allowed", approval.customer)
        return approval

    async def ask(self, owner: Account, tag: str, access_key: str | None) -> Reply:
        assert owner.authorization_url is not None
        body = json.dumps({"tag": tag, "accessKey": access_key}).encode()
        secret = self.secret_of(owner)
        message_id, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "openfxn",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message_id, timestamp, body),
        }
        try:
            return await self.client.post_json(
                owner.authorization_url, body, headers, owner=owner.username
            )
        except OutboundError as error:
            raise Unavailable(FAILED.format(problem=str(error))) from None

    def judge(self, reply: Reply) -> tuple[Approval, float]:
        """The approval in ``reply`` and how long it may be reused, or the
        refusal or failure it amounts to."""
        found = parse_json(reply.body)
        if isinstance(found, dict) and "error" in found:
            message = str(found["error"])[:ERROR_LENGTH] or "Refused by the owner."
            refusal = PermissionDenied(message)
            refusal.status = reply.status if 400 <= reply.status < 500 else 403
            raise refusal
        if reply.status != 200:
            problem = f"it answered with status {reply.status}"
            raise BadGateway(FAILED.format(problem=problem))
        if not isinstance(found, dict):
            raise BadGateway(FAILED.format(problem="its reply is not a JSON object"))
        customer = found.get("customer")
        customer = None if customer is None else str(customer)[:CUSTOMER_LENGTH]
        return Approval(customer), self.max_age(reply)

    def max_age(self, reply: Reply) -> float:
        match = MAX_AGE.search(reply.headers.get("cache-control", ""))
        if match is None or "no-store" in reply.headers.get("cache-control", ""):
            return 0.0
        return min(float(match.group(1)), self.cache_max_s)

    def cached(self, key_hash: str) -> Approval | None:
        found = self.approvals.get(key_hash)
        if found is None:
            return None
        expires, approval = found
        if expires <= time.monotonic():
            del self.approvals[key_hash]
            return None
        return approval

    def forget(self) -> None:
        """Drop every reused approval (an owner changed their URL or secret)."""
        self.approvals.clear()

    def key_hash(self, tag: str, access_key: str | None) -> str:
        material = json.dumps([tag, access_key]).encode()
        return hmac.new(self.pepper, material, hashlib.sha256).hexdigest()

    def secret_of(self, owner: Account) -> str:
        assert owner.authorization_secret is not None
        return self.ring.open(owner.authorization_secret, secret_context(owner.id))

    async def record(
        self,
        owner: Account,
        tag: str,
        key_hash: str,
        outcome: str,
        customer: str | None = None,
        *,
        detail: str | None = None,
    ) -> None:
        async with self.database.write() as session:
            session.add(
                AuthorizationDecision(
                    owner_id=owner.id,
                    tag=tag,
                    key_hash=key_hash,
                    outcome=outcome,
                    customer=customer,
                    detail=detail,
                )
            )

    async def aclose(self) -> None:
        await self.client.aclose()


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
