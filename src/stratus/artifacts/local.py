"""The local-filesystem artifact store.

It is the fsspec store over ``LocalFileSystem`` with the hooks that need POSIX guarantees done with
``os`` calls: writes go to a temporary file in the target directory, are fsynced and then
``os.replace``d (so a crash leaves the old object or the new one, never a part), and every hook first
resolves the real path and refuses it when a symlink leads outside this store's root.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, cast

from fsspec.implementations.local import LocalFileSystem

from stratus.artifacts.base import STAGING_DIR, ArtifactStore, ListEntry
from stratus.artifacts.errors import UnsafePathError
from stratus.artifacts.fsspec_store import FsspecArtifactStore, _is_a_directory, _not_found
from stratus.artifacts.paths import is_canonical, join

__all__ = ["TEMP_PREFIX", "LocalArtifactStore"]

# canonicalize() rejects segments starting with "~", so no object can ever collide with (or list
# as) an in-flight or crash-orphaned temporary file.
TEMP_PREFIX = "~stratus-tmp-"

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # so opening a planted FIFO cannot hang the server
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_PROC_FD = Path("/proc/self/fd")
_DIR_RETRIES = 20


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class LocalArtifactStore(FsspecArtifactStore):
    """Artifact store in a local directory (``file://`` URIs and plain paths)."""

    def __init__(self, root: str | os.PathLike[str], *, _top: str | None = None) -> None:
        if _top is None:
            path = os.path.abspath(os.path.expanduser(os.fspath(root)))
            os.makedirs(path, exist_ok=True)
            # The configured root may itself be a symlink (e.g. to a bigger disk); resolve it once.
            real_root = os.path.realpath(path)
            _top = real_root
        else:
            real_root = os.fspath(root)
        super().__init__(LocalFileSystem(), real_root, protocol="file")
        # fsspec local paths keep their leading "/"; FsspecArtifactStore strips slashes from roots.
        self._root = real_root
        self._uri = "file://" + Path(real_root).as_posix()
        self._top = _top

    @property
    def root_path(self) -> Path:
        """The directory that holds this store's objects (for mounting into local jobs)."""
        return Path(self._root)

    def _fs_path(self, key: str) -> str:
        """Real path of ``key``, refused when symlinks resolve it outside this store's root.

        This is checked on every use, so a symlink planted after the store was opened is caught too.
        """
        lexical = os.path.join(self._root, *key.split("/")) if key else self._root
        real = os.path.realpath(lexical)
        if not _within(real, self._root):
            raise UnsafePathError(key, "resolves outside the artifact store through a symlink")
        return real

    def _relative(self, name: str) -> str | None:
        if not _within(name, self._root) or name == self._root:
            return None
        return Path(os.path.relpath(name, self._root)).as_posix()

    def _check_fd(self, fd: int, key: str) -> None:
        """Where the kernel can tell us (Linux), confirm the opened file is inside the root, closing
        the window between resolving the path and opening it."""
        try:
            opened = os.readlink(_PROC_FD / str(fd))
        except OSError:
            return
        if not _within(opened, self._root):
            raise UnsafePathError(key, "resolves outside the artifact store through a symlink")

    # -- hooks ------------------------------------------------------------------------------------

    def _write(self, key: str, chunks: Iterator[bytes]) -> None:
        target = self._fs_path(key)
        if os.path.isdir(target):
            raise _is_a_directory(key)
        parent = os.path.dirname(target)
        fd, tmp = self._make_temp(parent, key)
        try:
            with os.fdopen(fd, "wb") as handle:  # owns fd from here on, also on error
                self._check_fd(handle.fileno(), key)
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            self._fs_path(key)  # re-check: a symlink may have been planted while we streamed
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(parent)

    def _make_temp(self, parent: str, key: str) -> tuple[int, str]:
        for _ in range(_DIR_RETRIES):
            try:
                os.makedirs(parent, exist_ok=True)
                if not _within(os.path.realpath(parent), self._root):
                    raise UnsafePathError(key, "resolves outside the artifact store through a symlink")
                # mkstemp opens with O_EXCL (and O_NOFOLLOW where available), mode 0600.
                return tempfile.mkstemp(prefix=TEMP_PREFIX, dir=parent)
            except FileNotFoundError:
                continue  # a concurrent delete pruned the empty directory; make it again
            except (FileExistsError, NotADirectoryError):
                # makedirs also raises FileExistsError when a concurrent delete prunes a directory between
                # its mkdir and its isdir check: only a file in the way is a real conflict.
                if self._object_in_the_way(parent):
                    raise NotADirectoryError(
                        errno.ENOTDIR, "a parent of the artifact path is an object", key
                    ) from None
        raise OSError(errno.EAGAIN, "artifact directory kept disappearing during the write", key)

    def _object_in_the_way(self, directory: str) -> bool:
        current = directory
        while _within(current, self._root) and current != self._root:
            if os.path.lexists(current) and not os.path.isdir(current):
                return True
            current = os.path.dirname(current)
        return False

    def _open_read(self, key: str) -> BinaryIO:
        real = self._fs_path(key)
        try:
            fd = os.open(real, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):  # "a/b" where "a" is an object: missing too
            raise _not_found(key) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # the last component became a symlink after resolving
                raise UnsafePathError(key, "is a symlink that changed while it was opened") from None
            if exc.errno == errno.EISDIR:
                raise _is_a_directory(key) from None
            raise
        try:
            self._check_fd(fd, key)
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise _is_a_directory(key)
            if not stat.S_ISREG(mode):
                raise _not_found(key)  # FIFOs, sockets and devices are never artifacts
            if _O_NONBLOCK:
                os.set_blocking(fd, True)
            return cast(BinaryIO, os.fdopen(fd, "rb"))
        except BaseException:
            os.close(fd)
            raise

    def _info(self, key: str) -> ListEntry:
        try:
            st = os.stat(self._fs_path(key))
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(key) from None
        if stat.S_ISDIR(st.st_mode):
            return ListEntry(path=key, is_dir=True, size=None)
        if stat.S_ISREG(st.st_mode):
            return ListEntry(path=key, is_dir=False, size=st.st_size)
        raise _not_found(key)

    def _list(self, key: str, *, recursive: bool) -> Iterable[ListEntry]:
        real = self._fs_path(key)
        if not os.path.isdir(real):
            return []
        entries: list[ListEntry] = []
        pending = [(real, key)]
        while pending:
            directory, rel_dir = pending.pop()
            try:
                scan = list(os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError):
                continue  # removed while we walked
            for item in scan:
                entry = self._scan_entry(item, join(rel_dir, item.name))
                if entry is None:
                    continue
                if entry.is_dir and recursive:
                    # Only real directories are descended: a symlinked directory could loop.
                    if not item.is_symlink():
                        pending.append((item.path, entry.path))
                    continue
                entries.append(entry)
        return entries

    def _scan_entry(self, item: os.DirEntry[str], rel: str) -> ListEntry | None:
        try:
            if item.is_symlink():
                # Listed only when the link stays inside this store; never reveals what lies outside.
                if not _within(os.path.realpath(item.path), self._root):
                    return None
                st = os.stat(item.path)
            else:
                st = item.stat(follow_symlinks=False)
        except OSError:
            return None
        if stat.S_ISDIR(st.st_mode):
            return ListEntry(path=rel, is_dir=True, size=None)
        if stat.S_ISREG(st.st_mode):
            return ListEntry(path=rel, is_dir=False, size=st.st_size)
        return None

    def _delete(self, key: str) -> None:
        real = self._fs_path(key)
        try:
            st = os.lstat(real)
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(key) from None
        if stat.S_ISDIR(st.st_mode):
            raise _is_a_directory(key)
        if not stat.S_ISREG(st.st_mode):
            raise _not_found(key)
        os.unlink(real)
        self._prune(os.path.dirname(real))

    def _delete_tree(self, key: str) -> int:
        real = self._fs_path(key)
        try:
            st = os.lstat(real)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(real)
            self._prune(os.path.dirname(real))
            return 1 if stat.S_ISREG(st.st_mode) else 0
        count = self._count_objects(key)
        if real == self._top:
            # Never remove the configured root itself, only what is in it.
            for item in os.scandir(real):
                if item.is_dir(follow_symlinks=False):
                    shutil.rmtree(item.path)
                else:
                    os.unlink(item.path)
        else:
            # rmtree never follows symlinks (and uses fd-relative calls where the OS allows).
            shutil.rmtree(real)
            self._prune(os.path.dirname(real))
        return count

    def _count_objects(self, key: str) -> int:
        """Objects below ``key`` as a recursive listing shows them (not temporary files or links
        that lead outside, which are removed but were never objects)."""
        return sum(1 for entry in self._list(key, recursive=True) if is_canonical(entry.path))

    def _prune(self, directory: str) -> None:
        """Remove directories left empty, up to the configured root, so the local store lists like an
        object store (where a prefix vanishes with its last object)."""
        while _within(directory, self._top) and directory != self._top:
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def _sweep_interrupted_writes(
        self, before: float, *, dry_run: bool, keep: list[Mapping[str, str]]
    ) -> int:
        """Temporary files of writes that never reached their rename (the process was killed), last
        written to before ``before``; a write still streaming keeps touching its file."""
        swept = 0
        for directory, subdirectories, files in os.walk(self._root):  # never follows symlinks
            # Staging folders are multipart uploads', swept whole with their upload when it goes stale.
            subdirectories[:] = [d for d in subdirectories if d != STAGING_DIR]
            removed = False
            for name in files:
                if not name.startswith(TEMP_PREFIX):
                    continue
                path = os.path.join(directory, name)
                try:
                    st = os.lstat(path)
                    if not stat.S_ISREG(st.st_mode) or st.st_mtime >= before:
                        continue
                    if not dry_run:
                        os.unlink(path)
                        removed = True
                except FileNotFoundError:
                    continue  # its write finished (renamed) or failed (removed) meanwhile
                swept += 1
            if removed:
                self._prune(directory)
        return swept

    def _sub(self, key: str) -> ArtifactStore:
        return LocalArtifactStore(os.path.join(self._root, *key.split("/")), _top=self._top)

    def _full_uri(self, key: str) -> str:
        return self._uri + "/" + key


def _fsync_dir(directory: str) -> None:
    """Persist the rename itself; not possible (nor needed) on every platform."""
    if not _O_DIRECTORY:
        return
    try:
        fd = os.open(directory, os.O_RDONLY | _O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
