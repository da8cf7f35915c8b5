"""The MLflow model registry: registered models, versions, aliases.

One small ABC per domain (DESIGN.md §3); records are plain frozen dataclasses that services turn into
API entities. Every implementation passes the behavioural tests in ``tests/conformance``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelVersionRecord:
    name: str
    version: int
    source: str
    storage_location: str
    run_id: str | None
    model_id: str | None
    status: str
    description: str | None
    user_id: str | None
    creation_timestamp: int
    last_updated_timestamp: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegisteredModelRecord:
    name: str
    description: str | None
    creation_timestamp: int
    last_updated_timestamp: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_version: int | None = None


class RegistryStore(abc.ABC):
    """MLflow's model registry: registered models per workspace, integer versions, aliases."""

    @abc.abstractmethod
    def storage_locations(self, workspace_id: str) -> list[str]:
        """Where every model version of the workspace keeps its files (what gc must not remove)."""

    @abc.abstractmethod
    def create_model(
        self, workspace_id: str, name: str, *, description: str | None, tags: dict[str, str]
    ) -> RegisteredModelRecord:
        """Raise ``ConflictError`` (RESOURCE_ALREADY_EXISTS) when the name is taken."""

    @abc.abstractmethod
    def get_model(self, workspace_id: str, name: str) -> RegisteredModelRecord | None: ...

    @abc.abstractmethod
    def create_version(
        self,
        workspace_id: str,
        name: str,
        *,
        source: str,
        storage_location: str,
        run_id: str | None,
        model_id: str | None,
        description: str | None,
        user_id: str | None,
        tags: dict[str, str],
    ) -> ModelVersionRecord:
        """The next version number of the model (1, 2, ...), allocated safely under contention."""

    @abc.abstractmethod
    def get_version(self, workspace_id: str, name: str, version: int) -> ModelVersionRecord | None: ...

    @abc.abstractmethod
    def set_alias(self, workspace_id: str, name: str, alias: str, version: int) -> None: ...

    @abc.abstractmethod
    def delete_alias(self, workspace_id: str, name: str, alias: str) -> bool: ...

    @abc.abstractmethod
    def search_models(
        self,
        workspace_id: str,
        *,
        clauses: Sequence[Any],
        order_by: Sequence[tuple[str, bool]],
        limit: int,
        offset: int,
    ) -> list[RegisteredModelRecord]: ...

    @abc.abstractmethod
    def update_model(
        self, workspace_id: str, name: str, *, description: str | None = None, new_name: str | None = None
    ) -> RegisteredModelRecord: ...

    @abc.abstractmethod
    def delete_model(self, workspace_id: str, name: str) -> None:
        """Remove the model with its versions, tags and aliases."""

    @abc.abstractmethod
    def set_tag(
        self, workspace_id: str, name: str, key: str, value: str, *, version: int | None = None
    ) -> None:
        """Tag the model, or one of its versions when ``version`` is given."""

    @abc.abstractmethod
    def delete_tag(self, workspace_id: str, name: str, key: str, *, version: int | None = None) -> bool: ...

    @abc.abstractmethod
    def search_versions(
        self,
        workspace_id: str,
        *,
        clauses: Sequence[Any],
        order_by: Sequence[tuple[str, bool]],
        limit: int,
        offset: int,
    ) -> list[ModelVersionRecord]: ...

    @abc.abstractmethod
    def update_version(
        self, workspace_id: str, name: str, version: int, *, description: str | None
    ) -> ModelVersionRecord: ...

    @abc.abstractmethod
    def delete_version(self, workspace_id: str, name: str, version: int) -> None: ...
