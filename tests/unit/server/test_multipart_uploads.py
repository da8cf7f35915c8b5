"""The multipart upload service on real stores: destinations, stale uploads, the index record, and on
every backend what complete, abort and the sweep leave in the store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.services import AzuriteService, MotoS3Service
from stratus.artifacts import composite_digest
from stratus.config import Settings
from stratus.errors import BadRequestError, NotFoundError
from stratus.server.services.multipart import UPLOAD_TTL_SECONDS, MultipartUploads, destination
from stratus.server.state import ServerState, bootstrap
from stratus.store.access import WorkspaceRecord

MIB = 1 << 20


@pytest.fixture
def workspace(server_state: ServerState) -> WorkspaceRecord:
    record = server_state.store.workspaces.get("default")
    assert record is not None
    return record


def test_destination_is_the_folder_and_the_files_last_name() -> None:
    assert destination("1/run/artifacts", "/home/me/model.bin") == "1/run/artifacts/model.bin"
    assert destination("1/run/artifacts", "C:\\Users\\me\\model.bin") == "1/run/artifacts/model.bin"
    assert destination("", "model.bin") == "model.bin"
    assert destination("a//b/", "m") == "a/b/m"
    for folder, name in (("a", ""), ("a", "dir/"), ("../x", "m"), ("a", "~m"), ("a", "..")):
        with pytest.raises(BadRequestError):
            destination(folder, name)


def test_stale_uploads_are_swept(server_state: ServerState, workspace: WorkspaceRecord) -> None:
    now = [1_700_000_000.0]
    uploads = MultipartUploads(server_state.artifact_objects, server_state.master_key, clock=lambda: now[0])
    objects = server_state.artifact_objects.objects(workspace)
    old = uploads.create(workspace, "f", "a.bin", 1, created_by="admin")
    uploads.write_part(workspace, old.credentials[0].grant, b"abandoned", max_bytes=None)
    now[0] += UPLOAD_TTL_SECONDS - 10
    fresh = uploads.create(workspace, "f", "b.bin", 1, created_by="admin")  # sweeps, but old is not stale yet
    assert objects.staged_uploads() == sorted([old.upload_id, fresh.upload_id])
    now[0] += 20
    assert uploads.sweep(workspace) == 1
    assert objects.staged_uploads() == [fresh.upload_id]
    with pytest.raises(NotFoundError):
        uploads.complete(
            workspace, "f", "a.bin", old.upload_id, [(1, hashlib.sha256(b"x").hexdigest())], max_bytes=None
        )


def test_complete_records_size_and_hash(server_state: ServerState, workspace: WorkspaceRecord) -> None:
    uploads = MultipartUploads(server_state.artifact_objects, server_state.master_key)
    created = uploads.create(workspace, "f", "c.bin", 2, created_by="admin")
    etags = [
        uploads.write_part(workspace, credential.grant, data, max_bytes=None)
        for credential, data in zip(created.credentials, (b"one-", b"two"), strict=True)
    ]
    uploads.complete(workspace, "f", "c.bin", created.upload_id, list(enumerate(etags, 1)), max_bytes=None)
    record = server_state.artifact_objects.record(workspace, "f/c.bin")
    assert (record.size, record.sha256) == (7, hashlib.sha256(b"one-two").hexdigest())
    assert server_state.artifact_objects.verify(workspace, "f/c.bin").ok
    objects = server_state.artifact_objects.objects(workspace)
    assert [e.path for e in objects.list_staged(created.upload_id)] == ["manifest.json"]


def test_limits_apply_to_parts_and_to_the_whole(
    server_state: ServerState, workspace: WorkspaceRecord
) -> None:
    from stratus.errors import PayloadTooLargeError

    uploads = MultipartUploads(server_state.artifact_objects, server_state.master_key)
    created = uploads.create(workspace, "f", "d.bin", 2, created_by="admin")
    grants = [c.grant for c in created.credentials]
    with pytest.raises(PayloadTooLargeError):
        uploads.write_part(workspace, grants[0], b"x" * 11, max_bytes=10)
    etags = [uploads.write_part(workspace, g, b"x" * 10, max_bytes=10) for g in grants]
    with pytest.raises(PayloadTooLargeError):
        uploads.complete(workspace, "f", "d.bin", created.upload_id, list(enumerate(etags, 1)), max_bytes=15)
    assert not server_state.artifact_objects.objects(workspace).exists("f/d.bin")


# -- on every backend -------------------------------------------------------------------------------


@pytest.fixture(
    params=["file", pytest.param("az", marks=pytest.mark.azurite), pytest.param("s3", marks=pytest.mark.s3)]
)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, ServerState]]:
    uri = None
    if request.param == "az":
        azurite: AzuriteService = request.getfixturevalue("azurite")
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
        uri = f"az://{request.getfixturevalue('azure_container')}/stratus"
    elif request.param == "s3":
        moto: MotoS3Service = request.getfixturevalue("moto_s3")
        for name, value in moto.env.items():
            monkeypatch.setenv(name, value)
        uri = f"s3://{request.getfixturevalue('s3_bucket')}/stratus"
    state = bootstrap(Settings(home=tmp_path / "home", artifact_uri=uri))
    yield request.param, state
    state.close()


def _s3_uploads(request: pytest.FixtureRequest) -> list[str]:
    moto: MotoS3Service = request.getfixturevalue("moto_s3")
    client = moto._client()
    try:
        found = client.list_multipart_uploads(Bucket=request.getfixturevalue("s3_bucket"))
    finally:
        client.close()
    return [u["Key"] for u in found.get("Uploads", [])]


def test_complete_commits_in_the_store_and_records_what_it_can(backend: tuple[str, ServerState]) -> None:
    name, state = backend
    workspace = state.store.workspaces.get("default")
    assert workspace is not None
    uploads = MultipartUploads(state.artifact_objects, state.master_key)
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1000)]
    created = uploads.create(workspace, "f", "m.bin", 3, created_by="admin")
    etags = [
        uploads.write_part(workspace, c.grant, p, max_bytes=None)
        for c, p in zip(created.credentials, parts, strict=True)
    ]
    listed = list(enumerate(etags, 1))
    uploads.complete(workspace, "f", "m.bin", created.upload_id, listed, max_bytes=None)

    record = state.artifact_objects.record(workspace, "f/m.bin")
    whole = hashlib.sha256(b"".join(parts)).hexdigest()
    # Local files compose on the server (a local copy) and know the sha256; Azure and S3 join the parts
    # themselves, and the record says so with the parts' composite digest.
    expected = whole if name == "file" else composite_digest(etags)
    assert (record.size, record.sha256) == (sum(map(len, parts)), expected)
    check = state.artifact_objects.verify(workspace, "f/m.bin")
    assert check.ok and check.content_checked == (name == "file")
    objects = state.artifact_objects.objects(workspace)
    assert [e.path for e in objects.list_staged(created.upload_id)] == ["manifest.json"]
    uploads.complete(workspace, "f", "m.bin", created.upload_id, listed, max_bytes=None)  # retried: fine
    assert objects.read_bytes("f/m.bin") == b"".join(parts)


def test_abort_and_the_sweep_end_the_uploads_in_the_store(
    backend: tuple[str, ServerState], request: pytest.FixtureRequest
) -> None:
    name, state = backend
    workspace = state.store.workspaces.get("default")
    assert workspace is not None
    now = [1_700_000_000.0]
    uploads = MultipartUploads(state.artifact_objects, state.master_key, clock=lambda: now[0])
    objects = state.artifact_objects.objects(workspace)
    aborted = uploads.create(workspace, "f", "a.bin", 2, created_by="admin")
    uploads.write_part(workspace, aborted.credentials[0].grant, os.urandom(5 * MIB), max_bytes=None)
    stale = uploads.create(workspace, "f", "s.bin", 2, created_by="admin")
    uploads.write_part(workspace, stale.credentials[0].grant, os.urandom(5 * MIB), max_bytes=None)
    if name == "s3":
        assert sorted(_s3_uploads(request)) == ["stratus/default/f/a.bin", "stratus/default/f/s.bin"]

    uploads.abort(workspace, "f", "a.bin", aborted.upload_id)
    now[0] += UPLOAD_TTL_SECONDS + 1
    assert uploads.sweep(workspace) == 1

    assert objects.staged_uploads() == []
    assert objects.list("", recursive=True) == []
    if name == "s3":
        assert _s3_uploads(request) == []
