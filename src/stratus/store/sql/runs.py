"""SQL implementation of MLflow runs: metrics (all points and the latest per key), params and tags."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased

from stratus.errors import BadRequestError, NotFoundError
from stratus.store.sql.common import SqlDomain, dialect_insert, execute_many, upsert
from stratus.store.sql.runlog import (
    log_points_in_one_statement,
    logs_points_in_one_statement,
    run_stage,
    write_points,
)
from stratus.store.sql.tables import (
    DatasetRow,
    ExperimentRow,
    LatestMetricRow,
    LoggedModelRow,
    MetricRow,
    ParamRow,
    RunDatasetInputRow,
    RunModelInputRow,
    RunOutputRow,
    RunRow,
    RunTagRow,
)
from stratus.store.sql.tracking import compare_number, compare_text
from stratus.store.tracking import DatasetInput, DatasetRecord, MetricPoint, RunRecord, RunStore
from stratus.tracking import now_ms
from stratus.tracking.search import Clause

T = TypeVar("T")
DATASET_CONTEXT_TAG = "mlflow.data.context"
RUN_ATTRIBUTES_TEXT = {
    "run_id": RunRow.run_id,
    "run_name": RunRow.name,
    "status": RunRow.status,
    "user_id": RunRow.user_id,
    "artifact_uri": RunRow.artifact_uri,
    "lifecycle_stage": RunRow.lifecycle_stage,
}
RUN_ATTRIBUTES_NUMBER = {
    "start_time": RunRow.start_time,
    "end_time": RunRow.end_time,
    "created": RunRow.start_time,
}
RUN_ATTRIBUTE_ALIASES = {
    "run_id": "run_id",
    "run_name": "run_name",
    "name": "run_name",
    "created": "start_time",
}


def _run_not_found(run_id: str) -> NotFoundError:
    return NotFoundError(f"run {run_id!r} not found", field="run_id", code="RESOURCE_DOES_NOT_EXIST")


def _bad(message: str, field: str = "filter") -> BadRequestError:
    return BadRequestError(message, field=field, code="INVALID_PARAMETER_VALUE")


_RUNS: Table = RunRow.__table__  # type: ignore[assignment]
_RENAME_RUN = update(_RUNS).where(_RUNS.c.run_id == bindparam("run")).values(name=bindparam("name"))


def _stored(point: MetricPoint) -> dict[str, Any]:
    nan = math.isnan(point.value)
    # SQLite turns NaN into NULL; store 0 with a flag, as MLflow does, and give NaN back on reading.
    return {
        "key": point.key,
        "value": 0.0 if nan else float(point.value),
        "is_nan": nan,
        "timestamp": point.timestamp,
        "step": point.step,
    }


def _point(key: str, value: float, is_nan: bool, timestamp: int, step: int) -> MetricPoint:
    return MetricPoint(
        key=key, value=math.nan if is_nan else float(value), timestamp=int(timestamp), step=int(step)
    )


class SqlRunStore(SqlDomain, RunStore):
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
    ) -> RunRecord:
        with self._tx() as session:
            experiment = self._experiment(session, workspace_id, experiment_id)
            session.add(
                RunRow(
                    run_id=run_id,
                    workspace_id=workspace_id,
                    experiment_row_id=experiment.id,
                    name=name,
                    user_id=user_id,
                    status="RUNNING",
                    start_time=start_time,
                    end_time=None,
                    lifecycle_stage="active",
                    artifact_uri=artifact_uri,
                )
            )
            session.flush()
            session.add_all(RunTagRow(run_id=run_id, key=k, value=v) for k, v in tags.items())
            session.flush()
            return self._record(session, self._row(session, workspace_id, run_id))

    @staticmethod
    def _experiment(session: Session, workspace_id: str, experiment_id: int) -> ExperimentRow:
        row = session.scalar(
            select(ExperimentRow).where(
                ExperimentRow.workspace_id == workspace_id, ExperimentRow.experiment_id == experiment_id
            )
        )
        if row is None:
            raise NotFoundError(
                f"no experiment with id {experiment_id}",
                field="experiment_id",
                code="RESOURCE_DOES_NOT_EXIST",
            )
        return row

    @staticmethod
    def _row(session: Session, workspace_id: str, run_id: str, *, lock: bool = False) -> RunRow:
        query = select(RunRow).where(RunRow.run_id == run_id, RunRow.workspace_id == workspace_id)
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise _run_not_found(run_id)
        return row

    @classmethod
    def _record(cls, session: Session, row: RunRow, experiment_id: int | None = None) -> RunRecord:
        if experiment_id is None:
            experiment_id = int(
                session.scalar(
                    select(ExperimentRow.experiment_id).where(ExperimentRow.id == row.experiment_row_id)
                )
                or 0
            )
        return cls._records(session, [(row, experiment_id)])[0]

    @staticmethod
    def _records(session: Session, rows: Sequence[tuple[Any, int]]) -> list[RunRecord]:
        """Runs with their data, loaded with one query per kind of data for the whole page, not per run.
        Column queries run on the Core connection: the ORM's row processing cost more than the database
        for a page of a thousand runs."""
        core = session.connection()
        ids = [row.run_id for row, _ in rows]
        latest: dict[str, dict[str, MetricPoint]] = {run_id: {} for run_id in ids}
        params: dict[str, dict[str, str]] = {run_id: {} for run_id in ids}
        tags: dict[str, dict[str, str]] = {run_id: {} for run_id in ids}
        datasets: dict[str, list[DatasetInput]] = {run_id: [] for run_id in ids}
        model_inputs: dict[str, list[str]] = {run_id: [] for run_id in ids}
        outputs: dict[str, list[tuple[str, int]]] = {run_id: [] for run_id in ids}
        for chunk in _chunks(ids):
            for run_id, key, value, nan, ts, step in core.execute(
                select(
                    LatestMetricRow.run_id,
                    LatestMetricRow.key,
                    LatestMetricRow.value,
                    LatestMetricRow.is_nan,
                    LatestMetricRow.timestamp,
                    LatestMetricRow.step,
                ).where(LatestMetricRow.run_id.in_(chunk))
            ).all():
                latest[run_id][key] = _point(key, value, nan, ts, step)
            for run_id, key, param in core.execute(
                select(ParamRow.run_id, ParamRow.key, ParamRow.value).where(ParamRow.run_id.in_(chunk))
            ).all():
                params[run_id][key] = param
            for run_id, key, tag in core.execute(
                select(RunTagRow.run_id, RunTagRow.key, RunTagRow.value).where(RunTagRow.run_id.in_(chunk))
            ).all():
                tags[run_id][key] = tag
            for run_id, input_tags, dataset in session.execute(
                select(RunDatasetInputRow.run_id, RunDatasetInputRow.tags, DatasetRow)
                .join(DatasetRow, DatasetRow.id == RunDatasetInputRow.dataset_id)
                .where(RunDatasetInputRow.run_id.in_(chunk))
                .order_by(DatasetRow.name, DatasetRow.digest)
            ):
                datasets[run_id].append(DatasetInput(dataset=_dataset(dataset), tags=dict(input_tags)))
            for run_id, model_id in core.execute(
                select(RunModelInputRow.run_id, RunModelInputRow.model_id)
                .where(RunModelInputRow.run_id.in_(chunk))
                .order_by(RunModelInputRow.model_id)
            ).all():
                model_inputs[run_id].append(model_id)
            for run_id, model_id, step in core.execute(
                select(RunOutputRow.run_id, RunOutputRow.model_id, RunOutputRow.step)
                .where(RunOutputRow.run_id.in_(chunk))
                .order_by(RunOutputRow.step, RunOutputRow.model_id)
            ).all():
                outputs[run_id].append((model_id, int(step)))
        return [
            _run_record(
                row,
                experiment_id,
                metrics=latest[row.run_id],
                params=params[row.run_id],
                tags=tags[row.run_id],
                dataset_inputs=datasets[row.run_id],
                model_inputs=model_inputs[row.run_id],
                model_outputs=outputs[row.run_id],
            )
            for row, experiment_id in rows
        ]

    def get(self, workspace_id: str, run_id: str) -> RunRecord | None:
        with self._tx() as session:
            try:
                return self._record(session, self._row(session, workspace_id, run_id))
            except NotFoundError:
                return None

    def update(
        self,
        workspace_id: str,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> RunRecord:
        with self._tx() as session:
            row = self._row(session, workspace_id, run_id, lock=True)
            if status is not None:
                row.status = status
            if end_time is not None:
                row.end_time = end_time
            if name is not None:
                row.name = name
                self._upsert_tags(session, run_id, {"mlflow.runName": name})
            if lifecycle_stage is not None and lifecycle_stage != row.lifecycle_stage:
                row.lifecycle_stage = lifecycle_stage
                row.deleted_time = now_ms() if lifecycle_stage == "deleted" else None
            session.flush()
            return self._record(session, row)

    @staticmethod
    def _upsert_tags(bind: Session | Connection, run_id: str, tags: dict[str, str]) -> None:
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        upsert(bind, RunTagRow, rows, ("run_id", "key"))

    def log(
        self,
        workspace_id: str,
        run_id: str,
        *,
        metrics: Sequence[MetricPoint] = (),
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        # The hot path of tracking: Core statements compiled once, no ORM objects, no row lock. Writers
        # to one run no longer queue on its row; rows are written in key order instead, so two batches
        # touching the same keys take their locks in the same order and cannot deadlock each other.
        stored = [{**_stored(point), "run_id": run_id} for point in metrics]
        stored.sort(key=lambda p: (p["key"], p["step"], p["timestamp"], p["value"], p["is_nan"]))
        if stored and not params and not tags and logs_points_in_one_statement(self._dialect):
            with self._connect(autocommit=True) as connection:
                _check_stage(run_id, log_points_in_one_statement(connection, workspace_id, run_id, stored))
            return
        with self._connect() as connection:
            _check_stage(run_id, run_stage(connection, workspace_id, run_id))
            if params:
                _insert_params(connection, run_id, params)
            if tags:
                self._upsert_tags(connection, run_id, dict(sorted(tags.items())))
                if "mlflow.runName" in tags:
                    connection.execute(_RENAME_RUN, {"run": run_id, "name": tags["mlflow.runName"]})
            if stored:
                write_points(connection, run_id, stored)

    def log_inputs(
        self,
        workspace_id: str,
        run_id: str,
        *,
        datasets: Sequence[DatasetInput] = (),
        model_ids: Sequence[str] = (),
    ) -> None:
        with self._tx() as session:
            row = self._row(session, workspace_id, run_id)
            if row.lifecycle_stage != "active":
                raise _bad(f"run {run_id!r} is deleted: restore it before logging to it", "run_id")
            for item in datasets:
                dataset = item.dataset
                values = {
                    "id": uuid.uuid4().hex,
                    "experiment_row_id": row.experiment_row_id,
                    "name": dataset.name,
                    "digest": dataset.digest,
                    "source_type": dataset.source_type,
                    "source": dataset.source,
                    "schema": dataset.schema,
                    "profile": dataset.profile,
                }
                session.execute(dialect_insert(session, DatasetRow).values(values).on_conflict_do_nothing())
                dataset_id = session.scalar(
                    select(DatasetRow.id).where(
                        DatasetRow.experiment_row_id == row.experiment_row_id,
                        DatasetRow.name == dataset.name,
                        DatasetRow.digest == dataset.digest,
                    )
                )
                session.execute(
                    dialect_insert(session, RunDatasetInputRow)
                    .values(
                        run_id=run_id,
                        dataset_id=dataset_id,
                        tags=dict(item.tags),
                        context=item.tags.get(DATASET_CONTEXT_TAG),
                    )
                    .on_conflict_do_nothing()
                )
            if model_ids:
                known = set(
                    session.scalars(
                        select(LoggedModelRow.model_id).where(
                            LoggedModelRow.workspace_id == workspace_id,
                            LoggedModelRow.model_id.in_(list(model_ids)),
                        )
                    )
                )
                missing = sorted(set(model_ids) - known)
                if missing:
                    raise NotFoundError(
                        f"no logged model {missing[0]!r} in this workspace",
                        field="models",
                        code="RESOURCE_DOES_NOT_EXIST",
                    )
                session.execute(
                    dialect_insert(session, RunModelInputRow)
                    .values([{"run_id": run_id, "model_id": m} for m in sorted(known)])
                    .on_conflict_do_nothing()
                )

    def delete_tag(self, workspace_id: str, run_id: str, key: str) -> bool:
        with self._tx() as session:
            self._row(session, workspace_id, run_id)
            result = session.execute(
                delete(RunTagRow).where(RunTagRow.run_id == run_id, RunTagRow.key == key)
            )
            return bool(getattr(result, "rowcount", 0))

    def metric_history(
        self, workspace_id: str, run_id: str, key: str, *, limit: int, offset: int
    ) -> list[MetricPoint]:
        with self._tx() as session:
            self._row(session, workspace_id, run_id)
            rows = session.execute(
                select(MetricRow.key, MetricRow.value, MetricRow.is_nan, MetricRow.timestamp, MetricRow.step)
                .where(MetricRow.run_id == run_id, MetricRow.key == key)
                .order_by(MetricRow.step, MetricRow.timestamp, MetricRow.value)
                .offset(offset)
                .limit(limit)
            )
            return [_point(*r) for r in rows]

    def deleted(self, workspace_id: str, *, deleted_before: int | None) -> list[RunRecord]:
        when = func.coalesce(RunRow.deleted_time, RunRow.end_time, RunRow.start_time)
        query = (
            select(RunRow, ExperimentRow.experiment_id)
            .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_row_id)
            .where(RunRow.workspace_id == workspace_id, RunRow.lifecycle_stage == "deleted")
            .order_by(RunRow.run_id)
        )
        if deleted_before is not None:
            query = query.where(when < deleted_before)
        with self._tx() as session:
            return [_run_record(row, int(experiment_id)) for row, experiment_id in session.execute(query)]

    def purge(self, workspace_id: str, run_ids: Sequence[str]) -> int:
        removed = 0
        with self._tx() as session:
            for chunk in _chunks(list(run_ids)):
                result = session.execute(
                    delete(RunRow).where(
                        RunRow.workspace_id == workspace_id,
                        RunRow.lifecycle_stage == "deleted",
                        RunRow.run_id.in_(chunk),
                    )
                )
                removed += int(getattr(result, "rowcount", 0) or 0)
        return removed

    def metric_steps(
        self, workspace_id: str, run_id: str, key: str, *, start_step: int | None, end_step: int | None
    ) -> list[int]:
        query = select(MetricRow.step).where(MetricRow.run_id == run_id, MetricRow.key == key).distinct()
        if start_step is not None:
            query = query.where(MetricRow.step >= start_step)
        if end_step is not None:
            query = query.where(MetricRow.step <= end_step)
        with self._tx() as session:
            self._row(session, workspace_id, run_id)
            return [int(step) for step in session.scalars(query.order_by(MetricRow.step))]

    def metric_points_at(
        self, workspace_id: str, run_id: str, key: str, steps: Sequence[int]
    ) -> list[MetricPoint]:
        points: list[MetricPoint] = []
        with self._tx() as session:
            self._row(session, workspace_id, run_id)
            for chunk in _chunks(list(steps)):
                rows = session.execute(
                    select(
                        MetricRow.key, MetricRow.value, MetricRow.is_nan, MetricRow.timestamp, MetricRow.step
                    )
                    .where(MetricRow.run_id == run_id, MetricRow.key == key, MetricRow.step.in_(chunk))
                    .order_by(MetricRow.step, MetricRow.timestamp, MetricRow.value)
                )
                points += [_point(*r) for r in rows]
        return points

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
        # Plain columns, not ORM entities: a page has up to 50,000 runs and nothing here is modified.
        query = (
            select(*RunRow.__table__.c, ExperimentRow.experiment_id.label("experiment_number"))
            .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_row_id)
            .where(
                RunRow.workspace_id == workspace_id,
                ExperimentRow.experiment_id.in_(list(experiment_ids)),
                RunRow.lifecycle_stage.in_(list(stages)),
            )
        )
        for clause in clauses:
            query = query.where(_run_condition(clause))
        ordering: list[Any] = []
        for kind, key, ascending in order_by:
            column = _order_column(kind, key)
            ordering += [
                column.is_(None),
                column.asc() if ascending else column.desc(),
            ]  # missing values last
        query = query.order_by(*ordering, RunRow.start_time.desc(), RunRow.run_id).offset(offset).limit(limit)
        with self._tx() as session:
            rows = [(row, int(row.experiment_number)) for row in session.connection().execute(query).all()]
            return self._records(session, rows)


def _check_stage(run_id: str, stage: str | None) -> None:
    if stage is None:
        raise _run_not_found(run_id)
    if stage != "active":
        raise _bad(f"run {run_id!r} is deleted: restore it before logging to it", "run_id")


def _insert_params(connection: Connection, run_id: str, params: dict[str, str]) -> None:
    """Params are written once: the same value again is a no-op, a different one an error."""
    rows = [{"run_id": run_id, "key": k, "value": v} for k, v in sorted(params.items())]
    execute_many(connection, dialect_insert(connection, ParamRow).on_conflict_do_nothing(), rows)
    stored = connection.execute(
        select(ParamRow.key, ParamRow.value).where(ParamRow.run_id == run_id, ParamRow.key.in_(list(params)))
    )
    for key, existing in stored:
        if existing != params[key]:
            raise _bad(
                f"param {key!r} was already logged as {existing!r}; params cannot change "
                f"(tried {params[key]!r})",
                "params",
            )


def _chunks(ids: list[T], size: int = 500) -> list[list[T]]:
    """Bounded ``IN`` lists (SQLite caps bound parameters)."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _run_record(row: Any, experiment_id: int, **data: Any) -> RunRecord:
    """A run from its row (an ORM row or plain columns); ``data`` adds metrics, params, tags, inputs..."""
    return RunRecord(
        run_id=row.run_id,
        workspace_id=row.workspace_id,
        experiment_id=experiment_id,
        name=row.name,
        user_id=row.user_id,
        status=row.status,
        start_time=int(row.start_time),
        end_time=None if row.end_time is None else int(row.end_time),
        lifecycle_stage=row.lifecycle_stage,
        artifact_uri=row.artifact_uri,
        **data,
    )


