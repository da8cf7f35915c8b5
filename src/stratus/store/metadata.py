"""The metadata store: every domain store over one database, and server-wide settings.

One small ABC per domain (DESIGN.md §3); records are plain frozen dataclasses that services turn into
API entities. Every implementation passes the behavioural tests in ``tests/conformance``.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator

from stratus.store.access import AuditStore, RoleAssignmentStore, TokenStore, UserStore, WorkspaceStore
from stratus.store.artifacts import ArtifactIndexStore
from stratus.store.assets import AssetStore, DatastoreStore
from stratus.store.registry import RegistryStore
from stratus.store.tracking import ExperimentStore, LoggedModelStore, RunStore
from stratus.store.vault import SecretStore


class WouldWaitError(Exception):
    """A write begun ``without_waiting`` found the database busy; nothing was written: run it again where
    waiting is allowed (a worker thread)."""


class SettingsStore(abc.ABC):
    """Server-wide key/value settings (e.g. the master-key check value)."""

    @abc.abstractmethod
    def get(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set(self, key: str, value: str) -> None: ...


class MetadataStore(abc.ABC):
    """The per-domain stores over one database."""

    workspaces: WorkspaceStore
    users: UserStore
    tokens: TokenStore
    role_assignments: RoleAssignmentStore
    audit: AuditStore
    artifact_index: ArtifactIndexStore
    experiments: ExperimentStore
    runs: RunStore
    logged_models: LoggedModelStore
    registry: RegistryStore
    secrets: SecretStore
    datastores: DatastoreStore
    assets: AssetStore
    settings: SettingsStore

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise when the database is unreachable."""

    @abc.abstractmethod
    def is_empty(self) -> bool:
        """True until a first start has finished initialising the store (``mark_initialised``)."""

    @abc.abstractmethod
    def mark_initialised(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @contextlib.contextmanager
    def without_waiting(self) -> Iterator[bool]:
        """Within it, this thread's store calls never wait: for a lock held by another writer, or for I/O
        slower than a local file. Yields whether the store can promise that; if it yields True, a call
        that would have waited raises ``WouldWaitError`` instead, having written nothing. The server uses
        it to write short tracking logs on its event loop, where a hop to a worker thread would cost more
        than the write (``stratus.server.routers._common.call_short_write``). The default promises nothing.
        """
        yield False
