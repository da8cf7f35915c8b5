"""The key vault rows, datastores and versioned assets behave the same on every backend (sqlite and
postgresql), including under racing writers."""

from __future__ import annotations

import threading

import pytest

from stratus.errors import ConflictError, NotFoundError
from stratus.store.sql import SqlMetadataStore, open_store


@pytest.fixture
def store(database_url: str):
    s = open_store(database_url)
    yield s
    s.close()


@pytest.fixture
def ws(store: SqlMetadataStore):
    return store.workspaces.create("assets-ws")


def test_secret_rows_and_first_data_key_wins(store: SqlMetadataStore, ws) -> None:
    assert store.secrets.data_key(ws.id) is None
    assert store.secrets.put_data_key(ws.id, "first") == "first"
    assert store.secrets.put_data_key(ws.id, "second") == "first"
    created = store.secrets.put(ws.id, "TOKEN", "v1:aaa", owner=None, actor="alice")
    replaced = store.secrets.put(ws.id, "TOKEN", "v1:bbb", owner=None, actor="bob")
    assert (replaced.ciphertext, replaced.created_by, replaced.updated_by) == ("v1:bbb", "alice", "bob")
    assert replaced.created_at == created.created_at
    store.secrets.put(ws.id, "~datastore/d", "v1:ccc", owner="datastore:d", actor=None)
    longest = "~datastore/" + "n" * 255  # datastore names go up to 255 characters
    assert (
        store.secrets.put(ws.id, longest, "v1:ddd", owner="datastore:" + "n" * 255, actor=None).name
        == longest
    )
    assert [s.name for s in store.secrets.list(ws.id)] == ["TOKEN"]
    assert [s.name for s in store.secrets.list(ws.id, owner="datastore:d")] == ["~datastore/d"]
    assert store.secrets.delete(ws.id, "TOKEN") and not store.secrets.delete(ws.id, "TOKEN")
    store.workspaces.delete("assets-ws")
    assert store.secrets.data_key(ws.id) is None and store.secrets.get(ws.id, "~datastore/d") is None


def test_datastores_upsert_and_keep_their_type(store: SqlMetadataStore, ws) -> None:
    first = store.datastores.put(
        ws.id,
        "blob",
        type="azure_blob",
        description=None,
        tags={},
        config={"account_name": "a"},
        credentials_type="account_key",
        actor="alice",
    )
    second = store.datastores.put(
        ws.id,
        "blob",
        type="azure_blob",
        description="d",
        tags={"k": "v"},
        config={"account_name": "b"},
        credentials_type="none",
        actor="bob",
    )
    assert second.id == first.id and second.config == {"account_name": "b"} and second.created_by == "alice"
    with pytest.raises(ConflictError):
        store.datastores.put(
            ws.id,
            "blob",
            type="s3",
            description=None,
            tags={},
            config={},
            credentials_type="none",
            actor=None,
        )
    assert store.datastores.get(ws.id, "blob").type == "azure_blob"
    assert [d.name for d in store.datastores.list(ws.id)] == ["blob"]
    assert store.datastores.delete(ws.id, "blob") and store.datastores.get(ws.id, "blob") is None


def create(store: SqlMetadataStore, ws, name: str, version: str | None = None, kind: str = "data"):
    return store.assets.create_version(
        ws.id,
        kind,
        name,
        version,
        spec={"path": name},
        details={},
        description=None,
        tags={},
        properties={},
        actor="alice",
    )


def test_versions_latest_archive_and_lineage(store: SqlMetadataStore, ws) -> None:
    assert [create(store, ws, "d").version for _ in range(2)] == ["1", "2"]
    assert create(store, ws, "d", "2024-01").version == "2024-01"
    assert create(store, ws, "d").version == "3"  # only integers count for the next number
    with pytest.raises(ConflictError):
        create(store, ws, "d", "2")
    create(store, ws, "d", kind="environment")  # kinds are separate namespaces
    assert store.assets.latest(ws.id, "data", "d").version == "3"
    assert store.assets.set_archived(ws.id, "data", "d", "3", True, actor=None) == 1
    assert store.assets.latest(ws.id, "data", "d").version == "2024-01"
    assert [v.version for v in store.assets.list_versions(ws.id, "data", "d")] == ["2024-01", "2", "1"]
    create(store, ws, "e")
    assert [(v.name, v.version) for v in store.assets.list_latest(ws.id, "data")] == [
        ("d", "2024-01"),
        ("e", "1"),
    ]
    assert store.assets.set_archived(ws.id, "data", "d", None, True, actor=None) == 4
    assert [v.name for v in store.assets.list_latest(ws.id, "data")] == ["e"]
    assert [v.version for v in store.assets.list_latest(ws.id, "data", include_archived=True)] == ["3", "1"]
    updated = store.assets.update_version(
        ws.id, "data", "e", "1", description="new", tags={"a": "b"}, details={"size": 3}, actor="bob"
    )
    assert (updated.description, updated.tags, updated.details, updated.spec) == (
        "new",
        {"a": "b"},
        {"size": 3},
        {"path": "e"},
    )
    with pytest.raises(NotFoundError):
        store.assets.update_version(ws.id, "data", "e", "9", actor=None)
    store.assets.add_lineage(updated.id, "job-1", "input")
    store.assets.add_lineage(updated.id, "job-1", "input")
    store.assets.add_lineage(updated.id, "job-2", "output")
    assert [(link.job_name, link.direction) for link in store.assets.lineage(updated.id)] == [
        ("job-1", "input"),
        ("job-2", "output"),
    ]


def test_racing_creates_get_distinct_numbers(store: SqlMetadataStore, ws) -> None:
    versions: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                versions.append(create(store, ws, "raced").version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(versions, key=int) == [str(n) for n in range(1, 13)]


def test_first_recorded_lock_is_kept(store: SqlMetadataStore) -> None:
    kept = store.assets.record_lock("a" * 64, "3.11.7", "six==1.16.0")
    again = store.assets.record_lock("a" * 64, "3.11.9", "six==1.17.0")
    assert again == kept and store.assets.get_lock("a" * 64).lock_text == "six==1.16.0"
    assert store.assets.get_lock("b" * 64) is None
