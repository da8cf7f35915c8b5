"""The ArtifactStore ABC's bookkeeping, and the conformance kit itself (it must catch broken stores)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import BinaryIO, cast

import pytest

from stratus.artifacts import (
    ArtifactStore,
    ArtifactTooLargeError,
    ListEntry,
    ObjectInfo,
    UnsafePathError,
)
from stratus.artifacts.multipart import MeteredChunks, MultipartState, NativeMultipart
from stratus.artifacts.paths import join
from stratus.testing import ARTIFACT_STORE_CHECKS, check_artifact_store


class MemoryArtifactStore(ArtifactStore):
    """A dict-backed store: the smallest correct implementation of the hooks."""

    def __init__(self, objects: dict[str, bytes] | None = None, prefix: str = "") -> None:
        super().__init__("memory://" + prefix)
        self.objects = {} if objects is None else objects
        self.prefix = prefix
        self.hook_calls: list[str] = []

    def _key(self, key: str) -> str:
        return join(self.prefix, key)

    def _write(self, key: str, chunks: Iterator[bytes]) -> None:
        self.hook_calls.append("write")
        data = b"".join(chunks)  # collected first: nothing visible until complete
        self.objects[self._key(key)] = data

    def _open_read(self, key: str) -> BinaryIO:
        if self._info(key).is_dir:
            raise IsADirectoryError(key)
        return io.BytesIO(self.objects[self._key(key)])

    def _info(self, key: str) -> ListEntry:
        full = self._key(key)
        if full in self.objects:
            return ListEntry(key, False, len(self.objects[full]))
        if any(k.startswith(full + "/") for k in self.objects):
            return ListEntry(key, True, None)
        raise FileNotFoundError(key)

    def _list(self, key: str, *, recursive: bool) -> Iterable[ListEntry]:
        base = self._key(key)
        below = base + "/" if base else ""
        entries: dict[str, ListEntry] = {}
        for name, data in self.objects.items():
            if not name.startswith(below):
                continue
            rest = name[len(below) :]
            rel = join(key, rest)
            if recursive or "/" not in rest:
                entries[rel] = ListEntry(rel, False, len(data))
            else:
                child = join(key, rest.split("/", 1)[0])
                entries[child] = ListEntry(child, True, None)
        return list(entries.values())

    def _delete(self, key: str) -> None:
        if self._info(key).is_dir:
            raise IsADirectoryError(key)
        del self.objects[self._key(key)]

    def _delete_tree(self, key: str) -> int:
        base = self._key(key)
        doomed = [k for k in self.objects if k.startswith(base + "/" if base else "") or (key and k == base)]
        for name in doomed:
            del self.objects[name]
        return len(doomed)

    def _sub(self, key: str) -> ArtifactStore:
        return type(self)(self.objects, self._key(key))

    def _full_uri(self, key: str) -> str:
        return f"{self.uri}/{key}" if self.prefix else f"{self.uri}{key}"


# -- the ABC's bookkeeping --------------------------------------------------------------------------


@pytest.fixture
def store() -> MemoryArtifactStore:
    return MemoryArtifactStore()


def test_memory_store_passes_the_kit(store: MemoryArtifactStore) -> None:
    check_artifact_store(store)
    assert store.objects == {}


def test_write_hashes_and_counts_every_source(store: MemoryArtifactStore) -> None:
    data = b"0123456789" * 300_000  # several 1 MiB chunks
    digest = hashlib.sha256(data).hexdigest()
    for source in (
        data,
        bytearray(data),
        memoryview(data),
        io.BytesIO(data),
        iter([data[:5], b"", data[5:]]),
    ):
        assert store.write("x", source) == ObjectInfo("x", len(data), digest)
    assert store.objects["x"] == data


def test_bytes_over_the_limit_never_reach_the_backend(store: MemoryArtifactStore) -> None:
    with pytest.raises(ArtifactTooLargeError) as info:
        store.write("big", b"x" * 11, max_bytes=10)
    assert (info.value.path, info.value.max_bytes) == ("big", 10)
    assert store.hook_calls == []
    with pytest.raises(ValueError, match="max_bytes"):
        store.write("x", b"", max_bytes=-1)


def test_write_rejects_str_and_non_bytes_chunks(store: MemoryArtifactStore) -> None:
    with pytest.raises(TypeError, match="not str"):
        store.write("x", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="chunks must be bytes"):
        store.write("x", [b"ok", 3])  # type: ignore[list-item]
    assert store.objects == {}


def test_a_hook_that_does_not_consume_all_data_is_caught() -> None:
    class Lazy(MemoryArtifactStore):
        def _write(self, key: str, chunks: Iterator[bytes]) -> None:
            self.objects[key] = next(chunks)

    with pytest.raises(RuntimeError, match="did not consume"):
        Lazy().write("x", [b"a", b"b"])


def test_paths_are_canonicalised_once_for_every_method(store: MemoryArtifactStore) -> None:
    info = store.write("./a//b/%63", b"x")
    assert info.path == "a/b/c"
    assert store.objects == {"a/b/c": b"x"}
    assert store.info("a%2fb") == ListEntry("a/b", True, None)
    with pytest.raises(UnsafePathError, match="store root"):
        store.write(".", b"x")


def test_listing_hides_names_no_method_could_address(store: MemoryArtifactStore) -> None:
    store.objects.update({"ok": b"1", "a%41": b"2", "~tmp": b"3", "x\\y": b"4", "dir/b..": b"5"})
    assert [e.path for e in store.list("", recursive=True)] == ["ok"]
    assert [e.path for e in store.list("")] == ["dir", "ok"]


def test_iter_read_opens_eagerly_and_closes(store: MemoryArtifactStore) -> None:
    store.write("x", b"abcdef")
    handles: list[io.BytesIO] = []
    original = store._open_read

    def tracking(key: str) -> BinaryIO:
        handle = cast(io.BytesIO, original(key))
        handles.append(handle)
        return handle

    store._open_read = tracking  # type: ignore[method-assign]
    assert list(store.iter_read("x", chunk_size=4)) == [b"abcd", b"ef"]
    assert handles[-1].closed
    chunks = store.iter_read("x")
    assert not handles[-1].closed
    del chunks  # dropped before the first next(): still closed
    assert handles[-1].closed
    with pytest.raises(FileNotFoundError):
        store.iter_read("missing")
    with pytest.raises(ValueError, match="chunk_size"):
        store.iter_read("x", chunk_size=0)


def test_value_types_are_frozen() -> None:
    info = ObjectInfo("a", 1, "0" * 64)
    with pytest.raises(AttributeError):
        info.size = 2  # type: ignore[misc]
    assert ListEntry("a", True, None) == ListEntry("a", True, None)


# -- the kit catches broken stores ------------------------------------------------------------------


class NonAtomicStore(MemoryArtifactStore):
    def _write(self, key: str, chunks: Iterator[bytes]) -> None:
        full = self._key(key)
        self.objects[full] = b""
        for chunk in chunks:  # visible while (and after failing) being written
            self.objects[full] += chunk


class LeakySubStore(MemoryArtifactStore):
    def _sub(self, key: str) -> ArtifactStore:
        return self  # no isolation between workspaces


class SilentDeleteStore(MemoryArtifactStore):
    def _delete(self, key: str) -> None:
        self.objects.pop(self._key(key), None)  # missing objects are not reported


class UncheckedPathStore(MemoryArtifactStore):
    def full_uri(self, path: str) -> str:  # a public method that bypasses canonicalize()
        return f"{self.uri}/{path}"


class _EagerParts(NativeMultipart):
    """Appends every part to the object as it arrives: visible before the commit, in arrival order."""

    mode = "eager"

    def __init__(self, store: MemoryArtifactStore) -> None:
        self.store = store

    def begin(self, key: str, upload: str) -> MultipartState:
        return {"mode": self.mode}

    def put_part(
        self, key: str, upload: str, state: Mapping[str, str], number: int, part: MeteredChunks, *, last: bool
    ) -> None:
        full = self.store._key(key)
        self.store.objects[full] = self.store.objects.get(full, b"") + b"".join(part)

    def commit(
        self,
        key: str,
        upload: str,
        state: Mapping[str, str],
        parts: Sequence[tuple[int, str]],
        max_bytes: int | None,
    ) -> ObjectInfo:
        return ObjectInfo(key, len(self.store.objects[self.store._key(key)]), parts[0][1])

    def abort(self, key: str, upload: str, state: Mapping[str, str]) -> None:
        pass


class EagerPartsStore(MemoryArtifactStore):
    def _native_multipart(self) -> NativeMultipart:
        return _EagerParts(self)


@pytest.mark.parametrize(
    ("broken", "failing_check"),
    [
        (NonAtomicStore, "failed_write_leaves_nothing"),
        (LeakySubStore, "sub_store"),
        (SilentDeleteStore, "missing"),
        (UncheckedPathStore, "unsafe_paths_rejected"),
        (EagerPartsStore, "multipart"),
    ],
)
def test_kit_catches_broken_stores(broken: type[MemoryArtifactStore], failing_check: str) -> None:
    with pytest.raises((AssertionError, FileNotFoundError)):
        ARTIFACT_STORE_CHECKS[failing_check](broken())
    with pytest.raises(AssertionError, match=failing_check):
        check_artifact_store(broken(), skip=frozenset(ARTIFACT_STORE_CHECKS) - {failing_check})


def test_kit_rejects_unknown_skips(store: MemoryArtifactStore) -> None:
    with pytest.raises(ValueError, match="unknown checks"):
        check_artifact_store(store, skip=frozenset({"nope"}))
