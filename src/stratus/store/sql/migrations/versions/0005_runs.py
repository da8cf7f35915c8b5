"""MLflow runs with their metrics (every point, and the latest per key), params and tags.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"], ["runs.run_id"], name=op.f(f"fk_{table}_run_id_runs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("experiment_row_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("artifact_uri", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_row_id"],
            ["experiments.id"],
            name=op.f("fk_runs_experiment_row_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_workspace_id"), "runs", ["workspace_id"])
    op.create_index(op.f("ix_runs_experiment_row_id"), "runs", ["experiment_row_id"])
    op.create_table(
        "metrics",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        _run_fk("metrics"),
        sa.PrimaryKeyConstraint(
            "run_id", "key", "step", "timestamp", "value", "is_nan", name=op.f("pk_metrics")
        ),
    )
    for table, value_column in (
        ("latest_metrics", None),
        ("params", sa.Column("value", sa.Text(), nullable=False)),
        ("run_tags", sa.Column("value", sa.Text(), nullable=False)),
    ):
        columns: list[sa.Column[Any]] = [
            sa.Column("run_id", sa.String(32), nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
        ]
        if value_column is None:
            columns += [
                sa.Column("step", sa.BigInteger(), nullable=False),
                sa.Column("timestamp", sa.BigInteger(), nullable=False),
                sa.Column("value", sa.Float(), nullable=False),
                sa.Column("is_nan", sa.Boolean(), nullable=False),
            ]
        else:
            columns.append(value_column)
        op.create_table(
            table,
            *columns,
            _run_fk(table),
            sa.PrimaryKeyConstraint("run_id", "key", name=op.f(f"pk_{table}")),
        )


def downgrade() -> None:
    for table in ("run_tags", "params", "latest_metrics", "metrics", "runs"):
        op.drop_table(table)
