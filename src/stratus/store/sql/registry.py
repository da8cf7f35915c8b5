"""SQL implementation of the MLflow model registry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from stratus.errors import BadRequestError, ConflictError, NotFoundError, ServiceUnavailableError
from stratus.store.registry import ModelVersionRecord, RegisteredModelRecord, RegistryStore
from stratus.store.sql.common import SqlDomain, upsert
from stratus.store.sql.tables import (
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelAliasRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
)
from stratus.store.sql.tracking import compare_number, compare_text
from stratus.tracking import now_ms
from stratus.tracking.search import Clause

_VERSION_RETRIES = 8


def _missing_model(name: str) -> NotFoundError:
    return NotFoundError(f"registered model {name!r} not found", field="name", code="RESOURCE_DOES_NOT_EXIST")


class _RegistryCore(SqlDomain, RegistryStore):
    @staticmethod
    def _model_row(
        session: Session, workspace_id: str, name: str, *, lock: bool = False
    ) -> RegisteredModelRow:
        query = select(RegisteredModelRow).where(
            RegisteredModelRow.workspace_id == workspace_id, RegisteredModelRow.name == name
        )
        # A lock makes version creates of one model take turns on PostgreSQL (SQLite writers already do).
        row = session.scalar(query.with_for_update(key_share=True) if lock else query)
        if row is None:
            raise _missing_model(name)
        return row

    @staticmethod
    def _model(session: Session, row: RegisteredModelRow) -> RegisteredModelRecord:
        tags = session.execute(
            select(RegisteredModelTagRow.key, RegisteredModelTagRow.value).where(
                RegisteredModelTagRow.model_row_id == row.id
            )
        )
        aliases = session.execute(
            select(RegisteredModelAliasRow.alias, RegisteredModelAliasRow.version).where(
                RegisteredModelAliasRow.model_row_id == row.id
            )
        )
        latest = session.scalar(
            select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_row_id == row.id)
        )
        return RegisteredModelRecord(
            name=row.name,
            description=row.description,
            creation_timestamp=int(row.creation_timestamp),
            last_updated_timestamp=int(row.last_updated_timestamp),
            tags={str(k): str(v) for k, v in tags},
            aliases={str(a): int(v) for a, v in aliases},
            latest_version=None if latest is None else int(latest),
        )

    @staticmethod
    def _version(session: Session, model: RegisteredModelRow, row: ModelVersionRow) -> ModelVersionRecord:
        tags = session.execute(
            select(ModelVersionTagRow.key, ModelVersionTagRow.value).where(
                ModelVersionTagRow.model_row_id == model.id, ModelVersionTagRow.version == row.version
            )
        )
        aliases = session.scalars(
            select(RegisteredModelAliasRow.alias).where(
                RegisteredModelAliasRow.model_row_id == model.id,
                RegisteredModelAliasRow.version == row.version,
            )
        )
        return ModelVersionRecord(
            name=model.name,
            version=int(row.version),
            source=row.source,
            storage_location=row.storage_location,
            run_id=row.run_id,
            model_id=row.model_id,
            status=row.status,
            description=row.description,
            user_id=row.user_id,
            creation_timestamp=int(row.creation_timestamp),
            last_updated_timestamp=int(row.last_updated_timestamp),
            tags={str(k): str(v) for k, v in tags},
            aliases=sorted(str(a) for a in aliases),
        )

    def create_model(
        self, workspace_id: str, name: str, *, description: str | None, tags: dict[str, str]
    ) -> RegisteredModelRecord:
        stamp = now_ms()
        try:
            with self._tx() as session:
                row = RegisteredModelRow(
                    id=uuid.uuid4().hex,
                    workspace_id=workspace_id,
                    name=name,
                    description=description,
                    creation_timestamp=stamp,
                    last_updated_timestamp=stamp,
                )
                session.add(row)
                session.flush()
                session.add_all(
                    RegisteredModelTagRow(model_row_id=row.id, key=k, value=v) for k, v in tags.items()
                )
                session.flush()
                return self._model(session, row)
        except IntegrityError:
            raise ConflictError(
                f"registered model {name!r} already exists", field="name", code="RESOURCE_ALREADY_EXISTS"
            ) from None

    def get_model(self, workspace_id: str, name: str) -> RegisteredModelRecord | None:
        with self._tx() as session:
            try:
                return self._model(session, self._model_row(session, workspace_id, name))
            except NotFoundError:
                return None

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
        for _ in range(_VERSION_RETRIES):
            try:
                with self._tx() as session:
                    model = self._model_row(session, workspace_id, name, lock=True)
                    highest = session.scalar(
                        select(func.max(ModelVersionRow.version)).where(
                            ModelVersionRow.model_row_id == model.id
                        )
                    )
                    stamp = now_ms()
                    row = ModelVersionRow(
                        model_row_id=model.id,
                        version=1 if highest is None else int(highest) + 1,
                        source=source,
                        storage_location=storage_location,
                        run_id=run_id,
                        model_id=model_id,
                        status="READY",
                        description=description,
                        user_id=user_id,
                        creation_timestamp=stamp,
                        last_updated_timestamp=stamp,
                    )
                    session.add(row)
                    session.flush()
                    session.add_all(
                        ModelVersionTagRow(model_row_id=model.id, version=row.version, key=k, value=v)
                        for k, v in tags.items()
                    )
                    model.last_updated_timestamp = stamp
                    session.flush()
                    return self._version(session, model, row)
            except IntegrityError:
                continue  # another writer took this version number: take the next
        raise ServiceUnavailableError(
            "could not allocate a model version under contention; retry",
            field="name",
            code="TEMPORARILY_UNAVAILABLE",
        )

    def get_version(self, workspace_id: str, name: str, version: int) -> ModelVersionRecord | None:
        with self._tx() as session:
            try:
                model = self._model_row(session, workspace_id, name)
            except NotFoundError:
                return None
            row = session.get(ModelVersionRow, (model.id, version))
            return self._version(session, model, row) if row else None

    def set_alias(self, workspace_id: str, name: str, alias: str, version: int) -> None:
        with self._tx() as session:
            model = self._model_row(session, workspace_id, name)
            if session.get(ModelVersionRow, (model.id, version)) is None:
                raise NotFoundError(
                    f"model {name!r} has no version {version}",
                    field="version",
                    code="RESOURCE_DOES_NOT_EXIST",
                )
            existing = session.get(RegisteredModelAliasRow, (model.id, alias))
            if existing is None:
                session.add(RegisteredModelAliasRow(model_row_id=model.id, alias=alias, version=version))
            else:
                existing.version = version

    def delete_alias(self, workspace_id: str, name: str, alias: str) -> bool:
        with self._tx() as session:
            model = self._model_row(session, workspace_id, name)
            result = session.execute(
                delete(RegisteredModelAliasRow).where(
                    RegisteredModelAliasRow.model_row_id == model.id, RegisteredModelAliasRow.alias == alias
                )
            )
            return bool(getattr(result, "rowcount", 0))


# -- search, update and delete ------------------------------------------------------------------
# Models without the prompt tag must pass "tags.`mlflow.prompt.is_prompt` != 'true'", which the stock
# client appends to every search: an absent tag counts as not equal here, unlike other tag filters.
PROMPT_TAG = "mlflow.prompt.is_prompt"
MODEL_ORDER = {
    "name": RegisteredModelRow.name,
    "timestamp": RegisteredModelRow.last_updated_timestamp,
    "last_updated_timestamp": RegisteredModelRow.last_updated_timestamp,
    "creation_timestamp": RegisteredModelRow.creation_timestamp,
}
VERSION_ORDER = {
    "name": RegisteredModelRow.name,
    "version_number": ModelVersionRow.version,
    "creation_timestamp": ModelVersionRow.creation_timestamp,
    "last_updated_timestamp": ModelVersionRow.last_updated_timestamp,
}


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message, field="filter", code="INVALID_PARAMETER_VALUE")


def _tag_condition(clause: Clause, tag_table: Any, owner: list[tuple[Any, Any]]) -> ColumnElement[bool]:
    other: Any = aliased(tag_table)
    links = [getattr(other, column) == value for column, value in owner]
    if clause.key == PROMPT_TAG and clause.comparator == "!=":
        return ~exists().where(and_(*links, other.key == clause.key, other.value == clause.value))
    return exists().where(
        and_(*links, other.key == clause.key, compare_text(other.value, clause.comparator, clause.value))
    )


def _model_condition(clause: Clause) -> ColumnElement[bool]:
    if clause.kind == "attribute" and clause.key == "name":
        return compare_text(RegisteredModelRow.name, clause.comparator, clause.value)
    if clause.kind == "tag":
        return _tag_condition(clause, RegisteredModelTagRow, [("model_row_id", RegisteredModelRow.id)])
    raise _bad(f"registered models are searched by name or tags, not {clause.key!r}")


def _version_condition(clause: Clause) -> ColumnElement[bool]:
    if clause.kind == "attribute":
        if clause.key == "name":
            return compare_text(RegisteredModelRow.name, clause.comparator, clause.value)
        if clause.key == "run_id":
            return compare_text(ModelVersionRow.run_id, clause.comparator, clause.value)
        if clause.key == "source_path":
            return compare_text(ModelVersionRow.source, clause.comparator, clause.value)
        if clause.key == "version_number":
            return compare_number(ModelVersionRow.version, clause.comparator, clause.value)
    if clause.kind == "tag":
        return _tag_condition(
            clause,
            ModelVersionTagRow,
            [("model_row_id", ModelVersionRow.model_row_id), ("version", ModelVersionRow.version)],
        )
    raise _bad(
        "model versions are searched by name, run_id, source_path, version_number or tags, "
        f"not {clause.key!r}"
    )


class SqlRegistryStore(_RegistryCore):
    """The whole registry store: creation and lookups above, search, update and delete here."""

    def storage_locations(self, workspace_id: str) -> list[str]:
        with self._tx() as session:
            return list(
                session.scalars(
                    select(ModelVersionRow.storage_location)
                    .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_row_id)
                    .where(RegisteredModelRow.workspace_id == workspace_id)
                    .distinct()
                )
            )

    def search_models(
        self,
        workspace_id: str,
        *,
        clauses: Sequence[Any],
        order_by: Sequence[tuple[str, bool]],
        limit: int,
        offset: int,
    ) -> list[RegisteredModelRecord]:
        query = select(RegisteredModelRow).where(RegisteredModelRow.workspace_id == workspace_id)
        for clause in clauses:
            query = query.where(_model_condition(clause))
        ordering: list[Any] = [MODEL_ORDER[c].asc() if up else MODEL_ORDER[c].desc() for c, up in order_by]
        query = query.order_by(*ordering, RegisteredModelRow.name.asc()).offset(offset).limit(limit)
        with self._tx() as session:
            return [self._model(session, row) for row in session.scalars(query)]

    def update_model(
        self, workspace_id: str, name: str, *, description: str | None = None, new_name: str | None = None
    ) -> RegisteredModelRecord:
        try:
            with self._tx() as session:
                row = self._model_row(session, workspace_id, name)
                if description is not None:
                    row.description = description
                if new_name is not None:
                    row.name = new_name
                row.last_updated_timestamp = now_ms()
                session.flush()
                return self._model(session, row)
        except IntegrityError:
            raise ConflictError(
                f"registered model {new_name!r} already exists",
                field="new_name",
                code="RESOURCE_ALREADY_EXISTS",
            ) from None

    def delete_model(self, workspace_id: str, name: str) -> None:
        with self._tx() as session:
            row = self._model_row(session, workspace_id, name)
            # Children first, explicitly: composite foreign keys make cascades easy to get wrong.
            for table in (
                RegisteredModelAliasRow,
                ModelVersionTagRow,
                ModelVersionRow,
                RegisteredModelTagRow,
            ):
                session.execute(delete(table).where(table.model_row_id == row.id))
            session.delete(row)

    def set_tag(
        self, workspace_id: str, name: str, key: str, value: str, *, version: int | None = None
    ) -> None:
        with self._tx() as session:
            model = self._model_row(session, workspace_id, name)
            if version is None:
                model_tag = {"model_row_id": model.id, "key": key, "value": value}
                upsert(session, RegisteredModelTagRow, [model_tag], ("model_row_id", "key"))
                return
            self._version_row(session, model, version)
            version_tag = {"model_row_id": model.id, "version": version, "key": key, "value": value}
            upsert(session, ModelVersionTagRow, [version_tag], ("model_row_id", "version", "key"))

    def delete_tag(self, workspace_id: str, name: str, key: str, *, version: int | None = None) -> bool:
        with self._tx() as session:
            model = self._model_row(session, workspace_id, name)
            if version is None:
                query: Any = delete(RegisteredModelTagRow).where(
                    RegisteredModelTagRow.model_row_id == model.id, RegisteredModelTagRow.key == key
                )
            else:
                self._version_row(session, model, version)
                query = delete(ModelVersionTagRow).where(
                    ModelVersionTagRow.model_row_id == model.id,
                    ModelVersionTagRow.version == version,
                    ModelVersionTagRow.key == key,
                )
            return bool(getattr(session.execute(query), "rowcount", 0))

    @staticmethod
    def _version_row(session: Session, model: RegisteredModelRow, version: int) -> ModelVersionRow:
        row = session.get(ModelVersionRow, (model.id, version))
        if row is None:
            raise NotFoundError(
                f"model {model.name!r} has no version {version}",
                field="version",
                code="RESOURCE_DOES_NOT_EXIST",
            )
        return row

    def search_versions(
        self,
        workspace_id: str,
        *,
        clauses: Sequence[Any],
        order_by: Sequence[tuple[str, bool]],
        limit: int,
        offset: int,
    ) -> list[ModelVersionRecord]:
        query = (
            select(ModelVersionRow, RegisteredModelRow)
            .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_row_id)
            .where(RegisteredModelRow.workspace_id == workspace_id)
        )
        for clause in clauses:
            query = query.where(_version_condition(clause))
        ordering: list[Any] = [
            VERSION_ORDER[c].asc() if up else VERSION_ORDER[c].desc() for c, up in order_by
        ]
        query = query.order_by(*ordering, RegisteredModelRow.name.asc(), ModelVersionRow.version.desc())
        with self._tx() as session:
            rows = session.execute(query.offset(offset).limit(limit)).all()
            return [self._version(session, model, row) for row, model in rows]

    def update_version(
        self, workspace_id: str, name: str, version: int, *, description: str | None
    ) -> ModelVersionRecord:
        with self._tx() as session:
            model = self._model_row(session, workspace_id, name)
            row = self._version_row(session, model, version)
            if description is not None:
                row.description = description
            row.last_updated_timestamp = now_ms()
            session.flush()
            return self._version(session, model, row)

    def delete_version(self, workspace_id: str, name: str, version: int) -> None:
        with self._tx() as session:
            model = self._model_row(session, workspace_id, name)
            self._version_row(session, model, version)
            session.execute(
                delete(RegisteredModelAliasRow).where(
                    RegisteredModelAliasRow.model_row_id == model.id,
                    RegisteredModelAliasRow.version == version,
                )
            )
            session.execute(
                delete(ModelVersionTagRow).where(
                    ModelVersionTagRow.model_row_id == model.id, ModelVersionTagRow.version == version
                )
            )
            session.execute(
                delete(ModelVersionRow).where(
                    ModelVersionRow.model_row_id == model.id, ModelVersionRow.version == version
                )
            )
