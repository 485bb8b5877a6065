"""openfxn: serve Python predictors, and call them from Python.

The client library is this package's public surface::

    from openfxn import Function

    with Function() as fxn:
        prediction = fxn.predictions.create("@ada/greeting", {"name": "Peter"})
        print(prediction.results)

``AsyncFunction`` is the same client for ``asyncio``. Every exception it raises
is an :class:`OpenfxnError`. The server is the optional ``openfxn[server]``
extra, under :mod:`openfxn.server`; the CLI is :mod:`openfxn.cli`.
"""

import importlib.metadata as _metadata

from openfxn._client.clients import AsyncFunction, Function
from openfxn._client.credentials import (
    DEFAULT_API_URL,
    Credentials,
    credentials_path,
    delete_credentials,
    load_credentials,
    save_credentials,
)
from openfxn._client.errors import (
    APIError,
    AuthenticationError,
    ConnectionError,
    ConversionError,
    InvalidRequestError,
    NotFoundError,
    OpenfxnError,
    PermissionDeniedError,
    PredictionError,
    RateLimitedError,
    ServerError,
    SpendLimitError,
    TimeoutError,
)
from openfxn._client.models import (
    Acceleration,
    AccessKey,
    AccessMode,
    AuthorizationDecision,
    Dtype,
    EnumerationMember,
    EnvironmentVariable,
    NewAccessKey,
    Parameter,
    Prediction,
    PredictionStatus,
    Predictor,
    PredictorStatus,
    PredictorType,
    Signature,
    UploadType,
    Usage,
    UsageLine,
    User,
    Value,
)

try:
    __version__ = _metadata.version("openfxn")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_API_URL",
    "APIError",
    "Acceleration",
    "AccessKey",
    "AccessMode",
    "AsyncFunction",
    "AuthenticationError",
    "AuthorizationDecision",
    "ConnectionError",
    "ConversionError",
    "Credentials",
    "Dtype",
    "EnumerationMember",
    "EnvironmentVariable",
    "Function",
    "InvalidRequestError",
    "NewAccessKey",
    "NotFoundError",
    "OpenfxnError",
    "Parameter",
    "PermissionDeniedError",
    "Prediction",
    "PredictionError",
    "PredictionStatus",
    "Predictor",
    "PredictorStatus",
    "PredictorType",
    "RateLimitedError",
    "ServerError",
    "Signature",
    "SpendLimitError",
    "TimeoutError",
    "UploadType",
    "Usage",
    "UsageLine",
    "User",
    "Value",
    "__version__",
    "credentials_path",
    "delete_credentials",
    "load_credentials",
    "save_credentials",
]
