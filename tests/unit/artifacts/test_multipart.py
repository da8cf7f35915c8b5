"""The multipart capability's own pieces: digests, metering, and the store's checks before any backend."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stratus.artifacts import (
    ArtifactTooLargeError,
    LocalArtifactStore,
    MultipartPartsError,
    composite_digest,
    is_content_sha256,
)
from stratus.artifacts.multipart import COMPOSITE_PREFIX, MeteredChunks


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_composite_digest_is_marked_and_never_a_content_hash() -> None:
    parts = [b"one", b"two"]
    digest = composite_digest(_sha(p) for p in parts)
    raw = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).hexdigest()
    assert digest == COMPOSITE_PREFIX + raw[:58]
    assert len(digest) == 64  # what the artifact index keeps
    assert not is_content_sha256(digest)
    assert is_content_sha256(_sha(b"onetwo"))
    assert digest != composite_digest(_sha(p) for p in reversed(parts))  # the order counts
    assert digest != composite_digest([_sha(b"onetwo")])  # and so does the split
    for other in ("", "A" * 64, _sha(b"") + "0", "g" * 64):
        assert not is_content_sha256(other)


def test_metered_chunks_count_hash_and_limit() -> None:
    chunks = MeteredChunks("k", iter([b"ab", b"", b"cd"]), max_bytes=4)
    assert b"".join(chunks) == b"abcd"
    assert (chunks.finished, chunks.size, chunks.sha256) == (True, 4, _sha(b"abcd"))
    over = MeteredChunks("k", iter([b"abc", b"de"]), max_bytes=4)
    assert next(over) == b"abc"
    with pytest.raises(ArtifactTooLargeError):
        next(over)
    assert not over.finished
    with pytest.raises(ValueError, match="max_bytes"):
        MeteredChunks("k", iter([]), max_bytes=-1)


def test_staged_parts_on_local_files(tmp_path: Path) -> None:
    """Local files keep the staged default: the commit composes, so the record gets a real sha256."""
    store = LocalArtifactStore(tmp_path / "store")
    state = store.begin_multipart("a/f.bin", "up")
    assert state == {"mode": "staged"}
    for number, data in ((1, b"one-"), (2, b"two")):
        store.put_part("a/f.bin", "up", state, number, data, last=number == 2)
    info = store.commit_parts("a/f.bin", "up", state, [(1, _sha(b"one-")), (2, _sha(b"two"))])
    assert info.sha256 == _sha(b"one-two")
    # Manifests written before native commits existed have no state: they continue staged.
    assert store.commit_parts("a/f.bin", "up", {}, [(1, _sha(b"one-")), (2, _sha(b"two"))]) == info


def test_the_store_checks_before_the_backend(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    state = store.begin_multipart("f", "up")
    store.put_part("f", "up", state, 1, b"x", last=True)
    for parts in ([(1, "not-a-sha")], [(1, _sha(b"x").upper())]):
        with pytest.raises(ValueError, match="not a lowercase hex sha256"):
            store.commit_parts("f", "up", state, parts)
    with pytest.raises(ValueError, match="each part once"):
        store.commit_parts("f", "up", state, [(1, _sha(b"x")), (1, _sha(b"x"))])
    with pytest.raises(ValueError, match="mode 's3'"):  # a state from another kind of store
        store.put_part("f", "up", {"mode": "s3", "upload_id": "x"}, 1, b"x", last=True)
    with pytest.raises(MultipartPartsError) as missing:
        store.commit_parts("f", "up", state, [(1, _sha(b"x")), (2, _sha(b"y"))])
    assert missing.value.missing == (2,) and "missing [2]" in str(missing.value)
    assert not store.exists("f")
