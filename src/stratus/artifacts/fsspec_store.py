"""The fsspec implementation of :class:`ArtifactStore` (object stores: az/abfs via adlfs, s3 via s3fs).

Atomicity comes from the object stores themselves: a blob or key becomes visible only when the
upload is committed (a single ``PutObject``/``Put Blob`` for objects up to one block, otherwise
``CompleteMultipartUpload``/``Put Block List``). On any error a streamed upload is discarded instead
of committed (fsspec's ``close()`` would commit whatever was buffered), so nothing partial is ever
visible.

Concurrent writers of one path: the object ends up as one writer's complete data. On Azure, two
*streamed* (larger than one block) writes of the same blob at once can make the loser fail with
``InvalidBlockList``, because committing a block list discards other uncommitted blocks; nothing
partial becomes visible either way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO, cast

from stratus.artifacts.base import ArtifactStore, ListEntry
from stratus.artifacts.multipart import NativeMultipart
from stratus.artifacts.paths import is_canonical, join

__all__ = ["DEFAULT_BLOCK_SIZE", "FsspecArtifactStore", "NativeMultipartFactory"]

NativeMultipartFactory = Callable[["FsspecArtifactStore"], NativeMultipart]
"""Binds a backend's native multipart commits to one store (view); see ``stratus.artifacts.multipart``."""

# Upload part size: bounds memory per concurrent upload; S3 needs parts of at least 5 MiB.
DEFAULT_BLOCK_SIZE = 8 << 20
_GLOB_MAGIC = re.compile(r"[*?\[]")


def _not_found(key: str) -> FileNotFoundError:
    # Name only the store-relative path: backend paths (bucket, local root) are not the caller's business.
    return FileNotFoundError(errno.ENOENT, "no such artifact", key)


def _is_a_directory(key: str) -> IsADirectoryError:
    return IsADirectoryError(errno.EISDIR, "artifact path is a directory", key)


