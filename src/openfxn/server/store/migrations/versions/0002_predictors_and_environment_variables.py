"""Predictors and environment variables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environment_variables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_environment_variables_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environment_variables")),
        sa.UniqueConstraint(
            "account_id",
            "scope",
            "name",
            name=op.f("uq_environment_variables_account_id"),
        ),
    )
    with op.batch_alter_table("environment_variables", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_environment_variables_account_id"),
            ["account_id"],
            unique=False,
        )

    op.create_table(
        "predictors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("access", sa.String(length=16), nullable=False),
        sa.Column("acceleration", sa.String(length=8), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("card", sa.Text(), nullable=True),
        sa.Column("media", sa.String(length=2048), nullable=True),
        sa.Column("license", sa.String(length=2048), nullable=True),
        sa.Column("signature", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("log", sa.Text(), nullable=True),
        sa.Column("predictions", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=512), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("is_generator", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_predictors_owner_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictors")),
        sa.UniqueConstraint("tag", name=op.f("uq_predictors_tag")),
    )
    with op.batch_alter_table("predictors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_predictors_owner_id"), ["owner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("predictors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictors_owner_id"))

    op.drop_table("predictors")
    with op.batch_alter_table("environment_variables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_environment_variables_account_id"))

    op.drop_table("environment_variables")
