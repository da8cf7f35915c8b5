"""MLflow 3 logged models of a workspace: the use cases behind /api/2.0/mlflow/logged-models/*."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from stratus.errors import NotFoundError
from stratus.server.services.experiments import (
    MAX_SEARCH_RESULTS,
    ExperimentService,
    decode_offset,
    encode_offset,
    invalid,
    parse_experiment_id,
)
from stratus.server.services.runs import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    RunService,
    check_key,
    random_name,
)
from stratus.store.access import WorkspaceRecord
from stratus.store.metadata import MetadataStore
from stratus.store.tracking import LoggedModelRecord
from stratus.tracking.search import parse_filter

STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
ORDERABLE = (
    "name",
    "model_id",
    "model_type",
    "status",
    "source_run_id",
    "creation_timestamp",
    "creation_time",
    "last_updated_timestamp",
    "last_updated_time",
)
_BAD_NAME = re.compile(r"""[/:.%"']""")
DEFAULT_SEARCH_RESULTS = 100


def _pairs(items: Any, limit: int, what: str) -> dict[str, str]:
    if items is None:
        return {}
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid(f"{what}s must be a list of {{key, value}} objects", f"{what}s")
    pairs = {}
    for item in items:
        key = check_key(item.get("key"), what)
        value = "" if item.get("value") is None else str(item.get("value"))
        if len(value) > limit:
            raise invalid(f"{what} value is longer than {limit} characters", f"{what}s")
        pairs[key] = value
    return pairs


class LoggedModelService:
    def __init__(self, store: MetadataStore, experiments: ExperimentService, runs: RunService) -> None:
        self.store = store
        self.experiments = experiments
        self.runs = runs

    def create(
        self,
        workspace: WorkspaceRecord,
        experiment_id: Any,
        *,
        name: str | None,
        model_type: str | None,
        source_run_id: str | None,
        params: Any,
        tags: Any,
    ) -> LoggedModelRecord:
        experiment = self.experiments.get(workspace, experiment_id)
        if experiment.lifecycle_stage != "active":
            raise invalid(
                f"experiment {experiment.experiment_id} is deleted: restore it first", "experiment_id"
            )
        if name is not None and (not name or _BAD_NAME.search(name)):
            raise invalid(
                f"invalid model name {name!r}: it must not be empty nor contain / : . % \" '", "name"
            )
        if source_run_id:
            self.runs.get(workspace, source_run_id)  # a run of this workspace, or 404
        model_id = f"m-{uuid.uuid4().hex}"
        return self.store.logged_models.create(
            workspace.id,
            experiment.experiment_id,
            model_id=model_id,
            name=name or random_name(),
            model_type=model_type,
            source_run_id=source_run_id or None,
            artifact_uri=f"{experiment.artifact_location.rstrip('/')}/models/{model_id}/artifacts",
            params=_pairs(params, MAX_PARAM_VALUE_LENGTH, "param"),
            tags=_pairs(tags, MAX_TAG_VALUE_LENGTH, "tag"),
        )

    def get(
        self, workspace: WorkspaceRecord, model_id: str, *, allow_deleted: bool = False
    ) -> LoggedModelRecord:
        record = self.store.logged_models.get(workspace.id, model_id)
        if record is None or (record.lifecycle_stage != "active" and not allow_deleted):
            raise NotFoundError(
                f"logged model with id {model_id!r} not found",
                field="model_id",
                code="RESOURCE_DOES_NOT_EXIST",
            )
        return record

    def finalize(self, workspace: WorkspaceRecord, model_id: str, status: Any) -> LoggedModelRecord:
        if status not in STATUSES:
            raise invalid(f"status must be one of {', '.join(STATUSES)}", "status")
        self.get(workspace, model_id)
        return self.store.logged_models.update(workspace.id, model_id, status=status)

    def delete(self, workspace: WorkspaceRecord, model_id: str) -> None:
        """Deleting a deleted model succeeds again, so the client's retried DELETE is harmless."""
        if self.get(workspace, model_id, allow_deleted=True).lifecycle_stage != "deleted":
            self.store.logged_models.update(workspace.id, model_id, lifecycle_stage="deleted")

    def set_tags(self, workspace: WorkspaceRecord, model_id: str, tags: Any) -> None:
        self.get(workspace, model_id)
        self.store.logged_models.set_tags(workspace.id, model_id, _pairs(tags, MAX_TAG_VALUE_LENGTH, "tag"))

    def delete_tag(self, workspace: WorkspaceRecord, model_id: str, key: str) -> None:
        self.get(workspace, model_id)
        if not self.store.logged_models.delete_tag(workspace.id, model_id, check_key(key, "tag")):
            raise NotFoundError(
                f"model {model_id} has no tag {key!r}", field="key", code="RESOURCE_DOES_NOT_EXIST"
            )

    def log_params(self, workspace: WorkspaceRecord, model_id: str, params: Any) -> None:
        self.get(workspace, model_id)
        self.store.logged_models.log_params(
            workspace.id, model_id, _pairs(params, MAX_PARAM_VALUE_LENGTH, "param")
        )

    def search(
        self,
        workspace: WorkspaceRecord,
        *,
        experiment_ids: Sequence[Any],
        filter_string: str | None,
        max_results: Any,
        order_by: Any,
        page_token: str | None,
    ) -> tuple[list[LoggedModelRecord], str | None]:
        ids = [parse_experiment_id(e, "experiment_ids") for e in experiment_ids]
        limit = DEFAULT_SEARCH_RESULTS if max_results in (None, "", 0) else int(max_results)
        if not 1 <= limit <= MAX_SEARCH_RESULTS:
            raise invalid(f"max_results must be between 1 and {MAX_SEARCH_RESULTS}", "max_results")
        ordering: list[tuple[str, bool]] = []
        for item in order_by or []:
            field = item.get("field_name") if isinstance(item, dict) else None
            if field not in ORDERABLE:
                raise invalid(f"order_by field_name must be one of {', '.join(ORDERABLE)}", "order_by")
            column = {
                "creation_time": "creation_timestamp",
                "last_updated_time": "last_updated_timestamp",
            }.get(field, field)
            ordering.append((str(column), item.get("ascending", True) is not False))
        offset = decode_offset(page_token)
        records = self.store.logged_models.search(
            workspace.id,
            ids,
            clauses=parse_filter(filter_string),
            order_by=ordering,
            limit=limit + 1,
            offset=offset,
        )
        return records[:limit], encode_offset(offset + limit) if len(records) > limit else None

    def link_run_outputs(self, workspace: WorkspaceRecord, run_id: Any, models: Any) -> None:
        record = self.runs.get(workspace, run_id)
        if not isinstance(models, list) or not all(isinstance(m, dict) and m.get("model_id") for m in models):
            raise invalid("models must be a list of {model_id, step} objects", "models")
        outputs = [(str(m["model_id"]), int(m.get("step") or 0)) for m in models]
        self.store.logged_models.link_run_outputs(workspace.id, record.run_id, outputs)
        self.runs.read_ahead.changed(workspace.id)  # a run's outputs are part of the run
