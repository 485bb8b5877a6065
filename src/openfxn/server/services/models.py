"""The typed inputs and outputs of the services, as they travel on the wire.

Fields are snake_case in Python and camelCase on the wire (``spendLimit``);
REST and GraphQL both serialize these models with :func:`to_wire`, so the
two transports return the same data by construction.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from openfxn.server.errors import InvalidRequest

USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$")
GITHUB_HANDLE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$")


def check_username(value: str) -> str:
    if not USERNAME.fullmatch(value):
        raise ValueError(
            f"'{value[:60]}' is not a valid username: use 1 to 39 lowercase letters, "
            "digits and inner hyphens, like 'ada-lovelace'"
        )
    return value


def check_web_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+", value) or any(c.isspace() for c in value):
        raise ValueError(
            f"'{value[:60]}' is not a web address: give a full http:// or https:// URL"
        )
    return value


def check_github(value: str) -> str:
    if not GITHUB_HANDLE.fullmatch(value):
        raise ValueError(
            f"'{value[:60]}' is not a GitHub username: give the handle alone, "
            "without '@' or a URL"
        )
    return value


def check_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank; send null to clear it")
    return value


# The patterns document in the schemas what the checks enforce with better messages.
Username = Annotated[
    str,
    Field(json_schema_extra={"pattern": USERNAME.pattern}),
    AfterValidator(check_username),
]
WebUrl = Annotated[
    str,
    Field(max_length=2048, json_schema_extra={"pattern": r"^https?://[^\s/?#]+\S*$"}),
    AfterValidator(check_web_url),
]
ProfileName = Annotated[
    str,
    Field(min_length=1, max_length=100, json_schema_extra={"pattern": r"\S"}),
    AfterValidator(check_name),
]
KeyName = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": r"\S"}),
    AfterValidator(check_name),
]
GithubHandle = Annotated[
    str,
    Field(json_schema_extra={"pattern": GITHUB_HANDLE.pattern}),
    AfterValidator(check_github),
]


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class InputModel(WireModel):
    """An input: unknown fields are refused, so a misspelt one is not ignored."""

    model_config = ConfigDict(extra="forbid")


InputModelT = TypeVar("InputModelT", bound=InputModel)


def to_wire(model: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict both transports send for ``model``."""
    return model.model_dump(mode="json", by_alias=True)


