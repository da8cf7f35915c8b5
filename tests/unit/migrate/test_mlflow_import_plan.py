"""The importer's pure decisions: run order, tags a copy gets, where a model version points, batching."""

from __future__ import annotations

import pytest
from mlflow.entities import Run, RunData, RunInfo, RunTag

from stratus.migrate.mlflow_plan import (
    chunks,
    copied_run_tags,
    filter_quote,
    logged_model_name,
    parents_first,
    remap_version_source,
)


def run(run_id: str, start: int, parent: str | None = None) -> Run:
    tags = [RunTag("mlflow.parentRunId", parent)] if parent else []
    info = RunInfo(run_id, "1", "u", "FINISHED", start, start + 1, "active", run_name=run_id)
    return Run(info, RunData(tags=tags))


def ids(runs: list[Run]) -> list[str]:
    return [r.info.run_id for r in runs]


def test_parents_come_before_children_even_when_they_started_later() -> None:
    runs = [
        run("child", 1, parent="parent"),
        run("parent", 5),
        run("grandchild", 0, parent="child"),
        run("x", 3),
    ]
    assert ids(parents_first(runs)) == ["parent", "child", "grandchild", "x"]


def test_runs_without_family_keep_start_order_and_a_missing_parent_is_ignored() -> None:
    runs = [run("b", 2), run("a", 1), run("orphan", 0, parent="not-copied")]
    assert ids(parents_first(runs)) == ["orphan", "a", "b"]


def test_a_parent_cycle_does_not_hang_and_keeps_every_run_once() -> None:
    ordered = ids(parents_first([run("a", 1, parent="b"), run("b", 2, parent="a")]))
    assert sorted(ordered) == ["a", "b"]


def test_copied_tags_remap_the_parent_and_leave_bookkeeping_out() -> None:
    tags = {
        "mlflow.parentRunId": "p-src",
        "mlflow.runName": "r",
        "mlflow.user": "ann",
        "mlflow.source.name": "train.py",
        "mlflow.log-model.history": '[{"run_id": "r-src"}]',
        "stratus.import.source_run_id": "from-an-earlier-import",
        "team": "a",
    }
    copied = copied_run_tags(tags, "r-src", {"r-src": "r-new", "p-src": "p-new"})
    assert copied == {
        "mlflow.parentRunId": "p-new",
        "mlflow.user": "ann",
        "mlflow.source.name": "train.py",
        "mlflow.log-model.history": '[{"run_id": "r-new"}]',
        "team": "a",
    }


def test_a_parent_that_was_not_copied_is_dropped() -> None:
    assert copied_run_tags({"mlflow.parentRunId": "gone"}, "r", {"r": "n"}) == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("models:/m-src", "models:/m-new"),
        ("models:/m-unknown", None),
        ("models:/sk-model/3", None),
        ("runs:/r-src/model", "runs:/r-new/model"),
        ("runs:/r-src", "runs:/r-new"),
        ("runs:/r-unknown/model", None),
        ("mlflow-artifacts:/1/r-src/artifacts/model", "runs:/r-new/model"),
        ("mlflow-artifacts:/1/r-src/artifacts", "runs:/r-new"),
        ("mlflow-artifacts:/1/r-src/artifactsX/model", None),
        ("mlflow-artifacts:/1/models/m-src/artifacts/", "models:/m-new"),
        ("s3://bucket/elsewhere/model", None),
    ],
)
def test_version_sources_point_at_the_copies(source: str, expected: str | None) -> None:
    remapped = remap_version_source(
        source,
        run_ids={"r-src": "r-new"},
        run_artifact_uris={"r-src": "mlflow-artifacts:/1/r-src/artifacts"},
        model_ids={"m-src": "m-new"},
        model_artifact_uris={"m-src": "mlflow-artifacts:/1/models/m-src/artifacts"},
    )
    assert remapped == expected


def test_chunks_respect_the_batch_limit() -> None:
    assert [len(c) for c in chunks(list(range(2501)), 1000)] == [1000, 1000, 501]
    assert list(chunks([], 100)) == []


def test_filter_literals_and_logged_model_names() -> None:
    assert filter_quote("plain") == "'plain'"
    assert filter_quote("it's") == '"it\'s"'
    assert logged_model_name("team.model/v1:x") == "team-model-v1-x"
