"""SQL implementation of the key vault's rows: wrapped data keys and encrypted secret values."""

from __future__ import annotations

from sqlalchemy import delete, select

from stratus.store.sql.common import SqlDomain, dialect_insert, utc_now
from stratus.store.sql.tables import SecretRow, WorkspaceDataKeyRow
from stratus.store.vault import SecretRecord, SecretStore


def _secret(row: SecretRow) -> SecretRecord:
    return SecretRecord(
        workspace_id=row.workspace_id,
        name=row.name,
        owner=row.owner,
        ciphertext=row.ciphertext,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class SqlSecretStore(SqlDomain, SecretStore):
    def data_key(self, workspace_id: str) -> str | None:
        with self._tx() as session:
            return session.scalar(
                select(WorkspaceDataKeyRow.wrapped_key).where(
                    WorkspaceDataKeyRow.workspace_id == workspace_id
                )
            )

    def put_data_key(self, workspace_id: str, wrapped: str) -> str:
        with self._tx() as session:
            # Two servers creating the first key at once: the database keeps one, both then use it.
            insert = dialect_insert(session, WorkspaceDataKeyRow).values(
                workspace_id=workspace_id, wrapped_key=wrapped, created_at=utc_now()
            )
            session.execute(insert.on_conflict_do_nothing(index_elements=["workspace_id"]))
            kept = session.scalar(
                select(WorkspaceDataKeyRow.wrapped_key).where(
                    WorkspaceDataKeyRow.workspace_id == workspace_id
                )
            )
        assert kept is not None
        return kept

    def put(
        self, workspace_id: str, name: str, ciphertext: str, *, owner: str | None, actor: str | None
    ) -> SecretRecord:
        now = utc_now()
        with self._tx() as session:
            insert = dialect_insert(session, SecretRow).values(
                workspace_id=workspace_id,
                name=name,
                owner=owner,
                ciphertext=ciphertext,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
            session.execute(
                insert.on_conflict_do_update(
                    index_elements=["workspace_id", "name"],
                    set_={"ciphertext": ciphertext, "owner": owner, "updated_at": now, "updated_by": actor},
                )
            )
            row = session.get(SecretRow, (workspace_id, name), populate_existing=True)
            assert row is not None
            return _secret(row)

    def get(self, workspace_id: str, name: str) -> SecretRecord | None:
        with self._tx() as session:
            row = session.get(SecretRow, (workspace_id, name))
            return _secret(row) if row else None

    def list(self, workspace_id: str, *, owner: str | None = None) -> list[SecretRecord]:
        query = select(SecretRow).where(SecretRow.workspace_id == workspace_id)
        query = query.where(SecretRow.owner.is_(None) if owner is None else SecretRow.owner == owner)
        with self._tx() as session:
            return [_secret(row) for row in session.scalars(query.order_by(SecretRow.name))]

    def delete(self, workspace_id: str, name: str) -> bool:
        with self._tx() as session:
            result = session.execute(
                delete(SecretRow).where(SecretRow.workspace_id == workspace_id, SecretRow.name == name)
            )
            return bool(getattr(result, "rowcount", 0))