def parse(model: type[InputModelT], data: Any) -> InputModelT:
    """Validate wire data into ``model``, or raise InvalidRequest naming the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(describe_validation_error(error.errors())) from None


def describe_validation_error(errors: Any) -> str:
    """One sentence per problem, each naming the field: 'name: must not be blank.'"""
    problems = []
    for error in errors:
        location = ".".join(str(part) for part in error["loc"] if part != "body")
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a known field; check its spelling"
        problems.append(f"{location or 'input'}: {message}.")
    return "Invalid input. " + " ".join(problems)


# ---------- users ----------


class User(WireModel):
    """An account's profile. ``email``, ``spendLimit`` and ``authorizationUrl``
    are shown only to itself; ``authorizationSecret`` only in the reply that
    made it."""

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


class UpdateUserInput(InputModel):
    """Profile fields to change; a field sent as null is cleared, one left out kept."""

    name: ProfileName | None = None
    bio: Annotated[str, Field(max_length=500)] | None = None
    avatar: WebUrl | None = None
    website: WebUrl | None = None
    github: GithubHandle | None = None
    spend_limit: (
        Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)] | None
    ) = None
    authorization_url: WebUrl | None = None


# ---------- access keys ----------


class AccessKey(WireModel):
    """An access key as listed: never the key itself, only a hint of it."""

    id: str
    name: str
    hint: str
    created: datetime
    last_used: datetime | None = None
    expires: datetime | None = None


class NewAccessKey(WireModel):
    """A key just created: the only time its plaintext ``key`` is shown."""

    access_key: AccessKey
    key: str


class CreateAccessKeyInput(InputModel):
    name: KeyName
    expires: datetime | None = None


class RevokeAccessKeyInput(InputModel):
    id: Annotated[str, Field(min_length=1, max_length=32)]


# ---------- predictors ----------


class PredictorType(StrEnum):
    CLOUD = "CLOUD"
    EDGE = "EDGE"


class PredictorStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    ACTIVE = "ACTIVE"
    INVALID = "INVALID"
    ARCHIVED = "ARCHIVED"


class AccessMode(StrEnum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"
    PROTECTED = "PROTECTED"


class Acceleration(StrEnum):
    CPU = "CPU"
    A40 = "A40"
    A100 = "A100"


TAG = re.compile(
    r"^@([a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?)/([a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?)$"
)


def check_tag(value: str) -> str:
    value = value.strip().lower()
    if not TAG.fullmatch(value):
        raise ValueError(
            f"'{value[:80]}' is not a predictor tag: write '@owner/name', where the "
            "name has 1 to 40 lowercase letters, digits, '-' or '_'"
        )
    return value


Tag = Annotated[
    str, Field(json_schema_extra={"pattern": TAG.pattern}), AfterValidator(check_tag)
]


class Value(WireModel):
    """A typed value: its bytes in ``data`` (a data: or upload URL), type, shape."""

    data: str | None = None
    type: str
    shape: list[int] | None = None


class ResultValue(Value):
    """A result: a Value, with the convenience fields old clients read."""

    string_value: str | None = None
    float_value: float | None = None
    float_array: list[float] | None = None
    int_value: int | None = None
    int_array: list[int] | None = None
    bool_value: bool | None = None
    bool_array: list[bool] | None = None
    list_value: list[Any] | None = None
    dict_value: dict[str, Any] | None = None


class EnumerationMember(WireModel):
    name: str
    value: str | int


class Parameter(WireModel):
    """An input or output of a predictor, as inferred from its code."""

    name: str | None = None
    type: str | None = None
    description: str | None = None
    optional: bool | None = None
    range: list[float] | None = None
    enumeration: list[EnumerationMember] | None = None
    default_value: Value | None = None
    value_schema: dict[str, Any] | None = Field(None, alias="schema")


class Signature(WireModel):
    inputs: list[Parameter]
    outputs: list[Parameter]


class Predictor(WireModel):
    """A predictor. ``log`` (the provisioning log) is shown only to its owner."""

    tag: str
    owner: User
    name: str
    type: PredictorType
    status: PredictorStatus
    access: AccessMode
    predictions: int
    created: datetime
    description: str | None = None
    card: str | None = None
    media: str | None = None
    acceleration: Acceleration | None = None
    signature: Signature | None = None
    error: str | None = None
    license: str | None = None
    log: str | None = None


class EnvironmentVariableInput(InputModel):
    name: str
    value: str


class CreatePredictorInput(InputModel):
    """A new predictor. Null means the default, as the official clients send it."""

    tag: Tag
    notebook: Annotated[str, Field(min_length=1, max_length=100 * 1024 * 1024)]
    type: PredictorType | None = None
    access: AccessMode | None = None
    description: Annotated[str, Field(max_length=200)] | None = None
    media: Annotated[str, Field(max_length=16 * 1024 * 1024)] | None = None
    acceleration: Acceleration | None = None
    environment: list[EnvironmentVariableInput] | None = None
    license: Annotated[str, Field(max_length=2048)] | None = None
    overwrite: bool | None = None
    topics: list[str] | None = None


class PredictorInput(InputModel):
    tag: Tag


# A GraphQL Int is 32 bits; REST takes no more, and no database overflows.
MAX_OFFSET = 2**31 - 1
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Count = Annotated[int, Field(ge=1, le=100)]


class UserPredictorsInput(InputModel):
    status: PredictorStatus | None = None
    offset: Offset | None = None
    count: Count | None = None


class PredictorsInput(InputModel):
    query: Annotated[str, Field(max_length=200)] | None = None
    offset: Offset | None = None
    count: Count | None = None


# ---------- environment variables ----------

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def check_variable_name(value: str) -> str:
    if not VARIABLE_NAME.fullmatch(value):
        raise ValueError(
            f"'{value[:60]}' is not a variable name: use letters, digits and '_', "
            "not starting with a digit, like HF_TOKEN"
        )
    return value


VariableName = Annotated[
    str,
    Field(json_schema_extra={"pattern": VARIABLE_NAME.pattern}),
    AfterValidator(check_variable_name),
]


class EnvironmentVariable(WireModel):
    """A secret's name; values are write-only."""

    name: str


