"""MLflow runs of a workspace: the use cases behind /api/2.0/mlflow/runs/* and metrics/*."""

from __future__ import annotations

import functools
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
from stratus.store.access import WorkspaceRecord
from stratus.store.metadata import MetadataStore
from stratus.store.tracking import DatasetInput, DatasetRecord, MetricPoint, RunRecord
from stratus.tracking import now_ms
from stratus.tracking.readahead import ReadAhead
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
MAX_BATCH_DATASETS = 1000
MAX_BULK_INTERVAL_RESULTS = 2500
MAX_BULK_RUNS = 100
# Pages up to this size are read ahead (larger ones would hold too much memory for a guess).
MAX_READ_AHEAD_PAGE = 10_000
# Dataset field limits of MLflow's store (name, digest, source_type, source, schema, profile).
DATASET_FIELD_LIMITS = {
    "name": 500,
    "digest": 36,
    "source_type": 36,
    "source": 65_535,
    "schema": 1_048_575,
    "profile": 16_777_215,
}
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500
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


def _run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise invalid("missing value for required parameter 'run_id'", "run_id")
    return run_id


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise invalid(f"missing value for required parameter 'key' of a {what}", "key")
    return _checked_key(key, what)


@functools.lru_cache(maxsize=4096)
def _checked_key(key: str, what: str) -> str:
    """Batches repeat a few keys many times; a valid key is checked once (invalid ones raise, uncached)."""
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


def dataset_input(raw: Any) -> DatasetInput:
    """One ``DatasetInput`` of a log-inputs request, checked against MLflow's required fields and limits."""
    if not isinstance(raw, dict) or not isinstance(raw.get("dataset"), dict):
        raise invalid("each entry of 'datasets' is an object with a 'dataset' object and 'tags'", "datasets")
    dataset = raw["dataset"]
    fields: dict[str, str | None] = {}
    for name, limit in DATASET_FIELD_LIMITS.items():
        value = dataset.get(name)
        required = name not in ("schema", "profile")
        if value is None or value == "":
            if required:
                raise invalid(f"missing value for required parameter 'dataset.{name}'", f"dataset.{name}")
            fields[name] = None
            continue
        if not isinstance(value, str):
            raise invalid(f"dataset.{name} must be a string", f"dataset.{name}")
        if len(value) > limit:
            raise invalid(f"dataset.{name} is longer than {limit} characters", f"dataset.{name}")
        fields[name] = value
    tags: dict[str, str] = {}
    for tag in raw.get("tags") or []:
        if not isinstance(tag, dict) or not isinstance(tag.get("key"), str) or not tag["key"]:
            raise invalid("each input tag is an object with a string key and value", "datasets.tags")
        value = tag.get("value")
        if not isinstance(value, str):
            raise invalid(f"input tag {tag['key']!r} needs a string value", "datasets.tags")
        if len(tag["key"]) > MAX_INPUT_TAG_KEY_LENGTH or len(value) > MAX_INPUT_TAG_VALUE_LENGTH:
            raise invalid(
                f"input tag keys hold at most {MAX_INPUT_TAG_KEY_LENGTH} characters and values "
                f"{MAX_INPUT_TAG_VALUE_LENGTH}",
                "datasets.tags",
            )
        tags[tag["key"]] = value
    return DatasetInput(
        dataset=DatasetRecord(
            name=str(fields["name"]),
            digest=str(fields["digest"]),
            source_type=str(fields["source_type"]),
            source=str(fields["source"]),
            schema=fields["schema"],
            profile=fields["profile"],
        ),
        tags=tags,
    )


