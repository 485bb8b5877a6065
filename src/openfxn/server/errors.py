"""Errors the server raises. Each carries the HTTP status transports answer with.

    ServiceError
    ├── InvalidRequest      400  the input is wrong; the message names the field
    ├── Unauthenticated     401  no valid credential where one is needed
    ├── PermissionDenied    403  the caller may not do this
    ├── NotFound            404  no such thing, or not visible to the caller
    ├── Conflict            409  the request clashes with the current state
    ├── PayloadTooLarge     413  the body is over the server's limit
    ├── SpendLimitReached   402  the account's monthly spend limit is reached
    ├── BadGateway          502  a service the request relies on answered wrongly
    └── Unavailable         503  a dependency is down; retry later

Messages are sentences meant for the person calling: what is wrong, and
what to do about it.
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 500
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ServiceError):
    status = 400
    code = "INVALID_REQUEST"


class Unauthenticated(ServiceError):
    status = 401
    code = "UNAUTHENTICATED"


class PermissionDenied(ServiceError):
    status = 403
    code = "PERMISSION_DENIED"


class NotFound(ServiceError):
    status = 404
    code = "NOT_FOUND"


class Conflict(ServiceError):
    status = 409
    code = "CONFLICT"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class SpendLimitReached(ServiceError):
    status = 402
    code = "SPEND_LIMIT_REACHED"


class BadGateway(ServiceError):
    status = 502
    code = "BAD_GATEWAY"


class Unavailable(ServiceError):
    status = 503
    code = "UNAVAILABLE"
