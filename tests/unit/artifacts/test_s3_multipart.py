"""S3's native multipart commits, seen in the S3 server's own state (moto): one multipart upload on
the destination key, completed from the parts as uploaded; parts below 5 MiB staged and composed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from plugins.services import MotoS3Service
from stratus.artifacts import (
    ArtifactStore,
    MultipartPartsError,
    composite_digest,
    open_artifact_store,
)

pytestmark = pytest.mark.s3

MIB = 1 << 20


@pytest.fixture
def store(moto_s3: MotoS3Service, s3_bucket: str) -> ArtifactStore:
    return open_artifact_store(f"s3://{s3_bucket}/ws", storage_options=moto_s3.storage_options)


@pytest.fixture
def s3(moto_s3: MotoS3Service) -> Iterator[Any]:
    client = moto_s3._client()
    yield client
    client.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _uploads(s3: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def _multipart_etag(parts: list[bytes]) -> str:
    """S3's ETag of an object completed from these parts: the MD5 of their MD5s, and their count."""
    md5s = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in parts)
    return f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(parts)}"'


def test_parts_are_committed_in_s3(store: ArtifactStore, s3: Any, s3_bucket: str) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(100_000)]
    state = store.begin_multipart("run/model.bin", "up")
    assert state["mode"] == "s3"
    assert _uploads(s3, s3_bucket) == ["ws/run/model.bin"]  # opened on the destination key
    for number in (3, 1, 2):
        store.put_part("run/model.bin", "up", state, number, parts[number - 1], last=number == 3)
    assert not store.exists("run/model.bin")

    info = store.commit_parts("run/model.bin", "up", state, [(n, _sha(p)) for n, p in enumerate(parts, 1)])

    assert (info.size, info.sha256) == (sum(map(len, parts)), composite_digest(_sha(p) for p in parts))
    head = s3.head_object(Bucket=s3_bucket, Key="ws/run/model.bin")
    # S3 made the object from exactly these three parts (a copy through the server would have been
    # written in the store's 8 MiB blocks): the last one, below 5 MiB, was copied in inside S3.
    assert head["ETag"] == _multipart_etag(parts)
    assert store.read_bytes("run/model.bin") == b"".join(parts)
    assert _uploads(s3, s3_bucket) == []


def test_small_parts_are_staged_and_composed(store: ArtifactStore, s3: Any, s3_bucket: str) -> None:
    """MLflow's client with a chunk size below 5 MiB: S3 cannot join such parts, the server does."""
    parts = [b"a" * MIB, b"b" * MIB, b"c" * 10]
    state = store.begin_multipart("f.bin", "up")
    for number, data in enumerate(parts, 1):
        store.put_part("f.bin", "up", state, number, data, last=number == 3)

    info = store.commit_parts("f.bin", "up", state, [(n, _sha(p)) for n, p in enumerate(parts, 1)])

    assert info.sha256 == _sha(b"".join(parts))  # composed on the server: the real sha256
    assert "-" not in s3.head_object(Bucket=s3_bucket, Key="ws/f.bin")["ETag"]  # one plain PutObject
    assert _uploads(s3, s3_bucket) == []  # the unused S3 upload was aborted


def test_a_large_part_stored_in_s3_before_a_small_one_must_come_again(
    store: ArtifactStore, s3: Any, s3_bucket: str
) -> None:
    """A client mixing sizes: part 1 went into the S3 upload, then part 2 (below 5 MiB, not the last)
    means the server must compose, which needs part 1 staged. The error names it; once it is uploaded
    again (now staged, since the upload has a small part), the commit works."""
    parts = [os.urandom(5 * MIB), b"small", os.urandom(5 * MIB)]
    listed = [(n, _sha(p)) for n, p in enumerate(parts, 1)]
    state = store.begin_multipart("mixed.bin", "up")
    for number, data in enumerate(parts, 1):
        store.put_part("mixed.bin", "up", state, number, data, last=number == 3)

    with pytest.raises(MultipartPartsError) as refused:
        store.commit_parts("mixed.bin", "up", state, listed)
    assert refused.value.reupload == (1,) and "5 MiB" in refused.value.reason
    assert not store.exists("mixed.bin")

    store.put_part("mixed.bin", "up", state, 1, parts[0], last=False)
    info = store.commit_parts("mixed.bin", "up", state, listed)
    assert info.sha256 == _sha(b"".join(parts))
    assert store.read_bytes("mixed.bin") == b"".join(parts)
    assert _uploads(s3, s3_bucket) == []


def test_abort_ends_the_s3_upload(store: ArtifactStore, s3: Any, s3_bucket: str) -> None:
    data = os.urandom(5 * MIB)
    state = store.begin_multipart("gone.bin", "up")
    store.put_part("gone.bin", "up", state, 1, data, last=True)
    store.abort_multipart("gone.bin", "up", state)
    assert _uploads(s3, s3_bucket) == []
    with pytest.raises(FileNotFoundError):  # the upload is gone, and nothing was ever committed
        store.commit_parts("gone.bin", "up", state, [(1, _sha(data))])
    assert not store.exists("gone.bin")


def test_sweep_aborts_unfinished_uploads_below_the_store(
    store: ArtifactStore, s3: Any, s3_bucket: str
) -> None:
    """What a killed streamed write leaves: an S3 multipart upload nobody completes. Only those below
    the store's prefix, started before the cutoff and not named as kept, are aborted."""
    for key in ("ws/killed.bin", "ws/deeper/killed.bin", "elsewhere/killed.bin"):
        s3.create_multipart_upload(Bucket=s3_bucket, Key=key)
    live = store.begin_multipart("live.bin", "up")
    before = datetime.now(UTC).timestamp() + 60  # moto reports every upload as started in 2010

    assert store.sweep_interrupted_writes(datetime(2000, 1, 1, tzinfo=UTC).timestamp()) == 0
    assert store.sweep_interrupted_writes(before, dry_run=True, keep=[live]) == 2
    assert len(_uploads(s3, s3_bucket)) == 4, "a dry run aborts nothing"
    assert store.sweep_interrupted_writes(before, keep=[live]) == 2
    assert sorted(_uploads(s3, s3_bucket)) == ["elsewhere/killed.bin", "ws/live.bin"]
    assert store.sub("deeper").sweep_interrupted_writes(before) == 0