class FsspecArtifactStore(ArtifactStore):
    """An artifact store over any fsspec filesystem whose paths look like ``<root>/<key>``."""

    def __init__(
        self,
        fs: Any,
        root: str,
        *,
        protocol: str,
        block_size: int = DEFAULT_BLOCK_SIZE,
        multipart: NativeMultipartFactory | None = None,
    ) -> None:
        root = root.strip("/")
        super().__init__(f"{protocol}://{root}")
        self._fs = fs
        self._root = root
        self._protocol = protocol
        self._block_size = block_size
        self._multipart_factory = multipart
        self._multipart: NativeMultipart | None = None

    @property
    def root(self) -> str:
        """This store's root on its filesystem (``container/prefix``, ``bucket/prefix``)."""
        return self._root

    @property
    def block_size(self) -> int:
        """Bytes buffered per upload request (a block or a multipart part of a streamed write)."""
        return self._block_size

    @property
    def fs(self) -> Any:
        """The underlying fsspec filesystem (for callers that hand paths to fsspec-aware tools)."""
        return self._fs

    def _fs_path(self, key: str) -> str:
        """Backend path of a canonical key; the single place a key becomes a backend path."""
        return join(self._root, key)

    def _relative(self, name: str) -> str | None:
        """Key of a backend path below this root, or None for the root itself or anything outside it."""
        name = name.rstrip("/")
        base = self._root + "/"
        return name[len(base) :] if name.startswith(base) else None

    # -- hooks ------------------------------------------------------------------------------------

    def _write(self, key: str, chunks: Iterator[bytes]) -> None:
        path = self._fs_path(key)
        head = bytearray()
        for chunk in chunks:
            head += chunk
            if len(head) >= self._block_size:
                break
        else:
            # Small enough for one request: a single PutObject / Put Blob is atomic by itself, and
            # on Azure does not depend on staged blocks that another writer's commit would discard.
            self._fs.pipe_file(path, bytes(head))
            return
        handle = self._fs.open(path, "wb", block_size=self._block_size)
        try:
            handle.write(bytes(head))
            del head
            for chunk in chunks:
                handle.write(chunk)
        except BaseException:
            _discard(handle)
            raise
        try:
            handle.close()  # commits
        except BaseException:
            with contextlib.suppress(Exception):
                handle.discard()  # e.g. abort a multipart upload whose completion failed
            raise

    def _open_read(self, key: str) -> BinaryIO:
        path = self._fs_path(key)
        info = self._info(key)
        if info.is_dir:
            raise _is_a_directory(key)
        try:
            return cast(BinaryIO, self._fs.open(path, "rb", block_size=self._block_size))
        except FileNotFoundError:
            raise _not_found(key) from None

    def _info(self, key: str) -> ListEntry:
        try:
            info = self._fs.info(self._fs_path(key))
        except FileNotFoundError:
            raise _not_found(key) from None
        return _entry(key, info)

    def _list(self, key: str, *, recursive: bool) -> Iterable[ListEntry]:
        path = self._fs_path(key)
        prefix = path + "/"
        try:
            if recursive:
                found = self._fs.find(path, detail=True, withdirs=False)
                # adlfs answers a list of names (not a dict) when ``path`` is an object.
                infos: Iterable[dict[str, Any]] = found.values() if isinstance(found, dict) else []
            else:
                infos = self._fs.ls(path, detail=True)
        except FileNotFoundError:
            return []
        entries = []
        for info in infos:
            name = str(info["name"]).rstrip("/")
            # ls of an object returns the object; find may return the prefix itself or siblings.
            if not name.startswith(prefix):
                continue
            rel = self._relative(name)
            if rel is None:
                continue
            entry = _entry(rel, info)
            if recursive and entry.is_dir:
                continue
            entries.append(entry)
        return entries

    def _delete(self, key: str) -> None:
        if self._info(key).is_dir:
            raise _is_a_directory(key)
        self._fs.rm_file(self._fs_path(key))

    def _delete_tree(self, key: str) -> int:
        path = self._fs_path(key)
        try:
            found = self._fs.find(path, withdirs=False)
        except FileNotFoundError:
            return 0
        # For the root of a sub-store, an object named exactly like the prefix belongs to the parent.
        names = [n for n in found if n.startswith(path + "/") or (key and n == path)]
        # Bulk delete expands glob patterns, so names from other tools that contain them go one by one.
        plain = [n for n in names if not _GLOB_MAGIC.search(n)]
        if plain:
            self._fs.rm(plain)
        for name in names:
            if _GLOB_MAGIC.search(name):
                self._fs.rm_file(name)
        # Count what a listing showed: names no method can address are swept but were never objects.
        return sum(1 for name in names if is_canonical(self._relative(name) or ""))

    def filesystem(self) -> tuple[Any, str]:
        """``(fsspec filesystem, root path on it)``, for readers that need globbing and random access
        (pandas, MLTable). Read-only use: writes go through ``write`` so they stay atomic and indexed;
        callers must keep the paths they build under the root."""
        return self._fs, self._root

    def _sub(self, key: str) -> ArtifactStore:
        return FsspecArtifactStore(
            self._fs,
            join(self._root, key),
            protocol=self._protocol,
            block_size=self._block_size,
            multipart=self._multipart_factory,
        )

    def _native_multipart(self) -> NativeMultipart | None:
        if self._multipart is None and self._multipart_factory is not None:
            self._multipart = self._multipart_factory(self)
        return self._multipart

    def _full_uri(self, key: str) -> str:
        return f"{self._protocol}://{join(self._root, key)}"


def _entry(key: str, info: dict[str, Any]) -> ListEntry:
    if info.get("type") == "directory":
        return ListEntry(path=key, is_dir=True, size=None)
    return ListEntry(path=key, is_dir=False, size=int(info.get("size") or 0))


def _discard(handle: Any) -> None:
    """Abandon an fsspec write without committing it.

    ``discard()`` aborts a started multipart upload (s3fs; staged Azure blocks are never committed
    and expire on their own; an abort that fails leaves an invisible upload for lifecycle rules);
    marking the buffer as already force-flushed makes the following ``close()`` release clients
    without uploading or committing anything.
    """
    # Best effort: the caller re-raises the error that made us give up, which matters more.
    with contextlib.suppress(Exception):
        handle.discard()
    handle.forced = True
    with contextlib.suppress(Exception):
        handle.close()
    handle.closed = True


def env_first(*names: str) -> str | None:
    """First non-empty environment variable of ``names``."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