def _dataset(row: DatasetRow) -> DatasetRecord:
    return DatasetRecord(
        name=row.name,
        digest=row.digest,
        source_type=row.source_type,
        source=row.source,
        schema=row.schema,
        profile=row.profile,
    )


def _order_column(kind: str, key: str) -> Any:
    if kind == "attribute":
        key = RUN_ATTRIBUTE_ALIASES.get(key, key)
        column = RUN_ATTRIBUTES_TEXT.get(key) or RUN_ATTRIBUTES_NUMBER.get(key)
        if column is None:
            raise _bad(f"cannot order runs by attribute {key!r}", "order_by")
        return column
    table = {"metric": LatestMetricRow, "param": ParamRow, "tag": RunTagRow}[kind]
    return (
        select(table.value)  # type: ignore[attr-defined]
        .where(table.run_id == RunRow.run_id, table.key == key)  # type: ignore[attr-defined]
        .correlate(RunRow)
        .scalar_subquery()
    )


def _run_condition(clause: Clause) -> ColumnElement[bool]:
    if clause.kind == "attribute":
        key = RUN_ATTRIBUTE_ALIASES.get(clause.key, clause.key)
        if key in RUN_ATTRIBUTES_TEXT:
            return compare_text(RUN_ATTRIBUTES_TEXT[key], clause.comparator, clause.value)
        if key in RUN_ATTRIBUTES_NUMBER:
            return compare_number(RUN_ATTRIBUTES_NUMBER[key], clause.comparator, clause.value)
        raise _bad(f"runs have no attribute {clause.key!r} to search by")
    if clause.kind == "metric":
        latest = aliased(LatestMetricRow)
        if isinstance(clause.value, str):
            raise _bad(f"metrics.{clause.key} is compared with a number, not a string")
        condition = and_(
            latest.run_id == RunRow.run_id,
            latest.key == clause.key,
            latest.is_nan.is_(False),
            compare_number(latest.value, clause.comparator, clause.value),
        )
        return exists().where(condition)
    if clause.kind in ("param", "tag"):
        other: Any = aliased(ParamRow if clause.kind == "param" else RunTagRow)
        condition = and_(
            other.run_id == RunRow.run_id,
            other.key == clause.key,
            compare_text(other.value, clause.comparator, clause.value),
        )
        return exists().where(condition)
    if clause.kind == "dataset":
        # True when any dataset the run used matches, as MLflow reads ``datasets.<key>``.
        if clause.key in ("name", "digest"):
            column = DatasetRow.name if clause.key == "name" else DatasetRow.digest
            return exists().where(
                RunDatasetInputRow.run_id == RunRow.run_id,
                DatasetRow.id == RunDatasetInputRow.dataset_id,
                compare_text(column, clause.comparator, clause.value),
            )
        if clause.key == "context":
            return exists().where(
                RunDatasetInputRow.run_id == RunRow.run_id,
                compare_text(RunDatasetInputRow.context, clause.comparator, clause.value),
            )
        raise _bad(
            f"runs have no dataset attribute {clause.key!r} to search by: use datasets.name, "
            "datasets.digest or datasets.context"
        )
    return true()
