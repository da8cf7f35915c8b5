"""SQL metadata store for sqlite:// and postgresql://."""

from __future__ import annotations

from stratus.store.sql.engine import make_engine, migration_lock, upgrade
from stratus.store.sql.store import SqlMetadataStore

__all__ = ["SqlMetadataStore", "make_engine", "migration_lock", "open_store", "upgrade"]


def open_store(url: str, *, migrate: bool = True) -> SqlMetadataStore:
    """Open the store at ``url``, applying migrations once under the cross-process lock."""
    engine = make_engine(url)
    if migrate:
        with migration_lock(engine):
            upgrade(engine)
    return SqlMetadataStore(engine)