def sample_evenly(steps: Sequence[int], limit: int) -> list[int]:
    """At most ``limit`` of ``steps`` (sorted), evenly spaced, always keeping the first and the last."""
    if len(steps) <= limit:
        return list(steps)
    if limit == 1:
        return [steps[0]]
    last = len(steps) - 1
    return [steps[i] for i in sorted({round(n * last / (limit - 1)) for n in range(limit)})]


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
        self.read_ahead: ReadAhead[list[RunRecord]] = ReadAhead()

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
        record = self.store.runs.create(
            workspace.id,
            experiment.experiment_id,
            run_id=run_id,
            name=name,
            user_id=user_id or "",
            start_time=_int(start_time, "start_time", default=now_ms()),
            artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts",
            tags={**tags, RUN_NAME_TAG: name},
        )
        self.read_ahead.changed(workspace.id)
        return record

    def get(self, workspace: WorkspaceRecord, run_id: Any) -> RunRecord:
        record = self.store.runs.get(workspace.id, _run_id(run_id))
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
        updated = self.store.runs.update(
            workspace.id,
            record.run_id,
            status=status,
            end_time=None if end_time is None else _int(end_time, "end_time"),
            name=None if run_name in (None, "") else str(run_name),
        )
        self.read_ahead.changed(workspace.id)
        return updated

    def set_lifecycle(self, workspace: WorkspaceRecord, run_id: Any, stage: str) -> None:
        record = self.get(workspace, run_id)
        self.store.runs.update(workspace.id, record.run_id, lifecycle_stage=stage)
        self.read_ahead.changed(workspace.id)

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
        # The store looks the run up (and locks it) in the same transaction: no separate read here.
        self.store.runs.log(
            workspace.id, _run_id(run_id), metrics=points, params=param_values, tags=tag_values
        )
        self.read_ahead.changed(workspace.id)

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

    def log_inputs(
        self, workspace: WorkspaceRecord, run_id: Any, *, datasets: Sequence[Any], models: Sequence[Any]
    ) -> None:
        if len(datasets) > MAX_BATCH_DATASETS:
            raise invalid(f"log-inputs takes at most {MAX_BATCH_DATASETS} datasets per call", "datasets")
        inputs = [dataset_input(item) for item in datasets]
        model_ids: list[str] = []
        for model in models:
            if not isinstance(model, dict) or not isinstance(model.get("model_id"), str):
                raise invalid("each entry of 'models' is an object with a string model_id", "models")
            model_ids.append(model["model_id"])
        record = self.get(workspace, run_id)
        self.store.runs.log_inputs(workspace.id, record.run_id, datasets=inputs, model_ids=model_ids)
        self.read_ahead.changed(workspace.id)

    def delete_tag(self, workspace: WorkspaceRecord, run_id: Any, key: Any) -> None:
        record = self.get(workspace, run_id)
        deleted = self.store.runs.delete_tag(workspace.id, record.run_id, check_key(key, "tag"))
        self.read_ahead.changed(workspace.id)
        if not deleted:
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

    def metric_history_bulk_interval(
        self,
        workspace: WorkspaceRecord,
        run_ids: Sequence[Any],
        key: Any,
        *,
        start_step: Any,
        end_step: Any,
        max_results: Any,
    ) -> list[tuple[str, MetricPoint]]:
        """What the UI charts: per run, at most ``max_results`` steps spread evenly over the steps logged in
        the range (the first and last always kept), with every point at those steps."""
        runs = self._bulk_runs(workspace, run_ids)
        metric_key = check_key(key, "metric")
        if (start_step is None) != (end_step is None):
            raise invalid("give both start_step and end_step, or neither", "start_step")
        start = None if start_step is None else _int(start_step, "start_step")
        end = None if end_step is None else _int(end_step, "end_step")
        if start is not None and end is not None and start > end:
            raise invalid("start_step must not be greater than end_step", "start_step")
        limit = _int(max_results, "max_results", default=MAX_BULK_INTERVAL_RESULTS)
        if not 1 <= limit <= MAX_BULK_INTERVAL_RESULTS:
            raise invalid(f"max_results must be between 1 and {MAX_BULK_INTERVAL_RESULTS}", "max_results")
        points: list[tuple[str, MetricPoint]] = []
        for run_id in runs:
            steps = self.store.runs.metric_steps(
                workspace.id, run_id, metric_key, start_step=start, end_step=end
            )
            chosen = sample_evenly(steps, limit)
            points += [
                (run_id, p)
                for p in self.store.runs.metric_points_at(workspace.id, run_id, metric_key, chosen)
            ]
        return points

    def metric_history_bulk(
        self, workspace: WorkspaceRecord, run_ids: Sequence[Any], key: Any, *, max_results: Any
    ) -> list[tuple[str, MetricPoint]]:
        """The UI's older bulk form: the first ``max_results`` points of ``key`` for each run."""
        runs = self._bulk_runs(workspace, run_ids)
        metric_key = check_key(key, "metric")
        limit = _int(max_results, "max_results", default=MAX_HISTORY_RESULTS)
        if not 1 <= limit <= MAX_HISTORY_RESULTS:
            raise invalid(f"max_results must be between 1 and {MAX_HISTORY_RESULTS}", "max_results")
        return [
            (run_id, point)
            for run_id in runs
            for point in self.store.runs.metric_history(
                workspace.id, run_id, metric_key, limit=limit, offset=0
            )
        ]

    def _bulk_runs(self, workspace: WorkspaceRecord, run_ids: Sequence[Any]) -> list[str]:
        if not run_ids:
            raise invalid("missing value for required parameter 'run_ids'", "run_ids")
        if len(run_ids) > MAX_BULK_RUNS:
            raise invalid(f"at most {MAX_BULK_RUNS} run_ids per request", "run_ids")
        return [self.get(workspace, run_id).run_id for run_id in dict.fromkeys(run_ids)]

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
        clauses = parse_filter(filter_string)
        ordering = [parse_order_by(clause) for clause in order_by or []]

        def read(at: int) -> list[RunRecord]:
            return self.store.runs.search(
                workspace.id,
                ids,
                stages=stages,
                clauses=clauses,
                order_by=ordering,
                limit=limit + 1,
                offset=at,
            )

        query = (tuple(ids), stages, filter_string, tuple(order_by or ()), limit)
        records = self.read_ahead.take(workspace.id, query, offset)
        if records is None:
            records = read(offset)
        if len(records) <= limit:
            return records, None
        if limit <= MAX_READ_AHEAD_PAGE:
            self.read_ahead.start(workspace.id, query, offset + limit, lambda: read(offset + limit))
        return records[:limit], encode_offset(offset + limit)
