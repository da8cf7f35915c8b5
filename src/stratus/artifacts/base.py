"""The artifact store contract.

Public methods canonicalise the path once (the same string is then used by the backend), do the
bookkeeping every backend needs (streaming, size, sha256, limits, sorting, hiding non-canonical
names) and call a private ``_hook`` that each backend implements.

Each store (and each sub-store view) also has a staging area for uploads that arrive in pieces
(multipart uploads): objects under ``~stratus-staging/<upload>/``. No canonical path can name it (the
canonicaliser refuses segments starting with ``~``), so it never lists, reads or deletes as part of
the artifact tree; :meth:`ArtifactStore.compose` turns staged pieces into one object atomically.

Multipart uploads (``begin_multipart``, ``put_part``, ``commit_parts``, ``abort_multipart``) keep their
parts in that staging area and compose them, unless the backend commits parts natively (see
:mod:`stratus.artifacts.multipart`). ``sweep_interrupted_writes`` removes what killed writes leave.
"""

from __future__ import annotations

import abc
import builtins
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from stratus.artifacts.errors import (
    ArtifactTooLargeError,
    MultipartPartsError,
    StagedPieceMismatchError,
    UnsafePathError,
)
from stratus.artifacts.multipart import (
    MAX_PARTS,
    MODE_STAGED,
    MeteredChunks,
    MultipartState,
    NativeMultipart,
    PartInfo,
    is_content_sha256,
    part_name,
)
from stratus.artifacts.paths import canonicalize, is_canonical, join

__all__ = ["DEFAULT_CHUNK_SIZE", "STAGING_DIR", "ArtifactStore", "ListEntry", "ObjectInfo", "WriteData"]

DEFAULT_CHUNK_SIZE = 1 << 20
# Starts with "~", so canonicalize() refuses it: no artifact path can reach into the staging area.
STAGING_DIR = "~stratus-staging"
# Upload ids and staged names are plain tokens chosen by the server: no dots-only, no "~", no "/".
_STAGING_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")
_STAGED_SEGMENT = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")

WriteData = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]


