"""The same behaviour from every artifact store backend: file, az (Azurite) and s3 (moto server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.services import AzuriteService, MotoS3Service, open_backend_store
from stratus.artifacts import ArtifactStore, FsspecArtifactStore, LocalArtifactStore, open_artifact_store
from stratus.testing.artifact_store import ARTIFACT_STORE_CHECKS, Check, check_artifact_store

BACKENDS = [
    "file",
    pytest.param("az", marks=pytest.mark.azurite),
    pytest.param("s3", marks=pytest.mark.s3),
]


_open = open_backend_store


@pytest.fixture(params=BACKENDS)
def artifact_store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    """An empty store below a prefix, as STRATUS_ARTIFACT_URI would name one."""
    return _open(request.param, request, tmp_path, "stratus/workspaces")


@pytest.fixture(params=BACKENDS)
def root_store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    """An empty store at the very root of its container or bucket."""
    return _open(request.param, request, tmp_path, "")


@pytest.mark.parametrize("check", list(ARTIFACT_STORE_CHECKS.values()), ids=list(ARTIFACT_STORE_CHECKS))
def test_conformance(artifact_store: ArtifactStore, check: Check) -> None:
    check(artifact_store)


def test_kit_at_container_root(root_store: ArtifactStore) -> None:
    """The whole kit, each check in a sub-store of a store rooted at the container or bucket itself."""
    check_artifact_store(root_store, skip=frozenset({"large_streamed_write"}))
    assert root_store.list("", recursive=True) == []


def test_backend_types_and_uris(artifact_store: ArtifactStore, tmp_path: Path) -> None:
    scheme = artifact_store.uri.split("://", 1)[0]
    if scheme == "file":
        assert isinstance(artifact_store, LocalArtifactStore)
        assert (
            artifact_store.uri == "file://" + (tmp_path / "artifacts/stratus/workspaces").resolve().as_posix()
        )
    else:
        assert type(artifact_store) is FsspecArtifactStore
        assert scheme in ("az", "s3")
        assert artifact_store.uri.endswith("/stratus/workspaces")


@pytest.mark.azurite
def test_azure_from_environment(
    azurite: AzuriteService, azure_container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    for scheme in ("az", "abfs"):
        store = open_artifact_store(f"{scheme}://{azure_container}/env")
        store.write(f"{scheme}.txt", scheme.encode())
        assert store.uri == f"{scheme}://{azure_container}/env"
    store = open_artifact_store(f"az://{azure_container}")
    assert [e.path for e in store.list("env")] == ["env/abfs.txt", "env/az.txt"]


@pytest.mark.s3
def test_s3_from_environment(moto_s3: MotoS3Service, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in moto_s3.env.items():
        monkeypatch.setenv(name, value)
    store = open_artifact_store(f"s3://{s3_bucket}/env")
    assert store.write("x.txt", b"x").size == 1
    assert open_artifact_store(f"s3://{s3_bucket}").read_bytes("env/x.txt") == b"x"


@pytest.mark.s3
def test_s3_failed_multipart_upload_is_aborted(moto_s3: MotoS3Service, s3_bucket: str) -> None:
    """A failed large write leaves no visible object and no dangling multipart upload."""
    store = open_artifact_store(f"s3://{s3_bucket}/mpu", storage_options=moto_s3.storage_options)

    def failing() -> object:
        yield b"x" * (9 << 20)  # past one 8 MiB part, so a multipart upload is under way
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        store.write("big.bin", failing())  # type: ignore[arg-type]
    assert not store.exists("big.bin")
    client = moto_s3._client()
    try:
        assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    finally:
        client.close()


@pytest.mark.azurite
def test_azure_failed_write_commits_nothing(azurite: AzuriteService, azure_container: str) -> None:
    """Staged blocks of a failed write are never committed, so the blob does not exist at all."""
    store = open_artifact_store(f"az://{azure_container}/blocks", storage_options=azurite.storage_options)

    def failing() -> object:
        yield b"x" * (9 << 20)  # past one 8 MiB block, so blocks have been staged
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        store.write("big.bin", failing())  # type: ignore[arg-type]
    with azurite._client() as service:
        names = [b.name for b in service.get_container_client(azure_container).list_blobs()]
    assert names == []
