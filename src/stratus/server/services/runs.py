"""MLflow runs of a workspace: the use cases behind /api/2.0/mlflow/runs/* and metrics/*."""

from __future__ import annotations

import math
import random
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
from stratus.store.base import MetadataStore, MetricPoint, RunRecord, WorkspaceRecord
from stratus.tracking import now_ms
from stratus.tracking.search import parse_filter, parse_order_by

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
RUN_NAME_TAG = "mlflow.runName"
# MLflow's limits (mlflow/utils/validation.py).
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_ENTITIES = 1000
MAX_HISTORY_RESULTS = 25_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_KEY = re.compile(r"^[/\w.\- :]*$")
_VIEW = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}
_ADJECTIVES = (
    "able",
    "bold",
    "brave",
    "calm",
    "clever",
    "eager",
    "gentle",
    "keen",
    "lucid",
    "merry",
    "quick",
    "sharp",
    "smart",
    "steady",
    "sunny",
    "swift",
    "wise",
    "zesty",
)
_NOUNS = (
    "badger",
    "crane",
    "dove",
    "falcon",
    "fox",
    "heron",
    "lynx",
    "otter",
    "owl",
    "panda",
    "robin",
    "seal",
    "sparrow",
    "stork",
    "swan",
    "tiger",
    "whale",
    "wren",
)


def random_name() -> str:
    rng = random.SystemRandom()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{rng.randint(0, 999)}"


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise invalid(f"missing value for required parameter 'key' of a {what}", "key")
    if len(key) > MAX_KEY_LENGTH:
        raise invalid(f"{what} key {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters", "key")
    if not _KEY.match(key) or key in (".", "..") or "/../" in f"/{key}/" or key.startswith("/"):
        raise invalid(
            f"invalid {what} key {key!r}: use letters, digits and _ - . : / or spaces (no path tricks)",
            "key",
        )
    return key


def _check_value(value: Any, limit: int, what: str) -> str:
    if value is None:
        raise invalid(f"missing value for required parameter 'value' of a {what}", "value")
    text = str(value)
    if len(text) > limit:
        raise invalid(f"{what} value is longer than {limit} characters", "value")
    return text


