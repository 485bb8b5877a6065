"""The exceptions the client raises, all under one root::

    OpenfxnError                  anything this library raises on purpose
    ├── APIError                  the server answered with an error status
    │   ├── InvalidRequestError   400, 409, 413, 422 (and any other 4xx)
    │   ├── AuthenticationError   401: no valid access key where one is needed
    │   ├── SpendLimitError       402: the account's monthly spend limit is reached
    │   ├── PermissionDeniedError 403: the key is valid, but may not do this
    │   ├── NotFoundError         404: nothing by that name visible to the caller
    │   ├── RateLimitedError      429: too many requests; retried for reads
    │   └── ServerError           5xx, or a failure reported inside a stream
    ├── ConnectionError           the server could not be reached (also the
    │                             built-in ConnectionError)
    ├── TimeoutError              the server did not answer in time (also the
    │                             built-in TimeoutError)
    ├── PredictionError           ``predict`` raised, and the caller asked for
    │                             ``raise_on_error=True``
    └── ConversionError           a value that cannot be sent or read back
                                  (also a ValueError)

An :class:`APIError` carries the server's ``message``, every message of its
``errors`` list, and the HTTP ``status``. A prediction whose ``predict`` raised
is not an error of the API: it comes back with ``prediction.error`` set.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openfxn._client.models import Prediction

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConnectionError",
    "ConversionError",
    "InvalidRequestError",
    "NotFoundError",
    "OpenfxnError",
    "PermissionDeniedError",
    "PredictionError",
    "RateLimitedError",
    "ServerError",
    "SpendLimitError",
    "TimeoutError",
    "error_for_status",
]


class OpenfxnError(Exception):
    """The root of every exception this library raises on purpose.

    Attributes:
        message: What happened, as a sentence for the person calling.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIError(OpenfxnError):
    """The server refused or failed a request, answering with an error status.

    Attributes:
        message: The server's message (the envelope's ``error``).
        status: The HTTP status of the reply.
        errors: Every message of the envelope's ``errors`` list, in order.
    """

    def __init__(
        self, message: str, status: int, errors: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors if errors is not None else [message]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status})"


class InvalidRequestError(APIError):
    """The request was malformed, clashed with what exists, or was too large."""


class AuthenticationError(APIError):
    """An access key is needed, or the one sent is not valid (401)."""


class SpendLimitError(APIError):
    """The account billed has reached its monthly spend limit (402)."""


class PermissionDeniedError(APIError):
    """The caller is known but may not do this (403)."""


class NotFoundError(APIError):
    """Nothing by that name is visible to the caller (404)."""


class RateLimitedError(APIError):
    """The server asked the client to slow down (429)."""


class ServerError(APIError):
    """The server failed (5xx), or reported a failure inside a stream."""


class ConnectionError(OpenfxnError, builtins.ConnectionError):
    """The server could not be reached, or the connection broke."""


class TimeoutError(OpenfxnError, builtins.TimeoutError):
    """The server did not answer within the client's timeout."""


class PredictionError(OpenfxnError):
    """``predict`` raised; only with ``raise_on_error=True``.

    Attributes:
        prediction: The prediction, whose ``error`` holds the exception and
            traceback that ``predict`` raised.
    """

    def __init__(self, prediction: Prediction) -> None:
        error = prediction.error or "predict raised"
        super().__init__(
            f"The prediction {prediction.id} of {prediction.tag} failed: {error}"
        )
        self.prediction = prediction


class ConversionError(OpenfxnError, ValueError):
    """A value that has no wire form, or a result that cannot be read back."""


_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    402: SpendLimitError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitedError,
}


def error_for_status(
    status: int, message: str, errors: list[str] | None = None
) -> APIError:
    """The exception for an error reply of ``status`` carrying ``message``."""
    kind = _BY_STATUS.get(status)
    if kind is None:
        kind = ServerError if status >= 500 else InvalidRequestError
    return kind(message, status, errors)
