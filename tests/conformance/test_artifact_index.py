"""Every artifact object has a recorded size and sha256, on every artifact store and database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from plugins.services import open_backend_store
from stratus.artifacts import UnsafePathError
from stratus.errors import NotFoundError
from stratus.server.services.artifacts import ArtifactService
from stratus.store.sql import open_store


@pytest.fixture(
    params=[
        ("file", "sqlite"),
        pytest.param(("az", "sqlite"), marks=pytest.mark.azurite),
        pytest.param(("s3", "sqlite"), marks=pytest.mark.s3),
        pytest.param(("file", "postgresql"), marks=pytest.mark.postgres),
    ],
    ids=lambda p: "-".join(p),
)
def service(request: pytest.FixtureRequest, tmp_path: Path):
    backend, database = request.param
    url = (
        f"sqlite:///{tmp_path / 'db.sqlite'}"
        if database == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = open_store(url)
    yield ArtifactService(store, open_backend_store(backend, request, tmp_path, "ws"))
    store.close()


def test_writes_are_recorded_and_verified(service: ArtifactService) -> None:
    ws = service.store.workspaces.create("team")
    other = service.store.workspaces.create("other")
    payload = b"model bytes " * 50_000
    record = service.write(ws, "runs/r1/model.pkl", iter([payload[:1000], payload[1000:]]))
    assert (record.path, record.size, record.sha256) == (
        "runs/r1/model.pkl",
        len(payload),
        hashlib.sha256(payload).hexdigest(),
    )
    assert service.record(ws, "runs/r1/model.pkl") == record
    assert service.verify(ws, "runs/r1/model.pkl").ok
    with pytest.raises(NotFoundError):
        service.record(other, "runs/r1/model.pkl")
    # Changed behind the index's back: verification notices.
    service.objects(ws).write("runs/r1/model.pkl", b"tampered")
    check = service.verify(ws, "runs/r1/model.pkl")
    assert not check.ok and check.actual is not None and check.actual.size == 8
    service.delete(ws, "runs/r1/model.pkl")
    assert not service.verify(ws, "runs/r1/model.pkl").ok
    with pytest.raises(NotFoundError):
        service.record(ws, "runs/r1/model.pkl")


def test_tree_delete_and_unsafe_paths(service: ArtifactService) -> None:
    ws = service.store.workspaces.create("team")
    for name in ("a_b/1.txt", "a_b/2.txt", "axb/3.txt"):
        service.write(ws, name, name.encode())
    assert service.delete_tree(ws, "a_b") == 2
    assert [r.path for r in service.store.artifact_index.list(ws.id).items] == ["axb/3.txt"]
    for bad in ("../escape", "/abs", "a/%2e%2e/b", "a\\b"):
        with pytest.raises(UnsafePathError):
            service.write(ws, bad, b"x")
        with pytest.raises(UnsafePathError):
            service.verify(ws, bad)
