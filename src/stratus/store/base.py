"""Metadata store interfaces, one small ABC per domain (DESIGN.md §3).

Records are plain frozen dataclasses; services turn them into API entities. Every
implementation passes the same behavioural tests in ``tests/conformance``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None = None


@dataclass(frozen=True)
class WorkspaceRecord:
    id: str
    name: str
    display_name: str | None
    description: str | None
    tags: dict[str, str]
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    display_name: str | None
    is_server_admin: bool
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True)
class TokenRecord:
    id: str
    user_id: str
    user_name: str
    name: str | None
    workspace_id: str | None
    workspace_name: str | None
    token_hash: str
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class RoleAssignmentRecord:
    id: str
    workspace_id: str
    workspace_name: str
    user_id: str
    user_name: str
    role: str
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    action: str
    outcome: str
    actor: str | None
    workspace: str | None
    target: str | None
    client_ip: str | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ArtifactRecord:
    workspace_id: str
    path: str
    size: int
    sha256: str
    updated_at: datetime


@dataclass(frozen=True)
class ExperimentRecord:
    workspace_id: str
    experiment_id: int
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int  # epoch milliseconds, as MLflow reports them
    last_update_time: int
    tags: dict[str, str]


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    workspace_id: str
    experiment_id: int
    name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    metrics: dict[str, MetricPoint] = field(default_factory=dict)  # the latest point of each key
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[str] = field(default_factory=list)  # logged-model ids the run consumed
    model_outputs: list[tuple[str, int]] = field(default_factory=list)  # (logged-model id, step)


@dataclass(frozen=True)
class DatasetRecord:
    """An MLflow dataset as the client describes it; ``digest`` identifies its content."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class DatasetInput:
    dataset: DatasetRecord
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedModelRecord:
    model_id: str
    workspace_id: str
    experiment_id: int
    name: str
    model_type: str | None
    source_run_id: str | None
    status: str
    status_message: str | None
    artifact_uri: str
    creation_timestamp_ms: int
    last_updated_timestamp_ms: int
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


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


@dataclass(frozen=True)
class SecretRecord:
    workspace_id: str
    name: str
    # A vault-owned secret (e.g. ``datastore:<name>`` credentials) is hidden from users' lists and
    # never resolved by ``${{secrets.NAME}}``; ``None`` marks a user's secret.
    owner: str | None
    ciphertext: str
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


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