@dataclass(frozen=True)
class ObjectInfo:
    """A stored object: canonical path (relative to the store), size in bytes and hex sha256.

    For an object committed from parts in the store (``commit_parts`` on a native backend) ``sha256``
    is a :func:`~stratus.artifacts.multipart.composite_digest` instead, which ``is_content_sha256``
    tells apart."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ListEntry:
    """A listing entry; ``size`` is None for directories (prefixes)."""

    path: str
    is_dir: bool
    size: int | None


class ArtifactStore(abc.ABC):
    """A tree of immutable-by-replacement objects addressed by canonical relative paths."""

    def __init__(self, uri: str) -> None:
        self._uri = uri

    @property
    def uri(self) -> str:
        """Root URI of this store (for a sub-store, the root URI of the view)."""
        return self._uri

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._uri!r})"

    # -- writing ----------------------------------------------------------------------------------

    def write(self, path: str, data: WriteData, *, max_bytes: int | None = None) -> ObjectInfo:
        """Store ``data`` at ``path`` atomically and return its size and sha256.

        ``data`` is bytes, a binary file object or an iterable of byte chunks; it is streamed, never
        held whole. Readers see the old object or the complete new one, never a part; on any error
        (including :class:`ArtifactTooLargeError` past ``max_bytes``) nothing new is visible.
        """
        return self._metered_write(self._object_key(path), data, max_bytes)

    def _metered_write(self, key: str, data: WriteData, max_bytes: int | None) -> ObjectInfo:
        chunks = _metered(key, data, max_bytes)
        self._write(key, chunks)
        if not chunks.finished:
            raise RuntimeError(f"{type(self).__name__}._write did not consume all data for {key!r}")
        return ObjectInfo(path=key, size=chunks.size, sha256=chunks.sha256)

    # -- reading ----------------------------------------------------------------------------------

    def open_read(self, path: str) -> BinaryIO:
        """Open an object for binary reading; the caller closes it."""
        return self._open_read(self._object_key(path))

    def iter_read(self, path: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """Stream an object in chunks. Opens eagerly, so a missing object fails here, not on next()."""
        if chunk_size <= 0:
            raise ValueError("chunk_size must be > 0")
        return _ChunkIterator(self.open_read(path), chunk_size)

    def read_bytes(self, path: str) -> bytes:
        with self.open_read(path) as handle:
            return handle.read()

    def checksum(self, path: str) -> ObjectInfo:
        """Re-read an object and compute its size and sha256 (to verify what ``write`` recorded)."""
        key = self._object_key(path)
        digest = hashlib.sha256()
        size = 0
        for chunk in self.iter_read(key):
            digest.update(chunk)
            size += len(chunk)
        return ObjectInfo(path=key, size=size, sha256=digest.hexdigest())

    # -- metadata ---------------------------------------------------------------------------------

    def info(self, path: str) -> ListEntry:
        """Entry for an object or directory; FileNotFoundError when neither exists."""
        key = canonicalize(path)
        if key == "":
            return ListEntry(path="", is_dir=True, size=None)
        return self._info(key)

    def exists(self, path: str) -> bool:
        """True for an existing object or non-empty directory (and always for the root)."""
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "", *, recursive: bool = False) -> list[ListEntry]:
        """Children of directory ``prefix`` (files and directories), or with ``recursive`` every object
        below it. Paths are relative to this store's root and sorted. A missing prefix or an object
        lists as empty. Names that are not canonical (temporary files, names written by other tools
        that canonicalise differently) are left out, since no method could address them."""
        key = canonicalize(prefix)
        entries = [e for e in self._list(key, recursive=recursive) if is_canonical(e.path)]
        entries.sort(key=lambda e: e.path)
        return entries

    # -- deleting ---------------------------------------------------------------------------------

    def delete(self, path: str) -> None:
        """Delete one object; FileNotFoundError if missing, IsADirectoryError for a directory."""
        self._delete(self._object_key(path))

    def delete_tree(self, prefix: str) -> int:
        """Delete the object ``prefix`` and every object below it; returns how many were removed.
        ``delete_tree("")`` empties this store (only this view, for a sub-store)."""
        return self._delete_tree(canonicalize(prefix))

    # -- views and URIs ---------------------------------------------------------------------------

    def sub(self, prefix: str) -> ArtifactStore:
        """A store rooted at ``prefix`` of this one (e.g. one per workspace)."""
        key = canonicalize(prefix)
        return self if key == "" else self._sub(key)

    def full_uri(self, path: str) -> str:
        """URI of ``path`` in this store (the store's URI for the root)."""
        key = canonicalize(path)
        return self._uri if key == "" else self._full_uri(key)

    # -- staging (uploads that arrive in pieces) ----------------------------------------------------

    def write_staged(
        self, upload: str, name: str, data: WriteData, *, max_bytes: int | None = None
    ) -> ObjectInfo:
        """Store ``data`` as the staged object ``name`` of ``upload``, atomically, like :meth:`write`
        (a second write of the same name replaces it). ``ObjectInfo.path`` is the staging key."""
        return self._metered_write(self._staging_key(upload, name), data, max_bytes)

    def read_staged(self, upload: str, name: str) -> bytes:
        """A small staged object (e.g. an upload's manifest); FileNotFoundError when it is missing."""
        with self._open_read(self._staging_key(upload, name)) as handle:
            return handle.read()

    def list_staged(self, upload: str) -> builtins.list[ListEntry]:
        """Every staged object of ``upload`` (paths relative to the upload, sorted); [] if none."""
        base = self._staging_key(upload)
        entries = []
        for entry in self._list(base, recursive=True):
            name = entry.path[len(base) + 1 :] if entry.path.startswith(base + "/") else ""
            if _is_staged_name(name):  # leaves out temporary files of writes in progress
                entries.append(ListEntry(path=name, is_dir=entry.is_dir, size=entry.size))
        entries.sort(key=lambda e: e.path)
        return entries

    def staged_uploads(self) -> builtins.list[str]:
        """Ids of the uploads that have anything staged in this store (not in its sub-stores)."""
        names = {e.path.rsplit("/", 1)[-1] for e in self._list(STAGING_DIR, recursive=False)}
        return sorted(n for n in names if _STAGING_TOKEN.fullmatch(n))

    def delete_staged(self, upload: str, name: str = "") -> None:
        """Remove the staged object or folder ``name`` of ``upload`` ("" for all of it); no error when
        nothing is there."""
        self._delete_tree(self._staging_key(upload, name or None))

    def compose(
        self,
        path: str,
        upload: str,
        names: Sequence[str],
        *,
        expected_sha256: Sequence[str] | None = None,
        max_bytes: int | None = None,
    ) -> ObjectInfo:
        """Write the staged objects ``names`` of ``upload``, in that order, as the object ``path``.

        Atomic like :meth:`write`: readers see the old object or the whole new one. With
        ``expected_sha256`` each piece is hashed on the way and a piece that differs raises
        :class:`StagedPieceMismatchError` with nothing new visible; a missing piece raises
        FileNotFoundError the same way. The staged objects stay; remove them with :meth:`delete_staged`.
        """
        key = self._object_key(path)
        sources = [self._staging_key(upload, name) for name in names]
        if expected_sha256 is not None and len(expected_sha256) != len(sources):
            raise ValueError("expected_sha256 must name one digest per staged object")

        def pieces() -> Iterator[bytes]:
            for index, source in enumerate(sources):
                digest = hashlib.sha256()
                with self._open_read(source) as handle:
                    while chunk := handle.read(DEFAULT_CHUNK_SIZE):
                        digest.update(chunk)
                        yield chunk
                if expected_sha256 is not None and digest.hexdigest() != expected_sha256[index]:
                    raise StagedPieceMismatchError(names[index], expected_sha256[index], digest.hexdigest())

        return self._metered_write(key, pieces(), max_bytes)

    # -- multipart uploads ----------------------------------------------------------------------------

    def begin_multipart(self, path: str, upload: str) -> MultipartState:
        """Start multipart upload ``upload`` (a staging token, see :meth:`write_staged`) of the object
        ``path``; returns the state that every later call for it takes back. Nothing is visible at
        ``path`` before :meth:`commit_parts`."""
        key = self._object_key(path)
        self._staging_key(upload)
        native = self._native_multipart()
        return {"mode": MODE_STAGED} if native is None else native.begin(key, upload)

    def put_part(
        self,
        path: str,
        upload: str,
        state: Mapping[str, str],
        number: int,
        data: WriteData,
        *,
        last: bool,
        max_bytes: int | None = None,
    ) -> PartInfo:
        """Store part ``number`` (1 to 10,000; ``last`` for the upload's last part) from ``data``,
        streamed and held to ``max_bytes`` like :meth:`write`. A part uploaded again with other bytes
        is what a commit that lists its new sha256 takes."""
        key = self._object_key(path)
        self._staging_key(upload)
        _check_part_number(number)
        part = _metered(key, data, max_bytes)
        native = self._native_for(state)
        if native is None:
            self._write(self._staging_key(upload, part_name(number)), part)
        else:
            native.put_part(key, upload, state, number, part, last=last)
        if not part.finished:
            raise RuntimeError(f"{type(self).__name__} did not consume all of part {number} for {key!r}")
        return PartInfo(number=number, size=part.size, sha256=part.sha256)

    def commit_parts(
        self,
        path: str,
        upload: str,
        state: Mapping[str, str],
        parts: Sequence[tuple[int, str]],
        *,
        max_bytes: int | None = None,
    ) -> ObjectInfo:
        """Make ``parts`` -- ``(number, sha256 of the part's bytes)`` in object order -- the object
        ``path``, atomically like :meth:`write`; ``max_bytes`` bounds the whole object.

        Raises MultipartPartsError (a part never uploaded, or stored with other bytes), or
        ArtifactTooLargeError, with nothing new visible. Committing the same parts again succeeds
        again while the upload's staging folder is kept. ``ObjectInfo.sha256`` is the object's sha256
        where the parts were read back (the staged default), else their composite digest.
        """
        key = self._object_key(path)
        self._staging_key(upload)
        numbers = [number for number, _ in parts]
        if not parts or len(set(numbers)) != len(numbers):
            raise ValueError("parts must name each part once")
        for number, sha256 in parts:
            _check_part_number(number)
            if not is_content_sha256(sha256):
                raise ValueError(f"part {number}: {sha256!r} is not a lowercase hex sha256")
        native = self._native_for(state)
        if native is None:
            return self._compose_parts(key, upload, parts, max_bytes)
        return native.commit(key, upload, state, parts, max_bytes)

    def abort_multipart(self, path: str, upload: str, state: Mapping[str, str]) -> None:
        """Release what the backend holds for the upload outside its staging folder (which the caller
        removes with :meth:`delete_staged`); no error when there is nothing."""
        key = self._object_key(path)
        self._staging_key(upload)
        native = self._native_for(state)
        if native is not None:
            native.abort(key, upload, state)

    def sweep_interrupted_writes(
        self, before: float, *, dry_run: bool = False, keep: Iterable[Mapping[str, str]] = ()
    ) -> int:
        """Remove what writes that never finished left in this store and below it, if they started
        before ``before`` (unix seconds): temporary files, native multipart uploads no state in
        ``keep`` names. Returns how many were (with ``dry_run``: would be) removed."""
        return self._sweep_interrupted_writes(before, dry_run=dry_run, keep=list(keep))

    def _compose_parts(
        self, key: str, upload: str, parts: Sequence[tuple[int, str]], max_bytes: int | None
    ) -> ObjectInfo:
        """The staged default: every part is the staged object ``part_name(n)``; compose checks each."""
        staged = {entry.path for entry in self.list_staged(upload)}
        missing = tuple(number for number, _ in parts if part_name(number) not in staged)
        if missing:
            raise MultipartPartsError(missing=missing)
        names = [part_name(number) for number, _ in parts]
        try:
            digests = [sha for _, sha in parts]
            return self.compose(key, upload, names, expected_sha256=digests, max_bytes=max_bytes)
        except StagedPieceMismatchError as exc:
            raise MultipartPartsError(mismatched=(parts[names.index(exc.name)][0],)) from None

    def _native_for(self, state: Mapping[str, str]) -> NativeMultipart | None:
        mode = state.get("mode", MODE_STAGED)  # uploads begun before native commits existed are staged
        if mode == MODE_STAGED:
            return None
        native = self._native_multipart()
        if native is None or native.mode != mode:
            raise ValueError(f"this store cannot continue a multipart upload of mode {mode!r}")
        return native

    @staticmethod
    def _staging_key(upload: str, name: str | None = None) -> str:
        """Key of ``upload``'s staging folder, or of the staged object ``name`` in it."""
        if not isinstance(upload, str) or not _STAGING_TOKEN.fullmatch(upload):
            raise UnsafePathError(upload, "is not an upload id (1-128 letters, digits, '-' or '_')")
        if name is None:
            return join(STAGING_DIR, upload)
        if not _is_staged_name(name):
            raise UnsafePathError(name, "is not a staged name (tokens of letters, digits, '-', '_' and '.')")
        return join(STAGING_DIR, upload, name)

    # -- hooks ------------------------------------------------------------------------------------
    # Keys are canonical paths, or staging keys below STAGING_DIR (which no canonical path can name).

    @abc.abstractmethod
    def _write(self, key: str, chunks: Iterator[bytes]) -> None:
        """Consume every chunk and make the object visible only after the last one; on any error,
        including one raised by ``chunks``, leave nothing new visible and re-raise."""

    @abc.abstractmethod
    def _open_read(self, key: str) -> BinaryIO: ...

    @abc.abstractmethod
    def _info(self, key: str) -> ListEntry:
        """``key`` is never the root."""

    @abc.abstractmethod
    def _list(self, key: str, *, recursive: bool) -> Iterable[ListEntry]: ...

    @abc.abstractmethod
    def _delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def _delete_tree(self, key: str) -> int: ...

    @abc.abstractmethod
    def _sub(self, key: str) -> ArtifactStore: ...

    @abc.abstractmethod
    def _full_uri(self, key: str) -> str: ...

    def _native_multipart(self) -> NativeMultipart | None:
        """The backend's native multipart commits, if it has them (default: staged parts, composed)."""
        return None

    def _sweep_interrupted_writes(
        self, before: float, *, dry_run: bool, keep: builtins.list[Mapping[str, str]]
    ) -> int:
        native = self._native_multipart()
        return 0 if native is None else native.sweep_orphans(before, dry_run=dry_run, keep=keep)

    # -- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _object_key(path: str) -> str:
        key = canonicalize(path)
        if key == "":
            raise UnsafePathError(path, "is empty; it names the store root, not an object")
        return key


def _is_staged_name(name: object) -> bool:
    if not isinstance(name, str) or not name or len(name) > 255:
        return False
    return all(_STAGED_SEGMENT.fullmatch(segment) for segment in name.split("/"))


def _metered(key: str, data: WriteData, max_bytes: int | None) -> MeteredChunks:
    # Bytes over the limit fail here, with no backend round trip.
    small = data if isinstance(data, bytes | bytearray | memoryview) else None
    if small is not None and max_bytes is not None and 0 <= max_bytes < memoryview(small).nbytes:
        raise ArtifactTooLargeError(key, max_bytes)
    return MeteredChunks(key, _chunks(data), max_bytes)


def _check_part_number(number: int) -> None:
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_PARTS:
        raise ValueError(f"part numbers run from 1 to {MAX_PARTS}, not {number!r}")


def _chunks(data: WriteData, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    if isinstance(data, str):
        raise TypeError("artifact data must be bytes, a binary file or an iterable of bytes, not str")
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data).cast("B")
        for start in range(0, view.nbytes, chunk_size):
            yield bytes(view[start : start + chunk_size])
        return
    read = getattr(data, "read", None)
    if callable(read):
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return
            yield _as_bytes(chunk)
    for chunk in data:  # the Iterable[bytes] case
        yield _as_bytes(chunk)


def _as_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(f"artifact data chunks must be bytes, not {type(chunk).__name__}")


class _ChunkIterator(Iterator[bytes]):
    """Reads a handle in chunks and closes it at the end, on close(), or when dropped unfinished
    (a generator would leak the handle if it was never started)."""

    def __init__(self, handle: BinaryIO, chunk_size: int) -> None:
        self._handle = handle
        self._chunk_size = chunk_size

    def __next__(self) -> bytes:
        if self._handle.closed:
            raise StopIteration
        chunk = self._handle.read(self._chunk_size)
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        self._handle.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.close()
