"""MLflow experiments per workspace, each workspace with its Default experiment 0.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    experiments = op.create_table(
        "experiments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.Text(), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_experiments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("workspace_id", "experiment_id", name=op.f("uq_experiments_workspace_id")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_experiments_workspace_id_name"),
    )
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_row_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_row_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_tags_experiment_row_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_row_id", "key", name=op.f("pk_experiment_tags")),
    )
    # Every existing workspace gets its Default experiment, as new ones do.
    workspaces = op.get_bind().execute(sa.text("SELECT id FROM workspaces")).scalars().all()
    stamp = int(time.time() * 1000)
    op.bulk_insert(
        experiments,
        [
            {
                "id": uuid.uuid4().hex,
                "workspace_id": ws,
                "experiment_id": 0,
                "name": "Default",
                "artifact_location": "mlflow-artifacts:/0",
                "lifecycle_stage": "active",
                "creation_time": stamp,
                "last_update_time": stamp,
            }
            for ws in workspaces
        ],
    )


def downgrade() -> None:
    op.drop_table("experiment_tags")
    op.drop_table("experiments")
