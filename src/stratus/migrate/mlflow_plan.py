"""The MLflow importer's pure decisions: run order, the tags a copy gets, where a model version points,
batching and names. No client, no I/O: ``mlflow_import`` applies them, the unit tests check them alone."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from mlflow.entities import Run

T = TypeVar("T")

TAG_PREFIX = "stratus.import."
PARENT_RUN_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
_LOGGED_MODEL_NAME_BAD = re.compile(r"""[/:.%"']""")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def parents_first(runs: Sequence[Run]) -> list[Run]:
    """Runs ordered by start time, every parent (when it is among ``runs``) before its children."""
    by_id = {r.info.run_id: r for r in runs}
    ordered: list[Run] = []
    placed: set[str] = set()

    def place(run: Run, chain: set[str]) -> None:
        run_id = run.info.run_id
        if run_id in placed:
            return
        parent = by_id.get(run.data.tags.get(PARENT_RUN_TAG, ""))
        if parent is not None and parent.info.run_id not in chain:  # a cycle cannot hang the import
            place(parent, chain | {run_id})
        placed.add(run_id)
        ordered.append(run)

    for run in sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id)):
        place(run, {run.info.run_id})
    return ordered


def copied_run_tags(
    tags: Mapping[str, str], source_run_id: str, run_ids: Mapping[str, str]
) -> dict[str, str]:
    """The source run's tags as the target run gets them: the parent remapped (dropped when the parent
    was not copied), the run name left to ``run_name``, and no ``stratus.import.*`` of an earlier import."""
    target_run_id = run_ids[source_run_id]
    copied = {}
    for key, value in tags.items():
        if key.startswith(TAG_PREFIX) or key == RUN_NAME_TAG:
            continue
        if key == PARENT_RUN_TAG:
            if value not in run_ids:
                continue
            value = run_ids[value]
        elif key == LOG_MODEL_HISTORY_TAG:
            value = value.replace(source_run_id, target_run_id)
        copied[key] = value
    return copied


def remap_version_source(
    source: str,
    *,
    run_ids: Mapping[str, str],
    run_artifact_uris: Mapping[str, str],
    model_ids: Mapping[str, str],
    model_artifact_uris: Mapping[str, str],
) -> str | None:
    """A model version's source in terms of the target's ids, or None when it points at nothing copied.

    ``run_artifact_uris`` and ``model_artifact_uris`` map source ids to the source's artifact locations, so
    a source spelled as a storage URI (``mlflow-artifacts:/1/<run>/artifacts/model``) is recognised too.
    """
    if source.startswith("models:/"):
        model_id = source.removeprefix("models:/")
        return f"models:/{model_ids[model_id]}" if model_id in model_ids else None
    if source.startswith("runs:/"):
        run_id, _, path = source.removeprefix("runs:/").partition("/")
        if run_id not in run_ids:
            return None
        return f"runs:/{run_ids[run_id]}" + (f"/{path}" if path else "")
    for model_id, location in model_artifact_uris.items():
        if model_id in model_ids and source.rstrip("/") == location.rstrip("/"):
            return f"models:/{model_ids[model_id]}"
    for run_id, location in run_artifact_uris.items():
        root = location.rstrip("/")
        if run_id in run_ids and (source == root or source.startswith(root + "/")):
            return f"runs:/{run_ids[run_id]}" + source[len(root) :]
    return None


def filter_quote(value: str) -> str:
    """A string literal for MLflow's filter grammar."""
    return f'"{value}"' if "'" in value else f"'{value}'"


def logged_model_name(name: str) -> str:
    """A registered model's name made acceptable as a logged model name (no / : . % " ')."""
    return _LOGGED_MODEL_NAME_BAD.sub("-", name) or "model"
