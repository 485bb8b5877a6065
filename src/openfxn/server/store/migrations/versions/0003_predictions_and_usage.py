"""Predictions, and the usage each finished one is billed (one row at most).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("predictor_id", sa.Integer(), nullable=True),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("caller_id", sa.Integer(), nullable=False),
        sa.Column("billed_account_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("finished", sa.DateTime(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("latency", sa.Float(), nullable=True),
        sa.Column("cold_start", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("logs", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["billed_account_id"],
            ["accounts.id"],
            name=op.f("fk_predictions_billed_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["caller_id"],
            ["accounts.id"],
            name=op.f("fk_predictions_caller_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["predictor_id"],
            ["predictors.id"],
            name=op.f("fk_predictions_predictor_id_predictors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
    )
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_predictions_billed_account_id"),
            ["billed_account_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_predictions_caller_id"), ["caller_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_predictions_predictor_id"), ["predictor_id"], unique=False
        )

    op.create_table(
        "usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("acceleration", sa.String(length=8), nullable=False),
        sa.Column("latency", sa.Float(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_usage_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.id"],
            name=op.f("fk_usage_prediction_id_predictions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage")),
        sa.UniqueConstraint("prediction_id", name=op.f("uq_usage_prediction_id")),
    )
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_account_id"))

    op.drop_table("usage")
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictions_predictor_id"))
        batch_op.drop_index(batch_op.f("ix_predictions_caller_id"))
        batch_op.drop_index(batch_op.f("ix_predictions_billed_account_id"))

    op.drop_table("predictions")
