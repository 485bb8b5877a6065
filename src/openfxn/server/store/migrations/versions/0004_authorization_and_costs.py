"""Owners' authorization URLs and their decisions; who a prediction was for, and
what each usage record costs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authorization_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("customer", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_authorization_decisions_owner_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorization_decisions")),
    )
    with op.batch_alter_table("authorization_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authorization_decisions_owner_id"),
            ["owner_id"],
            unique=False,
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("authorization_url", sa.String(length=2048), nullable=True)
        )
        batch_op.add_column(sa.Column("authorization_secret", sa.Text(), nullable=True))

    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "caller_kind",
                sa.String(length=16),
                nullable=False,
                server_default="key",
            )
        )
        batch_op.add_column(sa.Column("customer", sa.String(length=255), nullable=True))

    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cost", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "predictor_tag", sa.String(length=80), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column(
                "caller_kind",
                sa.String(length=16),
                nullable=False,
                server_default="key",
            )
        )
        batch_op.add_column(sa.Column("customer", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_usage_created"), ["created"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_created"))
        batch_op.drop_column("customer")
        batch_op.drop_column("caller_kind")
        batch_op.drop_column("predictor_tag")
        batch_op.drop_column("cost")

    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_column("customer")
        batch_op.drop_column("caller_kind")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("authorization_secret")
        batch_op.drop_column("authorization_url")

    with op.batch_alter_table("authorization_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorization_decisions_owner_id"))

    op.drop_table("authorization_decisions")
