"""Key vault (wrapped data keys, encrypted secrets), datastores, versioned assets with lineage, and the
recorded environment locks.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "workspace_data_keys",
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _workspace_fk("workspace_data_keys"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspace_data_keys")),
    )
    op.create_table(
        "secrets",
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(300), nullable=True),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        *_stamps(),
        _workspace_fk("secrets"),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_secrets")),
    )
    op.create_table(
        "datastores",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("credentials_type", sa.String(32), nullable=False),
        *_stamps(),
        _workspace_fk("datastores"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datastores")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_datastores_workspace_id")),
    )
    op.create_table(
        "asset_versions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        *_stamps(),
        _workspace_fk("asset_versions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_versions")),
        sa.UniqueConstraint(
            "workspace_id", "kind", "name", "version", name=op.f("uq_asset_versions_workspace_id")
        ),
    )
    op.create_table(
        "asset_lineage",
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("job_name", sa.String(256), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["asset_versions.id"],
            name=op.f("fk_asset_lineage_version_id_asset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "job_name", "direction", name=op.f("pk_asset_lineage")),
    )
    op.create_table(
        "environment_locks",
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("python_version", sa.String(16), nullable=False),
        sa.Column("lock_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("spec_hash", name=op.f("pk_environment_locks")),
    )


def downgrade() -> None:
    for table in (
        "environment_locks",
        "asset_lineage",
        "asset_versions",
        "datastores",
        "secrets",
        "workspace_data_keys",
    ):
        op.drop_table(table)
