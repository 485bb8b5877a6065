"""Signed URLs: a PUT to an upload URL needs the URL, not an access key.

:func:`sign` gives the query string ``expires=<unix seconds>&signature=<hex>``,
the signature being HMAC-SHA256, under the server's secret, of the expiry and
the exact path. Changing either breaks it. :func:`verify` checks a request's
query against its path. Both sides must see the path in the same form; the
server signs and verifies the percent-decoded path, as routes receive it.

A :class:`SignatureError` message is a reason in lower case, with no final
stop, written to follow "This upload URL is not valid: ".
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

# ASCII digits only: int() would also take "1_000" and other scripts' digits.
EXPIRES = re.compile(r"[0-9]{1,15}")
SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


class SignatureError(Exception):
    """A signed URL that does not allow the request; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sign(path: str, expires: int, secret: bytes) -> str:
    """The query string that lets ``path`` be used until ``expires`` (Unix time)."""
    if expires < 0:
        raise ValueError(f"expires must be a Unix time, not {expires}.")

    return f"expires={expires}&signature={signature(path, expires, secret)}"


def verify(
    path: str, query: Mapping[str, str], secret: bytes, now: float | None = None
) -> None:
    """Raise :class:`SignatureError` unless ``query`` signs ``path`` until later."""
    expires, given = read_query(query)
    if not hmac.compare_digest(signature(path, expires, secret), given.lower()):
        raise SignatureError(
            "its signature does not match its path and expiry, so it was changed "
            "or belongs to another path"
        )
    moment = time.time() if now is None else now
    if moment >= expires:
        when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M:%S")
        raise SignatureError(f"it expired at {when} UTC, {int(moment - expires)} s ago")


def read_query(query: Mapping[str, str]) -> tuple[int, str]:
    missing = [name for name in ("expires", "signature") if name not in query]
    if missing:
        names = " and ".join(f"`{name}`" for name in missing)
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise SignatureError(f"it has no {names} {noun}")
    if not EXPIRES.fullmatch(query["expires"]):
        raise SignatureError(
            f"its `expires` parameter {query['expires'][:40]!r} is not a Unix "
            "time in whole seconds"
        )
    if not SIGNATURE.fullmatch(query["signature"]):
        raise SignatureError("its `signature` parameter is not 64 hexadecimal digits")

    return int(query["expires"]), query["signature"]


def signature(path: str, expires: int, secret: bytes) -> str:
    if not secret:
        # An empty key would let anyone compute signatures.
        raise ValueError("The signing secret is empty; configure a random one.")
    # The expiry is digits only, so the newline cannot be forged from either side.
    message = f"{expires}\n{path}".encode("utf-8", "surrogatepass")

    return hmac.new(secret, message, hashlib.sha256).hexdigest()
