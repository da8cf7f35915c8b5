"""SQL implementation of the tracking domain: MLflow experiments (runs come next)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus.errors import BadRequestError, ConflictError, NotFoundError, ServiceUnavailableError
from stratus.store.sql.common import SqlDomain, upsert
from stratus.store.sql.tables import ExperimentRow, ExperimentTagRow, WorkspaceRow
from stratus.store.tracking import ExperimentRecord, ExperimentStore
from stratus.tracking import now_ms
from stratus.tracking.search import Clause

_ID_RETRIES = 8
_NUMERIC = {"creation_time": ExperimentRow.creation_time, "last_update_time": ExperimentRow.last_update_time}
ORDERABLE = {
    "name": ExperimentRow.name,
    "experiment_id": ExperimentRow.experiment_id,
    "creation_time": ExperimentRow.creation_time,
    "last_update_time": ExperimentRow.last_update_time,
}


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message, field="filter", code="INVALID_PARAMETER_VALUE")


def compare_text(column: Any, comparator: str, value: object) -> ColumnElement[bool]:
    """String comparisons of MLflow's grammar: =, !=, LIKE, ILIKE (and IN / NOT IN for lists)."""
    if comparator in ("IN", "NOT IN") and isinstance(value, tuple):
        inside: ColumnElement[bool] = column.in_(list(value))
        return inside if comparator == "IN" else not_(inside)
    if not isinstance(value, str):
        raise _bad(f"{comparator} on a text field needs a quoted string, not {value!r}")
    if comparator == "=":
        return column == value  # type: ignore[no-any-return]
    if comparator == "!=":
        return column != value  # type: ignore[no-any-return]
    if comparator == "LIKE":
        return column.like(value)  # type: ignore[no-any-return]
    if comparator == "ILIKE":
        return func.lower(column).like(value.lower())
    raise _bad(f"text fields take =, !=, LIKE or ILIKE, not {comparator}")


def compare_number(column: Any, comparator: str, value: object) -> ColumnElement[bool]:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _bad(f"{value!r} is not a number") from None
    if not isinstance(value, float):
        raise _bad(f"{comparator} on a number needs a number")
    operators = {
        "=": column == value,
        "!=": column != value,
        "<": column < value,
        "<=": column <= value,
        ">": column > value,
        ">=": column >= value,
    }
    if comparator not in operators:
        raise _bad(f"numbers take =, !=, <, <=, > or >=, not {comparator}")
    return operators[comparator]  # type: ignore[no-any-return]


def _condition(clause: Clause) -> ColumnElement[bool]:
    if clause.kind == "attribute":
        if clause.key == "name":
            return compare_text(ExperimentRow.name, clause.comparator, clause.value)
        if clause.key in _NUMERIC:
            return compare_number(_NUMERIC[clause.key], clause.comparator, clause.value)
        raise _bad(
            f"experiments are searched by name, creation_time, last_update_time or tags, not {clause.key!r}"
        )
    if clause.kind == "tag":
        matching = and_(
            ExperimentTagRow.experiment_row_id == ExperimentRow.id,
            ExperimentTagRow.key == clause.key,
            compare_text(ExperimentTagRow.value, clause.comparator, clause.value),
        )
        return exists().where(matching)
    raise _bad(f"experiments have no {clause.kind}s to search by")


