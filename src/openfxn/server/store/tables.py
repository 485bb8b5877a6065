"""The database tables, as SQLAlchemy ORM classes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Account(Base):
    """A user account: the owner of access keys (and later predictors and usage)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(39), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(100))
    avatar: Mapped[str | None] = mapped_column(String(2048))
    bio: Mapped[str | None] = mapped_column(String(500))
    website: Mapped[str | None] = mapped_column(String(2048))
    github: Mapped[str | None] = mapped_column(String(39))
    spend_limit: Mapped[float | None] = mapped_column(Float)
    # Where the account's own service approves predictions of its predictors
    # for callers without an access key, and the secret that signs those asks.
    authorization_url: Mapped[str | None] = mapped_column(String(2048))
    authorization_secret: Mapped[str | None] = mapped_column(Text)  # sealed

    access_keys: Mapped[list[AccessKey]] = relationship(back_populates="account")


class AccessKey(Base):
    """An access key, stored only as the SHA-256 digest of its plaintext."""

    __tablename__ = "access_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(32))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(back_populates="access_keys")


class Predictor(Base):
    """A predictor: its metadata, its source in storage, and how it provisioned."""

    __tablename__ = "predictors"

    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), unique=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(8), default="CLOUD")
    status: Mapped[str] = mapped_column(String(16), default="PROVISIONING")
    access: Mapped[str] = mapped_column(String(16), default="PRIVATE")
    acceleration: Mapped[str] = mapped_column(String(8), default="CPU")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    description: Mapped[str | None] = mapped_column(String(200))
    card: Mapped[str | None] = mapped_column(Text)
    media: Mapped[str | None] = mapped_column(String(2048))
    license: Mapped[str | None] = mapped_column(String(2048))
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[str | None] = mapped_column(Text)
    predictions: Mapped[int] = mapped_column(Integer, default=0)
    source_key: Mapped[str] = mapped_column(String(512))
    source_name: Mapped[str] = mapped_column(String(255))
    requirements: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_generator: Mapped[bool] = mapped_column(Boolean, default=False)

    owner: Mapped[Account] = relationship()


class EnvironmentVariable(Base):
    """A secret: an account's (scope "account") or one predictor's (its id)."""

    __tablename__ = "environment_variables"
    __table_args__ = (UniqueConstraint("account_id", "scope", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    sealed: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Prediction(Base):
    """One run of a predictor, kept for its caller; RUNNING until it ends."""

    __tablename__ = "predictions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    predictor_id: Mapped[int | None] = mapped_column(
        ForeignKey("predictors.id", ondelete="SET NULL"), index=True
    )
    tag: Mapped[str] = mapped_column(String(80))
    caller_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    billed_account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="RUNNING")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    results: Mapped[list[Any] | None] = mapped_column(JSON)
    latency: Mapped[float | None] = mapped_column(Float)
    cold_start: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    logs: Mapped[str | None] = mapped_column(Text)
    # "key" for a caller's own access key, "authorization" for one the
    # predictor's owner approved through its URL; then the owner's customer.
    caller_kind: Mapped[str] = mapped_column(String(16), default="key")
    customer: Mapped[str | None] = mapped_column(String(255))


class Usage(Base):
    """What a finished prediction is billed: at most one row per prediction."""

    __tablename__ = "usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[str] = mapped_column(
        ForeignKey("predictions.id", ondelete="CASCADE"), unique=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    acceleration: Mapped[str] = mapped_column(String(8))
    latency: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    predictor_tag: Mapped[str] = mapped_column(String(80), default="")
    caller_kind: Mapped[str] = mapped_column(String(16), default="key")
    customer: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuthorizationDecision(Base):
    """What an owner's authorization URL answered for one prediction request;
    the key it judged is kept only as a keyed hash."""

    __tablename__ = "authorization_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(80))
    key_hash: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # allowed, refused, failed
    customer: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
