"""The multipart upload service on a real (local) store: destinations, stale uploads, the index record."""

from __future__ import annotations

import hashlib

import pytest

from stratus.errors import BadRequestError, NotFoundError
from stratus.server.services.multipart import UPLOAD_TTL_SECONDS, MultipartUploads, destination
from stratus.server.state import ServerState
from stratus.store.access import WorkspaceRecord


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