class CreateEnvironmentVariableInput(InputModel):
    name: VariableName
    value: Annotated[str, Field(max_length=32 * 1024)]
    organization: str | None = None


class DeleteEnvironmentVariableInput(InputModel):
    name: VariableName
    organization: str | None = None


# ---------- uploads ----------


class UploadType(StrEnum):
    MEDIA = "MEDIA"
    NOTEBOOK = "NOTEBOOK"
    VALUE = "VALUE"
    FEATURE = "FEATURE"


FILE_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,255}$")
UPLOAD_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    """A check that a string matches ``pattern``, saying what it should be."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value[:60]!r} is not {what}")
        return value

    return AfterValidator(check)


FileName = Annotated[
    str,
    Field(json_schema_extra={"pattern": FILE_NAME.pattern}),
    matching(FILE_NAME, "a file name: 1 to 255 characters, no '/' or controls"),
]
UploadKey = Annotated[
    str,
    Field(json_schema_extra={"pattern": UPLOAD_KEY.pattern}),
    matching(UPLOAD_KEY, "an upload key: up to 64 letters, digits, '-' and '_'"),
]


class CreateUploadUrlInput(InputModel):
    name: FileName
    type: UploadType
    key: UploadKey | None = None


# ---------- predictions ----------


class PredictionStatus(StrEnum):
    """How far a prediction got (an openfxn extension of the 2023 shape)."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    INTERRUPTED = "INTERRUPTED"


class Prediction(WireModel):
    """A prediction: ``results`` in order, or ``error`` when predict raised.

    ``latency`` (ms) covers the call of predict only; ``coldStart`` (ms, an
    extension) is set when this prediction had to start a worker first.
    """

    id: str
    tag: str
    type: PredictorType
    created: datetime
    results: list[ResultValue] | None = None
    latency: float | None = None
    error: str | None = None
    logs: str | None = None
    # EDGE predictions only; a CLOUD one has none, and clients ask for them.
    implementation: str | None = None
    resources: list[dict[str, str]] | None = None
    configuration: str | None = None
    status: PredictionStatus | None = None
    cold_start: float | None = None


class CreatePredictionInput(InputModel):
    """A prediction over GraphQL: the inputs as a list of named Values."""

    model_config = ConfigDict(extra="ignore")  # official clients send more

    tag: Tag
    client: str | None = None
    inputs: list[dict[str, Any]] | None = None
    data_url_limit: int | None = None
    configuration: str | None = None
    device: str | None = None
    client_version: str | None = None

    @field_validator("inputs")
    @classmethod
    def _named(cls, inputs: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for value in inputs or []:
            if not isinstance(value.get("name"), str):
                raise ValueError("every input needs a 'name'")
        return inputs


# ---------- usage ----------

Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", max_length=7)]


class UsageInput(InputModel):
    """The month to report, ``YYYY-MM``; this month when left out."""

    month: Month | None = None


class UsageLine(WireModel):
    """Sums over some usage records: those of one ``key`` (a predictor's tag, a
    caller kind, a customer), or all of them."""

    key: str | None = None
    predictions: int
    latency: float
    cost: float


class Usage(WireModel):
    """A month of the account's usage: ``latency`` in ms, ``cost`` at the
    server's prices, and the same per predictor, caller kind and customer."""

    month: str
    predictions: int
    latency: float
    cost: float
    predictors: list[UsageLine]
    caller_kinds: list[UsageLine]
    customers: list[UsageLine]


class AuthorizationDecision(WireModel):
    """What the owner's authorization URL decided for one prediction request."""

    created: datetime
    tag: str
    outcome: str  # allowed, refused or failed
    customer: str | None = None
    detail: str | None = None


class AuthorizationDecisionsInput(InputModel):
    """How many of the latest decisions to list."""

    count: Count | None = None
