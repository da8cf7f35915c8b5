"""Datastores, versioned assets (data, environments), their lineage and environment locks.

One small ABC per domain (DESIGN.md §3); records are plain frozen dataclasses that services turn into
API entities. Every implementation passes the behavioural tests in ``tests/conformance``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DatastoreRecord:
    id: str
    workspace_id: str
    name: str
    type: str
    description: str | None
    tags: dict[str, str]
    config: dict[str, Any]  # never credentials: those live in the key vault
    credentials_type: str  # "none", "account_key", "sas_token", "service_principal", "access_key"
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True)
class AssetVersionRecord:
    """One immutable version of a versioned asset (``kind`` "data" or "environment")."""

    id: str
    workspace_id: str
    kind: str
    name: str
    version: str
    seq: int  # creation order within the name: ``@latest`` is the highest non-archived one
    spec: dict[str, Any]  # the user's fields, as the spec YAML gives them
    details: dict[str, Any]  # what the server worked out: hashes, sizes, profiles
    description: str | None
    tags: dict[str, str]
    properties: dict[str, str]
    archived: bool
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True)
class LineageRecord:
    job_name: str
    direction: str  # "input" or "output"
    at: datetime


@dataclass(frozen=True)
class EnvironmentLockRecord:
    spec_hash: str
    python_version: str
    lock_text: str
    created_at: datetime


class DatastoreStore(abc.ABC):
    @abc.abstractmethod
    def put(
        self,
        workspace_id: str,
        name: str,
        *,
        type: str,
        description: str | None,
        tags: dict[str, str],
        config: dict[str, Any],
        credentials_type: str,
        actor: str | None,
    ) -> DatastoreRecord:
        """Create or update (Azure's ``create_or_update``); an existing datastore keeps its type."""

    @abc.abstractmethod
    def get(self, workspace_id: str, name: str) -> DatastoreRecord | None: ...

    @abc.abstractmethod
    def list(self, workspace_id: str) -> list[DatastoreRecord]: ...

    @abc.abstractmethod
    def delete(self, workspace_id: str, name: str) -> bool: ...


class AssetStore(abc.ABC):
    """Versioned assets (data, environments; components later): immutable versions of a name."""

    @abc.abstractmethod
    def create_version(
        self,
        workspace_id: str,
        kind: str,
        name: str,
        version: str | None,
        *,
        spec: dict[str, Any],
        details: dict[str, Any],
        description: str | None,
        tags: dict[str, str],
        properties: dict[str, str],
        actor: str | None,
    ) -> AssetVersionRecord:
        """``version=None`` takes the next integer after the highest integer version. An existing
        version raises ConflictError: versions are immutable."""

    @abc.abstractmethod
    def get_version(
        self, workspace_id: str, kind: str, name: str, version: str
    ) -> AssetVersionRecord | None: ...

    @abc.abstractmethod
    def latest(self, workspace_id: str, kind: str, name: str) -> AssetVersionRecord | None:
        """The newest version that is not archived."""

    @abc.abstractmethod
    def list_latest(
        self, workspace_id: str, kind: str, *, include_archived: bool = False
    ) -> list[AssetVersionRecord]:
        """One record per name: its newest version (among non-archived ones unless asked)."""

    @abc.abstractmethod
    def list_versions(
        self, workspace_id: str, kind: str, name: str, *, include_archived: bool = False
    ) -> list[AssetVersionRecord]:
        """Newest first."""

    @abc.abstractmethod
    def update_version(
        self,
        workspace_id: str,
        kind: str,
        name: str,
        version: str,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
        actor: str | None,
    ) -> AssetVersionRecord:
        """The mutable parts only: description, tags and server-side details."""

    @abc.abstractmethod
    def set_archived(
        self,
        workspace_id: str,
        kind: str,
        name: str,
        version: str | None,
        archived: bool,
        *,
        actor: str | None,
    ) -> int:
        """Archive or restore one version, or every version of the name when ``version`` is None."""

    @abc.abstractmethod
    def add_lineage(self, version_id: str, job_name: str, direction: str) -> None: ...

    @abc.abstractmethod
    def lineage(self, version_id: str) -> list[LineageRecord]: ...

    @abc.abstractmethod
    def record_lock(self, spec_hash: str, python_version: str, lock_text: str) -> EnvironmentLockRecord:
        """Keep the first lock recorded for a spec hash (every server then rebuilds the same packages)."""

    @abc.abstractmethod
    def get_lock(self, spec_hash: str) -> EnvironmentLockRecord | None: ...
