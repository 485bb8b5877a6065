"""The typed replies of the API, as the client returns them.

Fields are snake_case here and camelCase on the wire (``spendLimit``); the
models accept either. Unknown fields are ignored, so a newer server does not
break an older client. Every model is frozen: a reply is a record of what the
server said.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "Acceleration",
    "AccessKey",
    "AccessMode",
    "AuthorizationDecision",
    "Dtype",
    "EnumerationMember",
    "EnvironmentVariable",
    "NewAccessKey",
    "Parameter",
    "Prediction",
    "PredictionStatus",
    "Predictor",
    "PredictorStatus",
    "PredictorType",
    "Signature",
    "UploadType",
    "Usage",
    "UsageLine",
    "User",
    "Value",
]


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        frozen=True,
    )


class Dtype(StrEnum):
    """The type of a value on the wire."""

    NULL = "null"
    STRING = "string"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    UINT8 = "uint8"
    UINT16 = "uint16"
    UINT32 = "uint32"
    UINT64 = "uint64"
    FLOAT16 = "float16"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOL = "bool"
    LIST = "list"
    DICT = "dict"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    MODEL = "model"
    BINARY = "binary"


class PredictorType(StrEnum):
    """Where a predictor runs: on the server (CLOUD) or on the caller's device."""

    CLOUD = "CLOUD"
    EDGE = "EDGE"


class PredictorStatus(StrEnum):
    """A predictor's lifecycle: PROVISIONING, then ACTIVE or INVALID."""

    PROVISIONING = "PROVISIONING"
    ACTIVE = "ACTIVE"
    INVALID = "INVALID"
    ARCHIVED = "ARCHIVED"


class AccessMode(StrEnum):
    """Who may see and run a predictor."""

    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"
    PROTECTED = "PROTECTED"


class Acceleration(StrEnum):
    """The hardware a predictor runs on, which sets its price."""

    CPU = "CPU"
    A40 = "A40"
    A100 = "A100"


class UploadType(StrEnum):
    """What an upload URL is for; each kind has its own size limit."""

    MEDIA = "MEDIA"
    NOTEBOOK = "NOTEBOOK"
    VALUE = "VALUE"


class PredictionStatus(StrEnum):
    """How far a prediction got."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    INTERRUPTED = "INTERRUPTED"


class User(Model):
    """An account's profile.

    ``email``, ``spend_limit`` and ``authorization_url`` are shown only to the
    account itself; ``authorization_secret`` only in the reply that made it.
    """

    username: str
    created: datetime
    name: str | None = None
    avatar: str | None = None
    bio: str | None = None
    website: str | None = None
    github: str | None = None
    email: str | None = None
    spend_limit: float | None = None
    authorization_url: str | None = None
    authorization_secret: str | None = None


class AccessKey(Model):
    """An access key as listed: a ``hint`` of it (its first and last
    characters), never the key itself."""

    id: str
    name: str
    hint: str
    created: datetime
    last_used: datetime | None = None
    expires: datetime | None = None


class NewAccessKey(Model):
    """A key just created: ``key`` is its secret, shown this once."""

    access_key: AccessKey
    key: str = Field(repr=False)


class Value(Model):
    """A value as it travels: its bytes in ``data`` (a ``data:`` URL or a URL
    to fetch them from), its ``type`` (a :class:`Dtype`), and its ``shape``
    for numbers and bools (``[]`` for a single one).

    Pass a Value as a prediction input to send it exactly as it is.
    """

    data: str | None = None
    type: str
    shape: list[int] | None = None


class EnumerationMember(Model):
    """One of the values a parameter may take, with its display name."""

    name: str
    value: str | int


class Parameter(Model):
    """An input or output of a predictor, as the server inferred it from code."""

    name: str | None = None
    type: str | None = None
    description: str | None = None
    optional: bool | None = None
    range: list[float] | None = None
    enumeration: list[EnumerationMember] | None = None
    default_value: Value | None = None
    value_schema: dict[str, Any] | None = Field(None, alias="schema")


class Signature(Model):
    """A predictor's inputs and outputs."""

    inputs: list[Parameter]
    outputs: list[Parameter]


class Predictor(Model):
    """A predictor.

    ``status`` starts PROVISIONING and ends ACTIVE or INVALID; when INVALID,
    ``error`` says why and ``log`` (shown to the owner only) holds the
    provisioning log.
    """

    tag: str
    owner: User
    name: str
    type: PredictorType
    status: PredictorStatus
    access: AccessMode
    created: datetime
    predictions: int = 0
    description: str | None = None
    card: str | None = None
    media: str | None = None
    acceleration: Acceleration | None = None
    signature: Signature | None = None
    error: str | None = None
    license: str | None = None
    log: str | None = None


class Prediction(Model):
    """A prediction: one run of a predictor.

    Attributes:
        results: The results as Python objects, in order (see the value table
            in ``docs/client.md``), or None when ``predict`` raised.
        values: The same results as the server sent them, undecoded.
        error: The exception and traceback ``predict`` raised, or None.
        logs: What the prediction printed.
        latency: Milliseconds spent in ``predict``.
        cold_start: Milliseconds spent starting a worker first, if one was.
        status: RUNNING while streaming, then SUCCEEDED, FAILED or INTERRUPTED.
    """

    id: str
    tag: str
    type: PredictorType
    created: datetime
    results: list[Any] | None = None
    values: list[Value] | None = None
    latency: float | None = None
    error: str | None = None
    logs: str | None = None
    status: PredictionStatus | None = None
    cold_start: float | None = None
    implementation: str | None = None
    resources: list[dict[str, str]] | None = None
    configuration: str | None = None


class EnvironmentVariable(Model):
    """An environment variable's name; values are write-only."""

    name: str


class UsageLine(Model):
    """Sums over the usage records of one ``key`` (a predictor's tag, a caller
    kind, a customer): ``latency`` in milliseconds, ``cost`` at the server's
    prices."""

    key: str | None = None
    predictions: int
    latency: float
    cost: float


class Usage(Model):
    """A month (``YYYY-MM``) of an account's usage, in total and broken down."""

    month: str
    predictions: int
    latency: float
    cost: float
    predictors: list[UsageLine]
    caller_kinds: list[UsageLine]
    customers: list[UsageLine]


class AuthorizationDecision(Model):
    """What the owner's authorization URL decided for one prediction request.

    ``outcome`` is ``allowed``, ``refused`` or ``failed``; ``cached`` is true
    when an earlier approval was reused.
    """

    created: datetime
    tag: str
    outcome: str
    customer: str | None = None
    detail: str | None = None
    cached: bool = False
