"""The one SQLAlchemy implementation of every metadata-store domain (sqlite:// and postgresql://):
``SqlMetadataStore`` assembles the domain stores, each in its own module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import sessionmaker

from stratus.store.metadata import MetadataStore, SettingsStore
from stratus.store.sql.access import (
    SqlAuditStore,
    SqlRoleAssignmentStore,
    SqlTokenStore,
    SqlUserStore,
    SqlWorkspaceStore,
)
from stratus.store.sql.artifacts import SqlArtifactIndexStore
from stratus.store.sql.assets import SqlAssetStore, SqlDatastoreStore
from stratus.store.sql.common import NO_WAIT_SESSIONS, SqlDomain
from stratus.store.sql.engine import NoWaitWrites
from stratus.store.sql.logged_models import SqlLoggedModelStore
from stratus.store.sql.registry import SqlRegistryStore
from stratus.store.sql.runs import SqlRunStore
from stratus.store.sql.tables import ServerSettingRow
from stratus.store.sql.tracking import SqlExperimentStore
from stratus.store.sql.vault import SqlSecretStore


class SqlSettingsStore(SqlDomain, SettingsStore):
    def get(self, key: str) -> str | None:
        with self._tx() as session:
            return session.scalar(select(ServerSettingRow.value).where(ServerSettingRow.key == key))

    def set(self, key: str, value: str) -> None:
        with self._tx() as session:
            row = session.get(ServerSettingRow, key)
            if row is None:
                session.add(ServerSettingRow(key=key, value=value))
            else:
                row.value = value


_INITIALISED = "initialised_at"


class SqlMetadataStore(MetadataStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        sessions = sessionmaker(engine, expire_on_commit=False)
        self._sessions = sessions
        self._no_wait = NoWaitWrites.for_engine(engine)
        self.workspaces = SqlWorkspaceStore(sessions)
        self.users = SqlUserStore(sessions)
        self.tokens = SqlTokenStore(sessions)
        self.role_assignments = SqlRoleAssignmentStore(sessions)
        self.audit = SqlAuditStore(sessions)
        self.artifact_index = SqlArtifactIndexStore(sessions)
        self.experiments = SqlExperimentStore(sessions)
        self.runs = SqlRunStore(sessions)
        self.logged_models = SqlLoggedModelStore(sessions)
        self.registry = SqlRegistryStore(sessions)
        self.secrets = SqlSecretStore(sessions)
        self.datastores = SqlDatastoreStore(sessions)
        self.assets = SqlAssetStore(sessions)
        self.settings = SqlSettingsStore(sessions)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def is_empty(self) -> bool:
        return self.settings.get(_INITIALISED) is None

    def mark_initialised(self) -> None:
        self.settings.set(_INITIALISED, datetime.now(UTC).isoformat())

    @contextmanager
    def without_waiting(self) -> Iterator[bool]:
        no_wait = self._no_wait
        if no_wait is None or not no_wait.serves_this_thread():
            yield False
            return
        token = NO_WAIT_SESSIONS.set({self._sessions: no_wait.sessions})
        try:
            yield True
        finally:
            NO_WAIT_SESSIONS.reset(token)
            no_wait.checkpointer.wanted()

    def close(self) -> None:
        if self._no_wait is not None:
            self._no_wait.close()
        self.engine.dispose()