def _int(value: Any, field: str, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise invalid(f"missing value for required parameter '{field}'", field)
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise invalid(f"{field} must be an integer, not {value!r}", field) from None
    if not INT64_MIN <= number <= INT64_MAX:  # what the database columns (and MLflow's protos) hold
        raise invalid(f"{field} is out of the 64-bit integer range", field)
    return number


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise invalid("a metric value must be a number", "value")
    try:
        return float(value)  # also "NaN", "Infinity", "-Infinity" as proto JSON sends them
    except (TypeError, ValueError):
        raise invalid(f"a metric value must be a number, not {value!r}", "value") from None


def metric_point(raw: Any) -> MetricPoint:
    if not isinstance(raw, dict):
        raise invalid("each metric is an object with key, value, timestamp and step", "metrics")
    if raw.get("value") is None:
        raise invalid("missing value for required parameter 'value' of a metric", "value")
    return MetricPoint(
        key=check_key(raw.get("key"), "metric"),
        value=_float(raw.get("value")),
        timestamp=_int(raw.get("timestamp"), "timestamp"),
        step=_int(raw.get("step"), "step", default=0),
    )


def json_number(value: float) -> float | str:
    """Proto-JSON spelling of doubles: non-finite values travel as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class RunService:
    def __init__(self, store: MetadataStore, experiments: ExperimentService) -> None:
        self.store = store
        self.experiments = experiments

    def create(
        self,
        workspace: WorkspaceRecord,
        experiment_id: Any,
        *,
        user_id: str | None,
        run_name: str | None,
        start_time: Any,
        tags: dict[str, str],
    ) -> RunRecord:
        experiment = self.experiments.get(workspace, experiment_id)
        if experiment.lifecycle_stage != "active":
            raise invalid(
                f"experiment {experiment.experiment_id} is deleted: restore it first", "experiment_id"
            )
        for key, value in tags.items():
            check_key(key, "tag")
            _check_value(value, MAX_TAG_VALUE_LENGTH, "tag")
        name = run_name or tags.get(RUN_NAME_TAG) or random_name()
        if len(name) > MAX_RUN_NAME_LENGTH:
            raise invalid(f"run_name is longer than {MAX_RUN_NAME_LENGTH} characters", "run_name")
        run_id = uuid.uuid4().hex
        return self.store.runs.create(
            workspace.id,
            experiment.experiment_id,
            run_id=run_id,
            name=name,
            user_id=user_id or "",
            start_time=_int(start_time, "start_time", default=now_ms()),
            artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts",
            tags={**tags, RUN_NAME_TAG: name},
        )

    def get(self, workspace: WorkspaceRecord, run_id: Any) -> RunRecord:
        if not isinstance(run_id, str) or not run_id:
            raise invalid("missing value for required parameter 'run_id'", "run_id")
        record = self.store.runs.get(workspace.id, run_id)
        if record is None:
            raise NotFoundError(
                f"run {run_id!r} not found in workspace {workspace.name!r}",
                field="run_id",
                code="RESOURCE_DOES_NOT_EXIST",
            )
        return record

    def update(
        self, workspace: WorkspaceRecord, run_id: Any, *, status: Any, end_time: Any, run_name: Any
    ) -> RunRecord:
        record = self.get(workspace, run_id)
        if status is not None and status not in RUN_STATUSES:
            raise invalid(f"status must be one of {', '.join(RUN_STATUSES)}", "status")
        if run_name is not None and len(str(run_name)) > MAX_RUN_NAME_LENGTH:
            raise invalid(f"run_name is longer than {MAX_RUN_NAME_LENGTH} characters", "run_name")
        return self.store.runs.update(
            workspace.id,
            record.run_id,
            status=status,
            end_time=None if end_time is None else _int(end_time, "end_time"),
            name=None if run_name in (None, "") else str(run_name),
        )

    def set_lifecycle(self, workspace: WorkspaceRecord, run_id: Any, stage: str) -> None:
        record = self.get(workspace, run_id)
        self.store.runs.update(workspace.id, record.run_id, lifecycle_stage=stage)

    def log_batch(
        self,
        workspace: WorkspaceRecord,
        run_id: Any,
        *,
        metrics: Sequence[Any] = (),
        params: Sequence[Any] = (),
        tags: Sequence[Any] = (),
    ) -> None:
        if len(metrics) > MAX_BATCH_METRICS or len(params) > MAX_BATCH_PARAMS or len(tags) > MAX_BATCH_TAGS:
            raise invalid(
                f"a batch holds at most {MAX_BATCH_METRICS} metrics, {MAX_BATCH_PARAMS} params and "
                f"{MAX_BATCH_TAGS} tags",
                "metrics",
            )
        if len(metrics) + len(params) + len(tags) > MAX_BATCH_ENTITIES:
            raise invalid(f"a batch holds at most {MAX_BATCH_ENTITIES} entities in all", "metrics")
        points = [metric_point(m) for m in metrics]
        param_values = self._pairs(params, MAX_PARAM_VALUE_LENGTH, "param")
        tag_values = self._pairs(tags, MAX_TAG_VALUE_LENGTH, "tag")
        record = self.get(workspace, run_id)
        self.store.runs.log(workspace.id, record.run_id, metrics=points, params=param_values, tags=tag_values)

    @staticmethod
    def _pairs(items: Sequence[Any], limit: int, what: str) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for item in items:
            if not isinstance(item, dict):
                raise invalid(f"each {what} is an object with key and value", f"{what}s")
            key = check_key(item.get("key"), what)
            value = _check_value(item.get("value"), limit, what)
            if what == "param" and key in pairs and pairs[key] != value:
                raise invalid(f"param {key!r} appears twice in the batch with different values", "params")
            pairs[key] = value
        return pairs

    def delete_tag(self, workspace: WorkspaceRecord, run_id: Any, key: Any) -> None:
        record = self.get(workspace, run_id)
        if not self.store.runs.delete_tag(workspace.id, record.run_id, check_key(key, "tag")):
            raise NotFoundError(
                f"run {record.run_id} has no tag {key!r}", field="key", code="RESOURCE_DOES_NOT_EXIST"
            )

    def metric_history(
        self, workspace: WorkspaceRecord, run_id: Any, key: Any, *, max_results: Any, page_token: str | None
    ) -> tuple[list[MetricPoint], str | None]:
        record = self.get(workspace, run_id)
        limit = _int(max_results, "max_results", default=MAX_HISTORY_RESULTS)
        if not 1 <= limit <= MAX_HISTORY_RESULTS:
            raise invalid(f"max_results must be between 1 and {MAX_HISTORY_RESULTS}", "max_results")
        offset = decode_offset(page_token)
        points = self.store.runs.metric_history(
            workspace.id, record.run_id, check_key(key, "metric"), limit=limit + 1, offset=offset
        )
        return points[:limit], encode_offset(offset + limit) if len(points) > limit else None

    def search(
        self,
        workspace: WorkspaceRecord,
        *,
        experiment_ids: Sequence[Any],
        filter_string: str | None,
        run_view_type: str | None,
        max_results: Any,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> tuple[list[RunRecord], str | None]:
        ids = [parse_experiment_id(e, "experiment_ids") for e in experiment_ids]
        stages = _VIEW.get((run_view_type or "ACTIVE_ONLY").upper())
        if stages is None:
            raise invalid(f"run_view_type must be one of {', '.join(_VIEW)}", "run_view_type")
        limit = _int(max_results, "max_results", default=1000)
        if not 1 <= limit <= MAX_SEARCH_RESULTS:
            raise invalid(f"max_results must be between 1 and {MAX_SEARCH_RESULTS}", "max_results")
        offset = decode_offset(page_token)
        records = self.store.runs.search(
            workspace.id,
            ids,
            stages=stages,
            clauses=parse_filter(filter_string),
            order_by=[parse_order_by(clause) for clause in order_by or []],
            limit=limit + 1,
            offset=offset,
        )
        return records[:limit], encode_offset(offset + limit) if len(records) > limit else None
