"""MLflow datasets and run inputs (``log-inputs``): the datasets and logged models a run consumed.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"], ["runs.run_id"], name=op.f(f"fk_{table}_run_id_runs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("experiment_row_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(36), nullable=False),
        sa.Column("source_type", sa.String(36), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=True),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_row_id"],
            ["experiments.id"],
            name=op.f("fk_datasets_experiment_row_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint(
            "experiment_row_id", "name", "digest", name=op.f("uq_datasets_experiment_row_id")
        ),
    )
    op.create_table(
        "run_dataset_inputs",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("context", sa.String(500), nullable=True),
        _run_fk("run_dataset_inputs"),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_run_dataset_inputs_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "dataset_id", name=op.f("pk_run_dataset_inputs")),
    )
    op.create_table(
        "run_model_inputs",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(40), nullable=False),
        _run_fk("run_model_inputs"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["logged_models.model_id"],
            name=op.f("fk_run_model_inputs_model_id_logged_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "model_id", name=op.f("pk_run_model_inputs")),
    )


def downgrade() -> None:
    for table in ("run_model_inputs", "run_dataset_inputs", "datasets"):
        op.drop_table(table)
