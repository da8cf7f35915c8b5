"""MLflow 3 logged models with their tags and params, and the run outputs that link runs to them.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _model_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["model_id"],
        ["logged_models.model_id"],
        name=op.f(f"fk_{table}_model_id_logged_models"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(40), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("experiment_row_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("model_type", sa.String(500), nullable=True),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("artifact_uri", sa.Text(), nullable=False),
        sa.Column("creation_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_row_id"],
            ["experiments.id"],
            name=op.f("fk_logged_models_experiment_row_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_logged_models_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_logged_models")),
    )
    op.create_index(op.f("ix_logged_models_workspace_id"), "logged_models", ["workspace_id"])
    op.create_index(op.f("ix_logged_models_experiment_row_id"), "logged_models", ["experiment_row_id"])
    for table in ("logged_model_tags", "logged_model_params"):
        op.create_table(
            table,
            sa.Column("model_id", sa.String(40), nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            _model_fk(table),
            sa.PrimaryKeyConstraint("model_id", "key", name=op.f(f"pk_{table}")),
        )
    op.create_table(
        "run_outputs",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(40), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name=op.f("fk_run_outputs_run_id_runs"), ondelete="CASCADE"
        ),
        _model_fk("run_outputs"),
        sa.PrimaryKeyConstraint("run_id", "model_id", "step", name=op.f("pk_run_outputs")),
    )


def downgrade() -> None:
    for table in ("run_outputs", "logged_model_params", "logged_model_tags", "logged_models"):
        op.drop_table(table)
