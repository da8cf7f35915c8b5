"""SQL implementation of MLflow 3 logged models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, select
from sqlalchemy.orm import Session, aliased

from stratus.errors import BadRequestError, NotFoundError
from stratus.store.sql.common import SqlDomain, upsert
from stratus.store.sql.tables import (
    ExperimentRow,
    LoggedModelParamRow,
    LoggedModelRow,
    LoggedModelTagRow,
    RunOutputRow,
    RunRow,
)
from stratus.store.sql.tracking import compare_number, compare_text
from stratus.store.tracking import LoggedModelRecord, LoggedModelStore
from stratus.tracking import now_ms
from stratus.tracking.search import Clause

TEXT_ATTRIBUTES = {
    "name": LoggedModelRow.name,
    "model_id": LoggedModelRow.model_id,
    "model_type": LoggedModelRow.model_type,
    "status": LoggedModelRow.status,
    "source_run_id": LoggedModelRow.source_run_id,
}
NUMBER_ATTRIBUTES = {
    "creation_timestamp": LoggedModelRow.creation_timestamp_ms,
    "creation_time": LoggedModelRow.creation_timestamp_ms,
    "last_updated_timestamp": LoggedModelRow.last_updated_timestamp_ms,
    "last_updated_time": LoggedModelRow.last_updated_timestamp_ms,
}
ORDERABLE = {**TEXT_ATTRIBUTES, **NUMBER_ATTRIBUTES}
# Filters name statuses by their short names (READY), the API by the enum names (LOGGED_MODEL_READY).
_STATUS_PREFIX = "LOGGED_MODEL_"


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message, field="filter", code="INVALID_PARAMETER_VALUE")


def _condition(clause: Clause) -> ColumnElement[bool]:
    if clause.kind == "attribute":
        if clause.key == "status":
            value = clause.value
            if isinstance(value, str):
                value = _STATUS_PREFIX + value
            elif isinstance(value, tuple):
                value = tuple(_STATUS_PREFIX + v for v in value)
            return compare_text(LoggedModelRow.status, clause.comparator, value)
        if clause.key in TEXT_ATTRIBUTES:
            return compare_text(TEXT_ATTRIBUTES[clause.key], clause.comparator, clause.value)
        if clause.key in NUMBER_ATTRIBUTES:
            return compare_number(NUMBER_ATTRIBUTES[clause.key], clause.comparator, clause.value)
        raise _bad(f"logged models have no attribute {clause.key!r} to search by")
    if clause.kind in ("tag", "param"):
        other: Any = aliased(LoggedModelTagRow if clause.kind == "tag" else LoggedModelParamRow)
        return exists().where(
            and_(
                other.model_id == LoggedModelRow.model_id,
                other.key == clause.key,
                compare_text(other.value, clause.comparator, clause.value),
            )
        )
    raise _bad(f"searching logged models by {clause.kind}s is not supported yet")


class SqlLoggedModelStore(SqlDomain, LoggedModelStore):
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
    ) -> LoggedModelRecord:
        with self._tx() as session:
            experiment = session.scalar(
                select(ExperimentRow).where(
                    ExperimentRow.workspace_id == workspace_id, ExperimentRow.experiment_id == experiment_id
                )
            )
            if experiment is None:
                raise NotFoundError(
                    f"no experiment with id {experiment_id}",
                    field="experiment_id",
                    code="RESOURCE_DOES_NOT_EXIST",
                )
            stamp = now_ms()
            session.add(
                LoggedModelRow(
                    model_id=model_id,
                    workspace_id=workspace_id,
                    experiment_row_id=experiment.id,
                    name=name,
                    model_type=model_type,
                    source_run_id=source_run_id,
                    status="LOGGED_MODEL_PENDING",
                    status_message=None,
                    artifact_uri=artifact_uri,
                    creation_timestamp_ms=stamp,
                    last_updated_timestamp_ms=stamp,
                    lifecycle_stage="active",
                )
            )
            session.flush()
            session.add_all(LoggedModelTagRow(model_id=model_id, key=k, value=v) for k, v in tags.items())
            session.add_all(LoggedModelParamRow(model_id=model_id, key=k, value=v) for k, v in params.items())
            session.flush()
            return self._record(session, self._row(session, workspace_id, model_id))

    @staticmethod
    def _row(session: Session, workspace_id: str, model_id: str) -> LoggedModelRow:
        row = session.scalar(
            select(LoggedModelRow).where(
                LoggedModelRow.model_id == model_id, LoggedModelRow.workspace_id == workspace_id
            )
        )
        if row is None:
            raise NotFoundError(
                f"logged model with id {model_id!r} not found",
                field="model_id",
                code="RESOURCE_DOES_NOT_EXIST",
            )
        return row

    @staticmethod
    def _record(session: Session, row: LoggedModelRow, experiment_id: int | None = None) -> LoggedModelRecord:
        if experiment_id is None:
            experiment_id = int(
                session.scalar(
                    select(ExperimentRow.experiment_id).where(ExperimentRow.id == row.experiment_row_id)
                )
                or 0
            )
        tags = session.execute(
            select(LoggedModelTagRow.key, LoggedModelTagRow.value).where(
                LoggedModelTagRow.model_id == row.model_id
            )
        )
        params = session.execute(
            select(LoggedModelParamRow.key, LoggedModelParamRow.value).where(
                LoggedModelParamRow.model_id == row.model_id
            )
        )
        return LoggedModelRecord(
            model_id=row.model_id,
            workspace_id=row.workspace_id,
            experiment_id=experiment_id,
            name=row.name,
            model_type=row.model_type,
            source_run_id=row.source_run_id,
            status=row.status,
            status_message=row.status_message,
            artifact_uri=row.artifact_uri,
            creation_timestamp_ms=int(row.creation_timestamp_ms),
            last_updated_timestamp_ms=int(row.last_updated_timestamp_ms),
            lifecycle_stage=row.lifecycle_stage,
            tags={str(k): str(v) for k, v in tags},
            params={str(k): str(v) for k, v in params},
        )

    def get(self, workspace_id: str, model_id: str) -> LoggedModelRecord | None:
        with self._tx() as session:
            try:
                return self._record(session, self._row(session, workspace_id, model_id))
            except NotFoundError:
                return None

    def update(
        self,
        workspace_id: str,
        model_id: str,
        *,
        status: str | None = None,
        status_message: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> LoggedModelRecord:
        with self._tx() as session:
            row = self._row(session, workspace_id, model_id)
            if status is not None:
                row.status = status
            if status_message is not None:
                row.status_message = status_message
            if lifecycle_stage is not None:
                row.lifecycle_stage = lifecycle_stage
            row.last_updated_timestamp_ms = now_ms()
            session.flush()
            return self._record(session, row)

    def set_tags(self, workspace_id: str, model_id: str, tags: dict[str, str]) -> None:
        with self._tx() as session:
            self._row(session, workspace_id, model_id)
            rows = [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()]
            upsert(session, LoggedModelTagRow, rows, ("model_id", "key"))

    def delete_tag(self, workspace_id: str, model_id: str, key: str) -> bool:
        with self._tx() as session:
            self._row(session, workspace_id, model_id)
            result = session.execute(
                delete(LoggedModelTagRow).where(
                    LoggedModelTagRow.model_id == model_id, LoggedModelTagRow.key == key
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def log_params(self, workspace_id: str, model_id: str, params: dict[str, str]) -> None:
        with self._tx() as session:
            self._row(session, workspace_id, model_id)
            for key, value in params.items():
                existing = session.get(LoggedModelParamRow, (model_id, key))
                if existing is None:
                    session.add(LoggedModelParamRow(model_id=model_id, key=key, value=value))
                elif existing.value != value:
                    raise BadRequestError(
                        f"param {key!r} of model {model_id} is {existing.value!r}; params cannot change",
                        field="params",
                        code="INVALID_PARAMETER_VALUE",
                    )

    def search(
        self,
        workspace_id: str,
        experiment_ids: Sequence[int],
        *,
        clauses: Sequence[Any],
        order_by: Sequence[tuple[str, bool]],
        limit: int,
        offset: int,
    ) -> list[LoggedModelRecord]:
        query = (
            select(LoggedModelRow, ExperimentRow.experiment_id)
            .join(ExperimentRow, ExperimentRow.id == LoggedModelRow.experiment_row_id)
            .where(
                LoggedModelRow.workspace_id == workspace_id,
                LoggedModelRow.lifecycle_stage == "active",
            )
        )
        if experiment_ids:
            query = query.where(ExperimentRow.experiment_id.in_(list(experiment_ids)))
        for clause in clauses:
            query = query.where(_condition(clause))
        ordering: list[Any] = [ORDERABLE[c].asc() if up else ORDERABLE[c].desc() for c, up in order_by]
        if not ordering:
            ordering = [LoggedModelRow.creation_timestamp_ms.desc()]  # newest first, as MLflow
        query = query.order_by(*ordering, LoggedModelRow.model_id).offset(offset).limit(limit)
        with self._tx() as session:
            return [self._record(session, row, int(exp)) for row, exp in session.execute(query)]

    def link_run_outputs(self, workspace_id: str, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        with self._tx() as session:
            if (
                session.scalar(
                    select(RunRow.run_id).where(RunRow.run_id == run_id, RunRow.workspace_id == workspace_id)
                )
                is None
            ):
                raise NotFoundError(
                    f"run {run_id!r} not found", field="run_id", code="RESOURCE_DOES_NOT_EXIST"
                )
            for model_id, step in outputs:
                self._row(session, workspace_id, model_id)
                if session.get(RunOutputRow, (run_id, model_id, step)) is None:
                    session.add(RunOutputRow(run_id=run_id, model_id=model_id, step=step))
