"""Server settings, read from ``OPENFXN_*`` environment variables and CLI flags."""

from __future__ import annotations

from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class SqliteSynchronous(StrEnum):
    NORMAL = "normal"
    FULL = "full"


class SandboxMode(StrEnum):
    AUTO = "auto"
    BWRAP = "bwrap"
    SHIM = "shim"
    NONE = "none"


class SandboxTier(StrEnum):
    """How well predictors' code is confined, from A (best) to C (not at all)."""

    A = "A"
    B = "B"
    C = "C"


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "openfxn"


class Settings(BaseSettings):
    """Every setting of the server; each is also the variable ``OPENFXN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="OPENFXN_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on.")
    data: Path = Field(
        default_factory=default_data_dir,
        description="Data directory: the SQLite database and stored files.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database; the default is a SQLite file "
        "in the data directory. Use postgresql://... for PostgreSQL.",
    )
    log_format: LogFormat = Field(
        LogFormat.TEXT, description="Log format: text for terminals, json for machines."
    )
    log_level: str = Field("info", description="Lowest level logged: debug, info, ...")
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest request body accepted (bytes)."
    )
    graphql_max_depth: int = Field(
        15, ge=1, description="Deepest GraphQL selection accepted."
    )
    graphql_max_aliases: int = Field(
        50, ge=1, description="Most aliases in one GraphQL document."
    )
    graphql_max_tokens: int = Field(
        10_000, ge=100, description="Most lexical tokens in one GraphQL document."
    )
    sqlite_synchronous: SqliteSynchronous = Field(
        SqliteSynchronous.FULL,
        description="SQLite durability: full survives power loss, normal only crashes.",
    )
    sqlite_busy_timeout_ms: int = Field(
        5000, ge=0, description="How long a SQLite write waits for a lock (ms)."
    )
    public_url: str | None = Field(
        None,
        description="The server's address as clients reach it, for the upload URLs "
        "it hands out; by default taken from each request's Host header.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes: encrypts secrets at rest and signs "
        "upload URLs. By default generated once into DATA/secret.key.",
    )
    old_secret_keys: SecretStr | None = Field(
        None,
        description="Comma-separated earlier secret keys, still accepted for "
        "decryption while secrets are rotated to the current key.",
    )
    upload_url_lifetime_s: int = Field(
        3600, ge=60, description="How long a signed upload URL stays valid (s)."
    )
    max_media_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest MEDIA upload (bytes)."
    )
    max_notebook_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest NOTEBOOK upload (bytes)."
    )
    max_value_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest VALUE upload (bytes)."
    )
    provisioning_timeout_s: int = Field(
        600,
        ge=10,
        description="Longest a predictor may take to provision, installs included (s).",
    )
    provisioning_concurrency: int = Field(
        2, ge=1, description="Predictors provisioned at the same time."
    )
    sandbox: SandboxMode = Field(
        SandboxMode.AUTO,
        description="How predictors' code is confined: auto (the best tier a probe "
        "finds here), bwrap (tier A, bubblewrap, or refuse to start), shim (tier B: "
        "Landlock and seccomp, without namespaces) or none (tier C).",
    )
    sandbox_min_tier: SandboxTier = Field(
        SandboxTier.C,
        description="The server refuses to start when the sandbox is worse than this "
        "tier (A best, C none), and says which layer is missing.",
    )
    allow_unconfined: bool = Field(
        False,
        description="Run predictors even in tier C, with no sandbox: only for code "
        "you trust. Without it, a server in tier C refuses predictors.",
    )
    sandbox_scratch_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024 * 1024,
        description="Size of the scratch space (working directory and /tmp) a "
        "predictor's code may fill, and the largest file it may write (bytes).",
    )
    predictor_memory_bytes: int = Field(
        2 * 1024**3,
        ge=64 * 1024**2,
        description="Memory one process of a predictor may use (bytes): the control "
        "group's cap where there is one; the address space may be four times this.",
    )
    predictor_processes: int = Field(
        64,
        ge=4,
        description="Most processes (threads included) a predictor's worker may "
        "start at once, beyond its OPENFXN_WORKER_CONCURRENCY prediction threads.",
    )
    predictor_open_files: int = Field(
        1024, ge=32, description="Most files a predictor's process may hold open."
    )

    # ---- prediction workers ----
    prediction_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Longest one prediction may run before it is stopped (s).",
    )
    prediction_output_bytes: int = Field(
        128 * 1024 * 1024,
        ge=1024 * 1024,
        description="Most a prediction's results may weigh as the worker sends them "
        "(bytes, as they are); a larger output ends the prediction with an error.",
    )
    workers_per_predictor: int = Field(
        2, ge=1, description="Most warm workers one predictor may have at once."
    )
    worker_concurrency: int = Field(
        1,
        ge=1,
        le=1024,
        description="Predictions one worker runs at once, each in a thread of its "
        "own: raise it for predictors that wait (on I/O, sleeps) rather than compute.",
    )
    worker_max_predictions: int = Field(
        10_000,
        ge=1,
        description="Predictions a worker serves before a fresh one replaces it.",
    )
    worker_idle_s: float = Field(
        300.0,
        gt=0,
        description="How long an idle worker is kept warm before it is closed (s).",
    )

    # ---- owners' authorization URLs ----
    allow_loopback_authorization: bool = Field(
        False,
        description="Let authorization URLs resolve to loopback addresses (and no "
        "other private ones), for development and tests.",
    )
    allow_http_authorization: bool = Field(
        False,
        description="Accept http:// authorization URLs, not only https:// "
        "(development).",
    )
    authorization_timeout_s: float = Field(
        5.0,
        gt=0,
        le=60,
        description="Longest an owner's authorization URL may take to answer, "
        "connecting and reading included (s).",
    )
    authorization_cache_max_s: float = Field(
        60.0,
        ge=0,
        description="Longest an approval is reused when the owner's reply allows it "
        "with Cache-Control: max-age (s).",
    )
    authorization_concurrency: int = Field(
        8,
        ge=1,
        description="Most requests in flight to one owner's authorization URL.",
    )

    # ---- prices ----
    price_cpu_per_s: float = Field(
        0.0001, ge=0, description="Price of a second of prediction latency on CPU."
    )
    price_a40_per_s: float = Field(
        0.0008, ge=0, description="Price of a second of prediction latency on an A40."
    )
    price_a100_per_s: float = Field(
        0.0016, ge=0, description="Price of a second of prediction latency on an A100."
    )

    def price_per_s(self, acceleration: str) -> float:
        """The price of a second of latency on ``acceleration`` (CPU, A40, A100)."""
        return float(getattr(self, f"price_{acceleration.lower()}_per_s"))

    @field_validator("data")
    @classmethod
    def _absolute_data(cls, value: Path) -> Path:
        # Sandboxes bind paths under it; a relative one would name another place.
        return value.expanduser().absolute()

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        levels = ("debug", "info", "warning", "error", "critical")
        if value.lower() not in levels:
            raise ValueError(f"log_level must be one of {', '.join(levels)}")
        return value.lower()

    @property
    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL actually used."""
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.data / 'openfxn.db'}"
        return to_async_url(self.database_url)

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any]]:
        """(variable, description, default) for every setting, for help and docs."""
        rows = []
        for name, field in cls.model_fields.items():
            default = "~/.local/share/openfxn" if name == "data" else field.default
            if isinstance(default, Enum):
                default = default.value
            rows.append((f"OPENFXN_{name.upper()}", field.description or "", default))
        return rows


def to_async_url(url: str) -> str:
    """Map a plain database URL to the async driver openfxn uses for it."""
    for prefix, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return driver + url.removeprefix(prefix)
    return url
