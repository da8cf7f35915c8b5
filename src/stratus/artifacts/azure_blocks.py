"""Multipart uploads committed natively on Azure Blob: parts are uncommitted blocks of the destination
blob, and the commit is one Put Block List in part order.

A part streams into blocks of the store's block size (one block in memory per part at a time, two
in flight). Block ids have 32 characters like adlfs's own, since Azure refuses uncommitted blocks
of different id lengths on one blob: 16 hex digits of the upload id's sha256, the part number (4),
a random nonce per upload of the part (8) and the block's index in the part (4). Once every block
of a part is staged, an empty staged object ``parts/<n>.<sha256>.<nonce>.<size>.<blocks>`` (the
part's receipt) says which blocks hold which bytes. A commit takes, for each part, a receipt with
the listed sha256 whose blocks all exist, so a part uploaded again never mixes with the attempt it
replaces. Committing with ``Latest`` makes a second commit of the same list (a retried complete)
succeed too.

Uncommitted blocks are never visible: the blob does not exist, or keeps its committed content,
until the commit. Azure has no call that deletes them; it discards them when the blob is next
committed or after 7 days. So an abort, or an upload that was killed, leaves them to that (only
the receipts in the staging folder are removed), and ``sweep_orphans`` has nothing to do.

Another commit of the same blob (a second multipart upload, a streamed write) discards the blocks
not yet committed; the complete that comes later then fails, naming the parts to upload again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlockState
from fsspec.asyn import sync

from stratus.artifacts.base import ListEntry, ObjectInfo
from stratus.artifacts.errors import ArtifactTooLargeError, MultipartPartsError
from stratus.artifacts.multipart import (
    MeteredChunks,
    MultipartState,
    NativeMultipart,
    composite_digest,
    part_name,
)

if TYPE_CHECKING:
    from stratus.artifacts.fsspec_store import FsspecArtifactStore

__all__ = ["MAX_COMMITTED_BLOCKS", "AzureBlockMultipart", "block_id"]

MAX_COMMITTED_BLOCKS = 50_000  # Azure's limit for one blob
_IN_FLIGHT = 2
_RECEIPT = re.compile(r"parts/(\d{5})\.([0-9a-f]{64})\.([0-9a-f]{8})\.(\d+)\.(\d+)")


def block_id(upload: str, number: int, nonce: str, index: int) -> str:
    """The id of block ``index`` of part ``number`` as uploaded with ``nonce``."""
    tag = hashlib.sha256(upload.encode()).hexdigest()[:16]
    return f"{tag}{number:04x}{nonce}{index:04x}"


@dataclass(frozen=True)
class _Receipt:
    number: int
    sha256: str
    nonce: str
    size: int
    blocks: int

    @classmethod
    def parse(cls, entry: ListEntry) -> _Receipt | None:
        match = _RECEIPT.fullmatch(entry.path)
        if match is None:
            return None
        number, sha256, nonce, size, blocks = match.groups()
        return cls(int(number), sha256, nonce, int(size), int(blocks))

    def name(self) -> str:
        return f"{part_name(self.number)}.{self.sha256}.{self.nonce}.{self.size}.{self.blocks}"

    def block_ids(self, upload: str) -> list[str]:
        return [block_id(upload, self.number, self.nonce, index) for index in range(self.blocks)]


class AzureBlockMultipart(NativeMultipart):
    mode = "azure-blocks"

    def __init__(self, store: FsspecArtifactStore) -> None:
        self._store = store
        self._fs = store.fs
        self._container, _, self._prefix = store.root.partition("/")

    def _blob(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def _blob_client(self, key: str) -> Any:
        # adlfs's own service client: the credentials and endpoint the store was opened with.
        return self._fs.service_client.get_blob_client(self._container, self._blob(key))

    def begin(self, key: str, upload: str) -> MultipartState:
        return {"mode": self.mode}

    def put_part(
        self, key: str, upload: str, state: Mapping[str, str], number: int, part: MeteredChunks, *, last: bool
    ) -> None:
        nonce = secrets.token_hex(4)
        size = self._store.block_size
        pending: list[concurrent.futures.Future[None]] = []
        count = 0
        buffer = bytearray()
        try:
            for chunk in part:
                buffer += chunk
                while len(buffer) >= size:
                    block = block_id(upload, number, nonce, count)
                    pending.append(self._submit(key, block, bytes(buffer[:size])))
                    del buffer[:size]
                    count += 1
                    while len(pending) > _IN_FLIGHT:  # bounds memory: the blocks in flight and one filling
                        pending.pop(0).result()
            if buffer:
                pending.append(self._submit(key, block_id(upload, number, nonce, count), bytes(buffer)))
                count += 1
            for future in pending:
                future.result()
        finally:
            for future in pending:  # on an error, let staged blocks finish: they are never committed
                future.cancel()
        receipt = _Receipt(number, part.sha256, nonce, part.size, count)
        self._store.write_staged(upload, receipt.name(), b"")

    def _submit(self, key: str, block: str, data: bytes) -> concurrent.futures.Future[None]:
        async def stage() -> None:
            async with self._blob_client(key) as client:
                await client.stage_block(block, data, length=len(data))

        return asyncio.run_coroutine_threadsafe(stage(), self._fs.loop)

    def commit(
        self,
        key: str,
        upload: str,
        state: Mapping[str, str],
        parts: Sequence[tuple[int, str]],
        max_bytes: int | None,
    ) -> ObjectInfo:
        receipts: dict[int, list[_Receipt]] = {}
        for entry in self._store.list_staged(upload):
            receipt = _Receipt.parse(entry)
            if receipt is not None:
                receipts.setdefault(receipt.number, []).append(receipt)
        sizes = sync(self._fs.loop, self._block_sizes, key)
        chosen: list[_Receipt] = []
        missing, mismatched, gone = [], [], []
        for number, sha256 in parts:
            uploaded = receipts.get(number, [])
            matching = [r for r in uploaded if r.sha256 == sha256]
            complete = [r for r in matching if _blocks_present(r, upload, sizes)]
            if complete:
                chosen.append(complete[0])
            elif matching:
                gone.append(number)
            elif uploaded:
                mismatched.append(number)
            else:
                missing.append(number)
        if missing or mismatched or gone:
            raise MultipartPartsError(
                missing=tuple(missing),
                mismatched=tuple(mismatched),
                reupload=tuple(gone),
                reason="blocks of a part were discarded: another write committed the blob meanwhile"
                if gone
                else "",
            )
        total = sum(r.size for r in chosen)
        if max_bytes is not None and total > max_bytes:
            raise ArtifactTooLargeError(key, max_bytes)
        blocks = [block for r in chosen for block in r.block_ids(upload)]
        if len(blocks) > MAX_COMMITTED_BLOCKS:
            raise MultipartPartsError(
                reason=f"the parts make {len(blocks)} blocks; a blob holds at most {MAX_COMMITTED_BLOCKS}"
            )
        sync(self._fs.loop, self._commit_blocks, key, blocks)
        return ObjectInfo(path=key, size=total, sha256=composite_digest(sha for _, sha in parts))

    async def _block_sizes(self, key: str) -> dict[str, int]:
        """Every block the blob has, committed (by an earlier commit of this upload) or not."""
        async with self._blob_client(key) as client:
            try:
                committed, uncommitted = await client.get_block_list("all")
            except ResourceNotFoundError:
                return {}
        return {block.id: block.size for block in [*committed, *uncommitted]}

    async def _commit_blocks(self, key: str, blocks: list[str]) -> None:
        async with self._blob_client(key) as client:
            await client.commit_block_list([BlobBlock(block, BlockState.LATEST) for block in blocks])

    def abort(self, key: str, upload: str, state: Mapping[str, str]) -> None:
        """Nothing to do: uncommitted blocks cannot be deleted; Azure drops them (see the module)."""


def _blocks_present(receipt: _Receipt, upload: str, sizes: Mapping[str, int]) -> bool:
    found = [sizes.get(block) for block in receipt.block_ids(upload)]
    return None not in found and sum(size or 0 for size in found) == receipt.size
