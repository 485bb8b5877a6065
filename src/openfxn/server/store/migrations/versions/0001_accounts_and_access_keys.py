"""Accounts and access keys.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=39), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("avatar", sa.String(length=2048), nullable=True),
        sa.Column("bio", sa.String(length=500), nullable=True),
        sa.Column("website", sa.String(length=2048), nullable=True),
        sa.Column("github", sa.String(length=39), nullable=True),
        sa.Column("spend_limit", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_username")),
    )
    op.create_table(
        "access_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=32), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_used", sa.DateTime(), nullable=True),
        sa.Column("expires", sa.DateTime(), nullable=True),
        sa.Column("revoked", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_access_keys_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_access_keys_digest")),
    )
    op.create_index(
        op.f("ix_access_keys_account_id"), "access_keys", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_access_keys_account_id"), table_name="access_keys")
    op.drop_table("access_keys")
    op.drop_table("accounts")
