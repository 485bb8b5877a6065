"""The typed inputs and outputs of the services, as they travel on the wire.

Fields are snake_case in Python and camelCase on the wire (``spendLimit``);
REST and GraphQL both serialize these models with :func:`to_wire`, so the
two transports return the same data by construction.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
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
    """An account's profile. ``email`` and ``spendLimit`` are shown only to itself."""

    username: str
    created: datetime
    name: str | None = None
    avatar: str | None = None
    bio: str | None = None
    website: str | None = None
    github: str | None = None
    email: str | None = None
    spend_limit: float | None = None


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
