"""Azure's native multipart commits, seen in Azurite's state: parts are uncommitted blocks of the
destination blob, and the commit is one block list of exactly those blocks, in part order."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from plugins.services import AzuriteService
from stratus.artifacts import (
    ArtifactStore,
    FsspecArtifactStore,
    MultipartPartsError,
    composite_digest,
    open_artifact_store,
)
from stratus.artifacts.azure_blocks import AzureBlockMultipart, block_id

pytestmark = pytest.mark.azurite

MIB = 1 << 20


@pytest.fixture
def store(azurite: AzuriteService, azure_container: str) -> FsspecArtifactStore:
    opened = open_artifact_store(f"az://{azure_container}/ws", storage_options=azurite.storage_options)
    assert isinstance(opened, FsspecArtifactStore)
    # Blocks of 1 MiB, so that a part of a few MiB is several blocks.
    return FsspecArtifactStore(
        opened.fs, opened.root, protocol="az", block_size=MIB, multipart=AzureBlockMultipart
    )


@pytest.fixture
def blob(azurite: AzuriteService, azure_container: str) -> Iterator[Any]:
    """``blob(name)``: a synchronous client of a blob in the container."""
    with azurite._client() as service:
        yield lambda name: service.get_blob_client(azure_container, name)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blocks(client: Any) -> tuple[list[str], list[str]]:
    committed, uncommitted = client.get_block_list("all")
    return [b.id for b in committed], [b.id for b in uncommitted]


def test_parts_are_committed_as_one_block_list(store: ArtifactStore, blob: Any) -> None:
    parts = [os.urandom(2 * MIB + 5), os.urandom(MIB), os.urandom(10)]
    state = store.begin_multipart("run/model.bin", "up")
    for number in (2, 3, 1):
        store.put_part("run/model.bin", "up", state, number, parts[number - 1], last=number == 3)
    client = blob("ws/run/model.bin")
    committed, uncommitted = _blocks(client)
    assert committed == [] and len(uncommitted) == 5  # 3 + 1 + 1 blocks of at most 1 MiB, none visible
    assert not store.exists("run/model.bin")

    info = store.commit_parts("run/model.bin", "up", state, [(n, _sha(p)) for n, p in enumerate(parts, 1)])

    assert (info.size, info.sha256) == (sum(map(len, parts)), composite_digest(_sha(p) for p in parts))
    committed, uncommitted = _blocks(client)
    assert uncommitted == []
    # The blob is the blocks the parts were uploaded as (ids from upload id, part, attempt, index), in
    # part order: committed where they lie, not written again through the server.
    tag = block_id("up", 1, "00000000", 0)[:16]
    assert all(len(b) == 32 and b.startswith(tag) for b in committed)
    assert [int(b[16:20], 16) for b in committed] == [1, 1, 1, 2, 3]
    assert [int(b[28:], 16) for b in committed] == [0, 1, 2, 0, 0]
    assert store.read_bytes("run/model.bin") == b"".join(parts)


def test_a_commit_by_another_writer_discards_the_parts(store: ArtifactStore, blob: Any) -> None:
    parts = [os.urandom(MIB), b"tail"]
    listed = [(n, _sha(p)) for n, p in enumerate(parts, 1)]
    state = store.begin_multipart("f.bin", "up")
    for number, data in enumerate(parts, 1):
        store.put_part("f.bin", "up", state, number, data, last=number == 2)
    meanwhile = os.urandom(2 * MIB)
    store.write("f.bin", meanwhile)  # streamed: a block list commit, which drops uncommitted blocks

    with pytest.raises(MultipartPartsError) as refused:
        store.commit_parts("f.bin", "up", state, listed)
    assert refused.value.reupload == (1, 2) and "discarded" in refused.value.reason
    assert store.read_bytes("f.bin") == meanwhile

    for number, data in enumerate(parts, 1):  # uploaded again: new blocks, new receipts
        store.put_part("f.bin", "up", state, number, data, last=number == 2)
    store.commit_parts("f.bin", "up", state, listed)
    assert store.read_bytes("f.bin") == b"".join(parts)


def test_abort_leaves_blocks_that_nothing_shows(store: ArtifactStore, blob: Any) -> None:
    """Azure cannot delete uncommitted blocks (it drops them after 7 days, or at the blob's next
    commit): an abort leaves them, invisible, and a later write of the blob is unaffected."""
    state = store.begin_multipart("gone.bin", "up")
    store.put_part("gone.bin", "up", state, 1, os.urandom(MIB), last=True)
    store.abort_multipart("gone.bin", "up", state)
    store.delete_staged("up")
    assert not store.exists("gone.bin") and store.list("", recursive=True) == []
    assert len(_blocks(blob("ws/gone.bin"))[1]) == 1
    assert store.sweep_interrupted_writes(2**40) == 0  # nothing Stratus could remove
    new = os.urandom(2 * MIB)
    store.write("gone.bin", new)  # a block list commit of the blob drops them
    assert store.read_bytes("gone.bin") == new
    assert _blocks(blob("ws/gone.bin"))[1] == []
