"""MLflow tracking: experiments, runs (metrics, params, tags, inputs) and logged models.

One small ABC per domain (DESIGN.md §3); records are plain frozen dataclasses that services turn into
API entities. Every implementation passes the behavioural tests in ``tests/conformance``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


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
