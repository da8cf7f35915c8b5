"""Alembic environment: runs on the engine Stratus passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from stratus.store.sql.tables import Base

config = context.config
engine = config.attributes["engine"]  # Stratus always passes its engine (see engine.alembic_config)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
