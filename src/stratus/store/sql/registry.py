"""SQL implementation of the MLflow model registry."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus.errors import ConflictError, NotFoundError
from stratus.store import base
from stratus.store.sql.store import SqlDomain
from stratus.store.sql.tables import (
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelAliasRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
)
from stratus.tracking import now_ms

_VERSION_RETRIES = 8


def _missing_model(name: str) -> NotFoundError:
    return NotFoundError(f"registered model {name!r} not found", field="name", code="RESOURCE_DOES_NOT_EXIST")


class SqlRegistryStore(SqlDomain, base.RegistryStore):
    @staticmethod
    def _model_row(session: Session, workspace_id: str, name: str) -> RegisteredModelRow:
        row = session.scalar(
            select(RegisteredModelRow).where(
                RegisteredModelRow.workspace_id == workspace_id, RegisteredModelRow.name == name
            )
        )
        if row is None:
            raise _missing_model(name)
        return row

    @staticmethod
    def _model(session: Session, row: RegisteredModelRow) -> base.RegisteredModelRecord:
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
        return base.RegisteredModelRecord(
            name=row.name,
            description=row.description,
            creation_timestamp=int(row.creation_timestamp),
            last_updated_timestamp=int(row.last_updated_timestamp),
            tags={str(k): str(v) for k, v in tags},
            aliases={str(a): int(v) for a, v in aliases},
            latest_version=None if latest is None else int(latest),
        )

    @staticmethod
    def _version(
        session: Session, model: RegisteredModelRow, row: ModelVersionRow
    ) -> base.ModelVersionRecord:
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
        return base.ModelVersionRecord(
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
    ) -> base.RegisteredModelRecord:
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

    def get_model(self, workspace_id: str, name: str) -> base.RegisteredModelRecord | None:
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
    ) -> base.ModelVersionRecord:
        for _ in range(_VERSION_RETRIES):
            try:
                with self._tx() as session:
                    model = self._model_row(session, workspace_id, name)
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
        raise ConflictError("could not allocate a model version under contention; retry", field="name")

    def get_version(self, workspace_id: str, name: str, version: int) -> base.ModelVersionRecord | None:
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