class SqlExperimentStore(SqlDomain, ExperimentStore):
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
        for _ in range(_ID_RETRIES):
            try:
                with self._tx() as session:
                    # Creates in one workspace take turns (PostgreSQL; SQLite writers already do), so
                    # racing creates neither exhaust the retries nor see a stale max(id). NO KEY UPDATE
                    # still lets rows that reference the workspace be inserted meanwhile.
                    session.execute(
                        select(WorkspaceRow.id)
                        .where(WorkspaceRow.id == workspace_id)
                        .with_for_update(key_share=True)
                    )
                    if self._row_by_name(session, workspace_id, name) is not None:
                        raise self._name_taken(name)
                    next_id = experiment_id
                    if next_id is None:
                        highest = session.scalar(
                            select(func.max(ExperimentRow.experiment_id)).where(
                                ExperimentRow.workspace_id == workspace_id
                            )
                        )
                        next_id = 1 if highest is None else int(highest) + 1
                    stamp = now_ms()
                    row = ExperimentRow(
                        id=uuid.uuid4().hex,
                        workspace_id=workspace_id,
                        experiment_id=next_id,
                        name=name,
                        artifact_location=artifact_location or default_location.format(experiment_id=next_id),
                        lifecycle_stage="active",
                        creation_time=stamp,
                        last_update_time=stamp,
                    )
                    session.add(row)
                    session.add_all(
                        ExperimentTagRow(experiment_row_id=row.id, key=k, value=v)
                        for k, v in (tags or {}).items()
                    )
                    session.flush()
                    return self._record(session, row)
            except IntegrityError:
                continue  # another writer took the id or the name: look again
        with self._tx() as session:
            if self._row_by_name(session, workspace_id, name) is not None:
                raise self._name_taken(name)
        raise ServiceUnavailableError(
            "could not allocate an experiment id under contention; retry",
            field="name",
            code="TEMPORARILY_UNAVAILABLE",
        )

    @staticmethod
    def _name_taken(name: str) -> ConflictError:
        return ConflictError(
            f"an experiment named {name!r} already exists (perhaps deleted: restore it or pick another name)",
            field="name",
            code="RESOURCE_ALREADY_EXISTS",
        )

    @staticmethod
    def _row_by_name(session: Session, workspace_id: str, name: str) -> ExperimentRow | None:
        return session.scalar(
            select(ExperimentRow).where(
                ExperimentRow.workspace_id == workspace_id, ExperimentRow.name == name
            )
        )

    @staticmethod
    def _row(session: Session, workspace_id: str, experiment_id: int) -> ExperimentRow:
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
    def _record(session: Session, row: ExperimentRow) -> ExperimentRecord:
        rows = session.execute(
            select(ExperimentTagRow.key, ExperimentTagRow.value).where(
                ExperimentTagRow.experiment_row_id == row.id
            )
        )
        tags = {str(key): str(value) for key, value in rows}
        return ExperimentRecord(
            workspace_id=row.workspace_id,
            experiment_id=int(row.experiment_id),
            name=row.name,
            artifact_location=row.artifact_location,
            lifecycle_stage=row.lifecycle_stage,
            creation_time=int(row.creation_time),
            last_update_time=int(row.last_update_time),
            tags=tags,
        )

    def get(self, workspace_id: str, experiment_id: int) -> ExperimentRecord | None:
        with self._tx() as session:
            try:
                return self._record(session, self._row(session, workspace_id, experiment_id))
            except NotFoundError:
                return None

    def get_by_name(self, workspace_id: str, name: str) -> ExperimentRecord | None:
        with self._tx() as session:
            row = self._row_by_name(session, workspace_id, name)
            return self._record(session, row) if row else None

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
        query = select(ExperimentRow).where(
            ExperimentRow.workspace_id == workspace_id, ExperimentRow.lifecycle_stage.in_(list(stages))
        )
        for clause in clauses:
            query = query.where(_condition(clause))
        ordering = [
            ORDERABLE[column].asc() if ascending else ORDERABLE[column].desc()
            for column, ascending in order_by
        ]
        query = query.order_by(*ordering, ExperimentRow.experiment_id.asc()).offset(offset).limit(limit)
        with self._tx() as session:
            return [self._record(session, row) for row in session.scalars(query)]

    def update(
        self,
        workspace_id: str,
        experiment_id: int,
        *,
        name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> ExperimentRecord:
        try:
            with self._tx() as session:
                row = self._row(session, workspace_id, experiment_id)
                if name is not None:
                    row.name = name
                if lifecycle_stage is not None:
                    row.lifecycle_stage = lifecycle_stage
                row.last_update_time = now_ms()
                session.flush()
                return self._record(session, row)
        except IntegrityError:
            raise self._name_taken(name or "") from None

    def purge(self, workspace_id: str, experiment_id: int) -> None:
        with self._tx() as session:
            row = self._row(session, workspace_id, experiment_id)
            if row.lifecycle_stage != "deleted":
                raise BadRequestError(
                    f"experiment {experiment_id} is not deleted; delete it before purging it",
                    field="experiment_id",
                    code="INVALID_PARAMETER_VALUE",
                )
            # Runs, logged models and datasets go with it (ON DELETE CASCADE).
            session.execute(delete(ExperimentRow).where(ExperimentRow.id == row.id))

    def set_tag(self, workspace_id: str, experiment_id: int, key: str, value: str) -> None:
        with self._tx() as session:
            row = self._row(session, workspace_id, experiment_id)
            tag = {"experiment_row_id": row.id, "key": key, "value": value}
            upsert(session, ExperimentTagRow, [tag], ("experiment_row_id", "key"))

    def delete_tag(self, workspace_id: str, experiment_id: int, key: str) -> bool:
        with self._tx() as session:
            row = self._row(session, workspace_id, experiment_id)
            result = session.execute(
                delete(ExperimentTagRow).where(
                    ExperimentTagRow.experiment_row_id == row.id, ExperimentTagRow.key == key
                )
            )
            return bool(getattr(result, "rowcount", 0))