class WorkspaceStore(abc.ABC):
    @abc.abstractmethod
    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> WorkspaceRecord:
        """Raise ``ConflictError`` when the name is taken."""

    @abc.abstractmethod
    def get(self, name: str) -> WorkspaceRecord | None: ...

    @abc.abstractmethod
    def list(
        self, *, names: Sequence[str] | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[WorkspaceRecord]:
        """Workspaces sorted by name; ``names`` restricts the listing (``None`` means all)."""

    @abc.abstractmethod
    def update(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        updated_by: str | None = None,
    ) -> WorkspaceRecord: ...

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Remove the workspace and every row that belongs to it."""


class UserStore(abc.ABC):
    @abc.abstractmethod
    def create(
        self,
        name: str,
        *,
        display_name: str | None = None,
        is_server_admin: bool = False,
        created_by: str | None = None,
    ) -> UserRecord: ...

    @abc.abstractmethod
    def get(self, name: str) -> UserRecord | None: ...

    @abc.abstractmethod
    def get_by_id(self, user_id: str) -> UserRecord | None: ...

    @abc.abstractmethod
    def list(self, *, limit: int = 100, page_token: str | None = None) -> Page[UserRecord]: ...

    @abc.abstractmethod
    def count(self) -> int: ...


class TokenStore(abc.ABC):
    @abc.abstractmethod
    def create(
        self,
        *,
        user_id: str,
        token_hash: str,
        name: str | None = None,
        workspace_id: str | None = None,
        expires_at: datetime | None = None,
        created_by: str | None = None,
    ) -> TokenRecord: ...

    @abc.abstractmethod
    def get(self, token_id: str) -> TokenRecord | None: ...

    @abc.abstractmethod
    def find_by_hash(self, token_hash: str) -> TokenRecord | None: ...

    @abc.abstractmethod
    def list(
        self,
        *,
        user_id: str | None = None,
        workspace_ids: Sequence[str] | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[TokenRecord]:
        """By id; ``workspace_ids`` keeps only tokens scoped to one of those workspaces."""

    @abc.abstractmethod
    def revoke(self, token_id: str, at: datetime) -> TokenRecord:
        """Idempotent: revoking a revoked token keeps the first revocation time."""

    @abc.abstractmethod
    def touch(self, token_id: str, at: datetime) -> None:
        """Record a use of the token."""


class RoleAssignmentStore(abc.ABC):
    @abc.abstractmethod
    def assign(
        self, *, workspace_id: str, user_id: str, role: str, created_by: str | None = None
    ) -> RoleAssignmentRecord:
        """Idempotent: assigning a held role returns the existing assignment."""

    @abc.abstractmethod
    def list(
        self,
        *,
        workspace_id: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[RoleAssignmentRecord]: ...

    @abc.abstractmethod
    def delete(self, *, workspace_id: str, user_id: str, role: str) -> bool: ...

    @abc.abstractmethod
    def roles_of(self, *, user_id: str, workspace_id: str) -> set[str]: ...


class AuditStore(abc.ABC):
    """Append-only: no method changes or removes an event (the SQL tables refuse it too)."""

    @abc.abstractmethod
    def append(
        self,
        action: str,
        *,
        outcome: str = "success",
        actor: str | None = None,
        workspace: str | None = None,
        target: str | None = None,
        client_ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditRecord: ...

    @abc.abstractmethod
    def list(
        self, *, action: str | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[AuditRecord]:
        """Newest first."""


class ArtifactIndexStore(abc.ABC):
    """The recorded size and sha256 of every artifact object, per workspace."""

    @abc.abstractmethod
    def record(self, workspace_id: str, path: str, *, size: int, sha256: str) -> ArtifactRecord:
        """Insert or replace the record of ``path``."""

    @abc.abstractmethod
    def get(self, workspace_id: str, path: str) -> ArtifactRecord | None: ...

    @abc.abstractmethod
    def list(
        self, workspace_id: str, *, prefix: str = "", limit: int = 1000, page_token: str | None = None
    ) -> Page[ArtifactRecord]:
        """Records whose path is ``prefix`` or lies below it (all when ``prefix`` is empty), by path."""

    @abc.abstractmethod
    def delete(self, workspace_id: str, path: str) -> bool: ...

    @abc.abstractmethod
    def delete_tree(self, workspace_id: str, prefix: str) -> int:
        """Remove ``prefix`` and everything below it (everything when empty); returns the count."""


class ExperimentStore(abc.ABC):
    """MLflow experiments; ids are allocated per workspace and ``0`` is each workspace's ``Default``."""

    @abc.abstractmethod
    def create(
        self,
        workspace_id: str,
        name: str,
        *,
        artifact_location: str | None,
        default_location: str,
        tags: dict[str, str] | None = None,
        experiment_id: int | None = None,
    ) -> ExperimentRecord:
        """Allocate the next id (or use ``experiment_id``); ``default_location`` may hold
        ``{experiment_id}``. Raise ``ConflictError`` when the name is taken, deleted experiments included."""

    @abc.abstractmethod
    def get(self, workspace_id: str, experiment_id: int) -> ExperimentRecord | None: ...

    @abc.abstractmethod
    def get_by_name(self, workspace_id: str, name: str) -> ExperimentRecord | None: ...

    @abc.abstractmethod
    def search(
        self,
        workspace_id: str,
        *,
        stages: Sequence[str],
        clauses: Sequence[Any],
        order_by: Sequence[tuple[str, bool]],
        limit: int,
        offset: int,
    ) -> list[ExperimentRecord]:
        """``clauses`` from ``tracking.search.parse_filter``; ``order_by`` as (column, ascending)."""

    @abc.abstractmethod
    def update(
        self,
        workspace_id: str,
        experiment_id: int,
        *,
        name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> ExperimentRecord: ...

    @abc.abstractmethod
    def set_tag(self, workspace_id: str, experiment_id: int, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def delete_tag(self, workspace_id: str, experiment_id: int, key: str) -> bool: ...

    @abc.abstractmethod
    def purge(self, workspace_id: str, experiment_id: int) -> None:
        """Remove a soft-deleted experiment with its runs, logged models and datasets for good."""


class RunStore(abc.ABC):
    """MLflow runs with their metrics, params and tags. Run ids are global; every call names the
    workspace too, so a run id from another workspace is simply not found."""

    @abc.abstractmethod
    def create(
        self,
        workspace_id: str,
        experiment_id: int,
        *,
        run_id: str,
        name: str,
        user_id: str,
        start_time: int,
        artifact_uri: str,
        tags: dict[str, str],
    ) -> RunRecord: ...

    @abc.abstractmethod
    def get(self, workspace_id: str, run_id: str) -> RunRecord | None: ...

    @abc.abstractmethod
    def update(
        self,
        workspace_id: str,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> RunRecord: ...

    @abc.abstractmethod
    def log(
        self,
        workspace_id: str,
        run_id: str,
        *,
        metrics: Sequence[MetricPoint] = (),
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """Append metrics (an identical point twice is stored once, so retries are harmless), add params
        (a key logged again must keep its value, else ``BadRequestError``) and upsert tags, atomically."""

    @abc.abstractmethod
    def log_inputs(
        self,
        workspace_id: str,
        run_id: str,
        *,
        datasets: Sequence[DatasetInput] = (),
        model_ids: Sequence[str] = (),
    ) -> None:
        """Record datasets (one row per experiment, name and digest) and logged models the run consumed;
        logging the same input again changes nothing. An unknown model id is ``NotFoundError``."""

    @abc.abstractmethod
    def delete_tag(self, workspace_id: str, run_id: str, key: str) -> bool: ...

    @abc.abstractmethod
    def metric_history(
        self, workspace_id: str, run_id: str, key: str, *, limit: int, offset: int
    ) -> list[MetricPoint]: ...

    @abc.abstractmethod
    def deleted(self, workspace_id: str, *, deleted_before: int | None) -> list[RunRecord]:
        """Soft-deleted runs (without their data), deleted before this epoch-ms time if one is given;
        runs deleted before Stratus recorded deletion times count as deleted at their end or start."""

    @abc.abstractmethod
    def purge(self, workspace_id: str, run_ids: Sequence[str]) -> int:
        """Remove soft-deleted runs and all their data for good; returns how many were removed."""

    @abc.abstractmethod
    def metric_steps(
        self, workspace_id: str, run_id: str, key: str, *, start_step: int | None, end_step: int | None
    ) -> list[int]:
        """The distinct steps at which ``key`` was logged, ascending, within the inclusive bounds given."""

    @abc.abstractmethod
    def metric_points_at(
        self, workspace_id: str, run_id: str, key: str, steps: Sequence[int]
    ) -> list[MetricPoint]:
        """Every point of ``key`` at these steps, ordered by step then timestamp."""

    @abc.abstractmethod
    def search(
        self,
        workspace_id: str,
        experiment_ids: Sequence[int],
        *,
        stages: Sequence[str],
        clauses: Sequence[Any],
        order_by: Sequence[tuple[str, str, bool]],
        limit: int,
        offset: int,
    ) -> list[RunRecord]:
        """``order_by`` as (kind, key, ascending) with kind attribute, metric, param or tag."""


class LoggedModelStore(abc.ABC):
    """MLflow 3 logged models: a model's artifacts, params and tags, from a run or on their own."""

    @abc.abstractmethod
    def create(
        self,
        workspace_id: str,
        experiment_id: int,
        *,
        model_id: str,
        name: str,
        model_type: str | None,
        source_run_id: str | None,
        artifact_uri: str,
        params: dict[str, str],
        tags: dict[str, str],
    ) -> LoggedModelRecord: ...

    @abc.abstractmethod
    def get(self, workspace_id: str, model_id: str) -> LoggedModelRecord | None: ...

    @abc.abstractmethod
    def update(
        self,
        workspace_id: str,
        model_id: str,
        *,
        status: str | None = None,
        status_message: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> LoggedModelRecord: ...

    @abc.abstractmethod
    def set_tags(self, workspace_id: str, model_id: str, tags: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def delete_tag(self, workspace_id: str, model_id: str, key: str) -> bool: ...

    @abc.abstractmethod
    def log_params(self, workspace_id: str, model_id: str, params: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def search(
        self,
        workspace_id: str,
        experiment_ids: Sequence[int],
        *,
        clauses: Sequence[Any],
        order_by: Sequence[tuple[str, bool]],
        limit: int,
        offset: int,
    ) -> list[LoggedModelRecord]: ...

    @abc.abstractmethod
    def link_run_outputs(self, workspace_id: str, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        """Record that ``run_id`` produced these (model_id, step) outputs."""


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


class SecretStore(abc.ABC):
    """Encrypted secret values and each workspace's wrapped data key. The store never sees plaintext."""

    @abc.abstractmethod
    def data_key(self, workspace_id: str) -> str | None: ...

    @abc.abstractmethod
    def put_data_key(self, workspace_id: str, wrapped: str) -> str:
        """Store ``wrapped`` unless the workspace has a key already; return the one kept (first wins)."""

    @abc.abstractmethod
    def put(
        self, workspace_id: str, name: str, ciphertext: str, *, owner: str | None, actor: str | None
    ) -> SecretRecord:
        """Create or replace; ``created_*`` stays from the first write."""

    @abc.abstractmethod
    def get(self, workspace_id: str, name: str) -> SecretRecord | None: ...

    @abc.abstractmethod
    def list(self, workspace_id: str, *, owner: str | None = None) -> list[SecretRecord]:
        """The secrets with this owner (``None``: the users' own)."""

    @abc.abstractmethod
    def delete(self, workspace_id: str, name: str) -> bool: ...


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
