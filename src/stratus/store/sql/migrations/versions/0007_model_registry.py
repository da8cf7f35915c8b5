"""MLflow model registry: registered models, integer versions, tags and aliases, per workspace.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _model_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["model_row_id"],
        ["registered_models.id"],
        name=op.f(f"fk_{table}_model_row_id_registered_models"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("creation_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_registered_models_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_models")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_registered_models_workspace_id")),
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("model_row_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _model_fk("registered_model_tags"),
        sa.PrimaryKeyConstraint("model_row_id", "key", name=op.f("pk_registered_model_tags")),
    )
    op.create_table(
        "model_versions",
        sa.Column("model_row_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("storage_location", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("model_id", sa.String(40), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("user_id", sa.String(256), nullable=True),
        sa.Column("creation_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger(), nullable=False),
        _model_fk("model_versions"),
        sa.PrimaryKeyConstraint("model_row_id", "version", name=op.f("pk_model_versions")),
    )
    op.create_table(
        "model_version_tags",
        sa.Column("model_row_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_row_id", "version"],
            ["model_versions.model_row_id", "model_versions.version"],
            name=op.f("fk_model_version_tags_model_row_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("model_row_id", "version", "key", name=op.f("pk_model_version_tags")),
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("model_row_id", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _model_fk("registered_model_aliases"),
        sa.PrimaryKeyConstraint("model_row_id", "alias", name=op.f("pk_registered_model_aliases")),
    )


def downgrade() -> None:
    for table in (
        "registered_model_aliases",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(table)
