"""Conformance kit for :class:`~stratus.artifacts.ArtifactStore` implementations.

Every check takes an empty store and raises AssertionError (with a message saying what differed) when
the implementation does not behave like the contract says. The same checks run against the file, az
and s3 backends in Stratus's own tests; a new backend passes them too::

    from stratus.testing.artifact_store import ARTIFACT_STORE_CHECKS, check_artifact_store

    check_artifact_store(store)            # all checks, each in its own fresh sub-store
    ARTIFACT_STORE_CHECKS["list"](store)   # one check, on an empty store

The kit does not import pytest and does not rely on ``assert`` statements (which ``-O`` removes).
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import TypeVar

from stratus.artifacts import (
    STAGING_DIR,
    ArtifactStore,
    ArtifactTooLargeError,
    ListEntry,
    MultipartPartsError,
    ObjectInfo,
    PartInfo,
    StagedPieceMismatchError,
    UnsafePathError,
    composite_digest,
)

__all__ = ["ARTIFACT_STORE_CHECKS", "UNSAFE_PATHS", "Check", "check_artifact_store"]

Check = Callable[[ArtifactStore], None]
_E = TypeVar("_E", bound=BaseException)

MIB = 1 << 20

# Paths every method must refuse; a mix of traversal, absolute, scheme, encoding and look-alike tricks.
UNSAFE_PATHS: tuple[str, ...] = (
    "..",
    "../x",
    "a/../../x",
    "a/..",
    "/etc/passwd",
    "//host/share/x",
    "\\\\host\\share",
    "a\\..\\..\\x",
    "C:\\Windows\\x",
    "C:/x",
    "file:///etc/passwd",
    "s3://bucket/key",
    "az://container/blob",
    "~",
    "~/x",
    "a\x00b",
    "a\nb",
    "a#b",
    "a?b",
    "a;b",
    "%2e%2e/x",
    "%2E%2E%2Fx",
    "..%2fx",
    "..%5cx",
    "%252e%252e/x",
    "%25252e%25252e%25252fx",
    "a%00b",
    "%c0%ae%c0%ae/x",
    "\u2025/x",
    "\uff0e\uff0e/x",
    "a\u202eb",
    "...",
)


class _BoomError(Exception):
    """Raised by a data source half way through, to prove failed writes leave nothing behind."""


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _equal(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def _raises(expected: type[_E] | tuple[type[_E], ...], call: Callable[[], object], what: str) -> _E:
    try:
        call()
    except expected as exc:
        return exc
    except Exception as exc:
        raise AssertionError(f"{what}: expected {expected}, got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{what}: expected {expected}, but nothing was raised")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file(path: str, data: bytes) -> ListEntry:
    return ListEntry(path=path, is_dir=False, size=len(data))


def _dir(path: str) -> ListEntry:
    return ListEntry(path=path, is_dir=True, size=None)


def _all_paths(store: ArtifactStore) -> list[str]:
    return [e.path for e in store.list("", recursive=True)]


def _payload(size: int, seed: bytes = b"stratus") -> bytes:
    """Deterministic, incompressible-looking bytes (so a wrong chunk order changes the hash)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def _failing(chunks: list[bytes]) -> Iterator[bytes]:
    yield from chunks
    raise _BoomError("data source failed half way")


# -- checks -------------------------------------------------------------------------------------


def check_write_and_read_back(store: ArtifactStore) -> None:
    data = _payload(300_000)
    info = store.write("dir/file.bin", data)
    _equal(info, ObjectInfo("dir/file.bin", len(data), _sha(data)), "write() result")
    _equal(store.read_bytes("dir/file.bin"), data, "read_bytes")
    with store.open_read("dir/file.bin") as handle:
        head = handle.read(10)
        rest = handle.read()
    _equal(head + rest, data, "open_read in two reads")
    chunks = list(store.iter_read("dir/file.bin", chunk_size=65_536))
    _equal(b"".join(chunks), data, "iter_read")
    _expect(all(0 < len(c) <= 65_536 for c in chunks), "iter_read chunks must be 1..chunk_size bytes")
    _equal(store.checksum("dir/file.bin"), info, "checksum")
    _equal(store.info("dir/file.bin"), _file("dir/file.bin", data), "info of an object")
    _equal(store.info("dir"), _dir("dir"), "info of a directory")
    _equal(store.info(""), _dir(""), "info of the root")
    _expect(store.exists("dir/file.bin") and store.exists("dir") and store.exists(""), "exists")


def check_write_sources(store: ArtifactStore) -> None:
    data = _payload(5000)
    sources: dict[str, object] = {
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "file": io.BytesIO(data),
        "chunks": [data[:1], b"", data[1:4000], data[4000:]],
        "generator": (data[i : i + 999] for i in range(0, len(data), 999)),
    }
    for name, source in sources.items():
        info = store.write(f"src/{name}", source)  # type: ignore[arg-type]
        _equal(info, ObjectInfo(f"src/{name}", len(data), _sha(data)), f"write from {name}")
        _equal(store.read_bytes(f"src/{name}"), data, f"read back of {name}")
    empty = store.write("src/empty", b"")
    _equal(empty, ObjectInfo("src/empty", 0, _sha(b"")), "empty write")
    _equal(store.read_bytes("src/empty"), b"", "empty read")
    _equal(store.info("src/empty"), _file("src/empty", b""), "info of an empty object")
    _equal(list(store.iter_read("src/empty")), [], "iter_read of an empty object")
    _raises(TypeError, lambda: store.write("src/str", "text"), "write of a str")  # type: ignore[arg-type]
    _raises(TypeError, lambda: store.write("src/strs", ["a", "b"]), "write of str chunks")  # type: ignore[list-item]
    _expect(not store.exists("src/str") and not store.exists("src/strs"), "rejected data left an object")


def check_large_streamed_write(store: ArtifactStore) -> None:
    """Larger than one upload part (multipart / several staged blocks), streamed in odd-sized chunks."""
    data = _payload(17 * MIB + 12_345)
    chunks = (data[i : i + 3 * MIB + 1] for i in range(0, len(data), 3 * MIB + 1))
    info = store.write("big/blob.bin", chunks)
    _equal((info.size, info.sha256), (len(data), _sha(data)), "large write result")
    _equal(store.checksum("big/blob.bin"), info, "large read back")
    _equal(store.info("big/blob.bin").size, len(data), "large object size")

    pieces = [data[i : i + MIB] for i in range(0, 17 * MIB, MIB)]
    _raises(_BoomError, lambda: store.write("big/failed.bin", _failing(pieces)), "large failing write")
    _expect(not store.exists("big/failed.bin"), "a large failed write left a visible object")
    _raises(_BoomError, lambda: store.write("big/blob.bin", _failing(pieces)), "large failing overwrite")
    _equal(store.checksum("big/blob.bin"), info, "object after a failed overwrite")
    _equal(_all_paths(store), ["big/blob.bin"], "objects after failed large writes")


def check_failed_write_leaves_nothing(store: ArtifactStore) -> None:
    exc = _raises(
        _BoomError, lambda: store.write("f/new.txt", _failing([b"partial ", b"data"])), "failing write"
    )
    _expect(isinstance(exc, _BoomError), "the data source's own exception must propagate")
    _expect(not store.exists("f/new.txt"), "a failed write left a visible object")
    _equal(store.list("", recursive=True), [], "listing after a failed write")
    store.write("f/old.txt", b"old content")
    _raises(_BoomError, lambda: store.write("f/old.txt", _failing([b"new"])), "failing overwrite")
    _equal(store.read_bytes("f/old.txt"), b"old content", "object after a failed overwrite")
    _equal(store.list("", recursive=True), [_file("f/old.txt", b"old content")], "listing")


def check_max_bytes(store: ArtifactStore) -> None:
    _equal(store.write("m/exact", b"x" * 10, max_bytes=10).size, 10, "write of exactly max_bytes")
    _equal(store.write("m/zero", b"", max_bytes=0).size, 0, "empty write with max_bytes=0")
    error = _raises(ArtifactTooLargeError, lambda: store.write("m/big", b"x" * 11, max_bytes=10), "too big")
    _expect(isinstance(error, ValueError) and "10" in str(error), "ArtifactTooLargeError names the limit")
    streamed = (b"x" * 4 for _ in range(3))
    _raises(ArtifactTooLargeError, lambda: store.write("m/big", streamed, max_bytes=10), "too big, streamed")
    _raises(ArtifactTooLargeError, lambda: store.write("m/big", io.BytesIO(b"y" * 11), max_bytes=10), "file")
    _expect(not store.exists("m/big"), "a write past max_bytes left a visible object")
    _raises(ArtifactTooLargeError, lambda: store.write("m/exact", [b"z" * 11], max_bytes=10), "overwrite")
    _equal(store.read_bytes("m/exact"), b"x" * 10, "object after a too-large overwrite")
    _equal(_all_paths(store), ["m/exact", "m/zero"], "objects after too-large writes")


def check_overwrite(store: ArtifactStore) -> None:
    store.write("o/a.txt", b"one")
    info = store.write("o/a.txt", b"two!!")
    _equal(info, ObjectInfo("o/a.txt", 5, _sha(b"two!!")), "overwrite result")
    _equal(store.read_bytes("o/a.txt"), b"two!!", "read after overwrite")
    _equal(store.list("o"), [_file("o/a.txt", b"two!!")], "listing after overwrite")


def check_missing(store: ArtifactStore) -> None:
    store.write("present/x", b"x")
    for path in ("missing", "present/missing", "missing/deeper/x"):
        for name, call in {
            "read_bytes": lambda p=path: store.read_bytes(p),
            "open_read": lambda p=path: store.open_read(p),
            "iter_read": lambda p=path: store.iter_read(p),  # must fail on the call, not on next()
            "checksum": lambda p=path: store.checksum(p),
            "info": lambda p=path: store.info(p),
            "delete": lambda p=path: store.delete(p),
        }.items():
            _raises(FileNotFoundError, call, f"{name}({path!r})")
        _expect(not store.exists(path), f"exists({path!r}) of a missing path")
        _equal(store.list(path), [], f"list({path!r})")
        _equal(store.list(path, recursive=True), [], f"list({path!r}, recursive=True)")
        _equal(store.delete_tree(path), 0, f"delete_tree({path!r})")
    _equal(_all_paths(store), ["present/x"], "objects after operations on missing paths")


def check_object_operations_on_directories(store: ArtifactStore) -> None:
    store.write("d/inner/x", b"x")
    for name, call in {
        "read_bytes": lambda: store.read_bytes("d"),
        "open_read": lambda: store.open_read("d/inner"),
        "delete": lambda: store.delete("d"),
    }.items():
        _raises((IsADirectoryError, FileNotFoundError), call, f"{name} of a directory")
    for name, call in {
        "read_bytes": lambda: store.read_bytes(""),
        "write": lambda: store.write("", b"x"),
        "delete": lambda: store.delete("./"),
    }.items():
        _raises(UnsafePathError, call, f"{name} of the root")
    _equal(_all_paths(store), ["d/inner/x"], "objects after object operations on directories")


def check_list(store: ArtifactStore) -> None:
    objects = {
        "a.txt": b"a",
        "ab.txt": b"ab",
        "b/c.txt": b"c",
        "b/d/e.txt": b"ee",
        "b/d/f.txt": b"fff",
        "b/dz.txt": b"dz",
    }
    for path, data in objects.items():
        store.write(path, data)
    every = [_file(p, d) for p, d in sorted(objects.items())]
    _equal(store.list(""), [_file("a.txt", b"a"), _file("ab.txt", b"ab"), _dir("b")], "list('')")
    _equal(store.list("", recursive=True), every, "list('', recursive=True)")
    expected_b = [_file("b/c.txt", b"c"), _dir("b/d"), _file("b/dz.txt", b"dz")]
    for spelling in ("b", "b/", "./b", "b//", "b/."):
        _equal(store.list(spelling), expected_b, f"list({spelling!r})")
    _equal(
        store.list("b", recursive=True),
        [e for e in every if e.path.startswith("b/")],
        "list('b', recursive=True)",
    )
    _equal(store.list("b/d"), [_file("b/d/e.txt", b"ee"), _file("b/d/f.txt", b"fff")], "list('b/d')")
    _equal(store.list("a"), [], "a prefix that is only the start of a name lists as empty")
    _equal(store.list("a.txt"), [], "an object lists as empty")
    _equal(store.list("a.txt", recursive=True), [], "an object lists as empty, recursively")


def check_delete(store: ArtifactStore) -> None:
    store.write("x/y/z.txt", b"z")
    store.write("x/keep.txt", b"k")
    store.delete("x/y/z.txt")
    _expect(not store.exists("x/y/z.txt"), "deleted object still exists")
    _raises(FileNotFoundError, lambda: store.delete("x/y/z.txt"), "second delete")
    _expect(not store.exists("x/y"), "a directory whose last object was deleted must disappear")
    _equal(store.list("x"), [_file("x/keep.txt", b"k")], "listing after delete")
    store.delete("./x//keep.txt")
    _equal(store.list(""), [], "listing after deleting everything")


def check_delete_tree(store: ArtifactStore) -> None:
    for path in ("t/a", "t/b/c", "t/b/d", "tx/e", "t2"):
        store.write(path, path.encode())
    _equal(store.delete_tree("t"), 3, "delete_tree('t') count")
    _equal(_all_paths(store), ["t2", "tx/e"], "objects after delete_tree('t')")
    _equal(store.delete_tree("t2"), 1, "delete_tree of an object removes that object")
    _equal(store.delete_tree("t"), 0, "delete_tree of a removed prefix")
    _equal(store.delete_tree(""), 1, "delete_tree('') count")
    _equal(store.list("", recursive=True), [], "objects after delete_tree('')")
    _equal(store.list(""), [], "listing after delete_tree('')")
    store.write("again/x", b"x")
    _equal(store.read_bytes("again/x"), b"x", "the store is usable after delete_tree('')")


def check_sub_store(store: ArtifactStore) -> None:
    ws1, ws2 = store.sub("ws1"), store.sub("ws2/")
    ws1.write("a/b", b"1")
    ws2.write("a/b", b"2")
    store.write("ws1x", b"sibling object")
    _equal(store.read_bytes("ws1/a/b"), b"1", "parent sees the sub-store's object")
    _equal(ws1.list("", recursive=True), [_file("a/b", b"1")], "sub-store lists relative paths")
    _equal(ws1.list(""), [_dir("a")], "sub-store lists its root")
    _equal([e.path for e in store.list("")], ["ws1", "ws1x", "ws2"], "parent listing")
    _equal(ws1.uri, store.full_uri("ws1"), "sub-store uri")
    _equal(ws1.full_uri("a/b"), store.full_uri("ws1/a/b"), "sub-store full_uri")
    _equal(store.full_uri("ws1/a/b"), store.uri + "/ws1/a/b", "full_uri is uri + '/' + path")
    _equal(store.full_uri(""), store.uri, "full_uri of the root")
    _equal(store.sub("ws1").sub("a").read_bytes("b"), b"1", "sub-store of a sub-store")
    _equal(store.sub("ws1/a").uri, ws1.sub("a").uri, "nested sub-stores")
    _equal(store.sub("").uri, store.uri, "sub('') is the same view")
    _equal(ws1.delete_tree(""), 1, "delete_tree('') of a sub-store")
    _equal(_all_paths(store), ["ws1x", "ws2/a/b"], "delete_tree('') of a sub-store touches only it")
    _expect(not store.exists("ws1"), "an emptied sub-store's prefix must disappear")
    ws1.write("c", b"3")
    _equal(ws1.read_bytes("c"), b"3", "an emptied sub-store is still usable")


def check_unsafe_paths_rejected(store: ArtifactStore) -> None:
    store.write("sentinel", b"s")
    for path in UNSAFE_PATHS:
        for name, call in {
            "write": lambda p=path: store.write(p, b"evil"),
            "read_bytes": lambda p=path: store.read_bytes(p),
            "open_read": lambda p=path: store.open_read(p),
            "iter_read": lambda p=path: store.iter_read(p),
            "checksum": lambda p=path: store.checksum(p),
            "info": lambda p=path: store.info(p),
            "exists": lambda p=path: store.exists(p),
            "list": lambda p=path: store.list(p),
            "list recursive": lambda p=path: store.list(p, recursive=True),
            "delete": lambda p=path: store.delete(p),
            "delete_tree": lambda p=path: store.delete_tree(p),
            "sub": lambda p=path: store.sub(p),
            "full_uri": lambda p=path: store.full_uri(p),
        }.items():
            _raises(UnsafePathError, call, f"{name}({path!r})")
    _equal(_all_paths(store), ["sentinel"], "objects after unsafe calls")


def check_equivalent_spellings(store: ArtifactStore) -> None:
    info = store.write("dir//sub/./f.txt", b"data")
    _equal(info.path, "dir/sub/f.txt", "write returns the canonical path")
    for spelling in (
        "dir/sub/f.txt",
        "./dir/sub/f.txt",
        "dir/sub//f.txt",
        "dir%2fsub%2Ff.txt",
        "dir/sub/f.txt/",
    ):
        _equal(store.read_bytes(spelling), b"data", f"read via {spelling!r}")
    _equal(_all_paths(store), ["dir/sub/f.txt"], "one object for all spellings")


def check_unusual_names(store: ArtifactStore) -> None:
    names = [
        "spaces in name.txt",
        "caf\u00e9/\u00fc \u00f1.bin",
        "\u65e5\u672c\u8a9e/\u30c7\u30fc\u30bf.csv",
        "a+b=c,d@e!f'g(h){i}$k&l.txt",
        "100%.txt",
        "UPPER/lower.TXT",
        ".hidden/.file",
        "-dash/_under",
    ]
    for name in names:
        store.write(name, name.encode())
    _equal(_all_paths(store), sorted(names), "listing of unusual names")
    for name in names:
        _equal(store.read_bytes(name), name.encode(), f"read back {name!r}")
    # A decomposed "e" + combining accent is the same object as the composed one (NFC).
    _equal(store.read_bytes("cafe\u0301/\u00fc \u00f1.bin"), names[1].encode(), "NFC-equivalent name")
    _equal(store.delete_tree(""), len(names), "delete_tree of unusual names")


def check_concurrent_writes(store: ArtifactStore) -> None:
    payloads = [_payload(256 * 1024, seed=bytes([i])) for i in range(4)]
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            store.write("race/same.bin", payloads[index])
            store.write(f"race/dir{index}/own.bin", payloads[index])
        except BaseException as exc:  # reported below, in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _equal(errors, [], "errors from concurrent writers")
    _expect(store.read_bytes("race/same.bin") in payloads, "concurrent writes mixed their contents")
    for index, payload in enumerate(payloads):
        _equal(store.read_bytes(f"race/dir{index}/own.bin"), payload, f"writer {index}'s own object")
    _equal(len(store.list("race", recursive=True)), 5, "objects after concurrent writes")


def check_staging(store: ArtifactStore) -> None:
    """Staged pieces stay out of the artifact tree; compose() is atomic and checks each piece."""
    store.write("visible.txt", b"v")
    a, b = _payload(300_000, seed=b"a"), _payload(5000, seed=b"b")
    names = ["parts/00001", "parts/00002", "parts/00003"]
    for name, data in zip(names, (a, b"first try", b""), strict=True):
        info = store.write_staged("up1", name, data)
        _equal((info.size, info.sha256), (len(data), _sha(data)), f"write_staged({name!r})")
    _equal(store.write_staged("up1", "parts/00002", iter([b[:7], b[7:]])).sha256, _sha(b), "restaging")
    store.write_staged("up1", "manifest.json", b"{}")
    store.write_staged("up2", "x", b"2")
    store.sub("inner").write_staged("up3", "x", b"3")

    _equal(_all_paths(store), ["visible.txt"], "staged objects must not list")
    _equal(store.list("inner"), [], "a sub-store's staged objects must not list")
    for spelling in (STAGING_DIR, f"{STAGING_DIR}/up1/manifest.json", "%7Estratus-staging/up2/x"):
        _raises(UnsafePathError, partial(store.read_bytes, spelling), f"read_bytes({spelling!r})")
        _raises(UnsafePathError, partial(store.delete_tree, spelling), f"delete_tree({spelling!r})")
    _equal(store.staged_uploads(), ["up1", "up2"], "staged_uploads (not those of sub-stores)")
    _equal(
        store.list_staged("up1"),
        [_file("manifest.json", b"{}"), _file(names[0], a), _file(names[1], b), _file(names[2], b"")],
        "list_staged",
    )
    _equal(store.list_staged("never"), [], "list_staged of an unknown upload")
    _equal(store.read_staged("up1", "manifest.json"), b"{}", "read_staged")
    _raises(FileNotFoundError, lambda: store.read_staged("up1", "nothing"), "read_staged of a missing name")

    digests = [_sha(a), _sha(b), _sha(b"")]
    info = store.compose("out/whole.bin", "up1", names, expected_sha256=digests)
    _equal(info, ObjectInfo("out/whole.bin", len(a) + len(b), _sha(a + b)), "compose result")
    _equal(store.read_bytes("out/whole.bin"), a + b, "composed object")
    wrong = [_sha(a), _sha(a), _sha(b"")]
    for target in ("out/bad.bin", "out/whole.bin"):
        _raises(
            StagedPieceMismatchError,
            partial(store.compose, target, "up1", names, expected_sha256=wrong),
            f"compose({target!r}) with a wrong digest",
        )
        _raises(
            FileNotFoundError,
            partial(store.compose, target, "up1", [names[0], "parts/00009"]),
            f"compose({target!r}) with a missing piece",
        )
        _raises(
            ArtifactTooLargeError,
            partial(store.compose, target, "up1", names, max_bytes=len(a)),
            f"compose({target!r}) past max_bytes",
        )
    _expect(not store.exists("out/bad.bin"), "a failed compose left a visible object")
    _equal(store.read_bytes("out/whole.bin"), a + b, "object after failed composes over it")

    store.delete_staged("up1", "parts")
    _equal(store.list_staged("up1"), [_file("manifest.json", b"{}")], "list_staged after deleting parts")
    store.delete_staged("up1")
    store.delete_staged("up1")  # nothing there: no error
    _equal(store.staged_uploads(), ["up2"], "staged_uploads after delete_staged")
    for upload, name in (("", "x"), ("..", "x"), ("a/b", "x"), ("~u", "x"), ("u" * 129, "x"), ("u", "../x")):
        _raises(UnsafePathError, partial(store.write_staged, upload, name, b""), f"staged {upload!r}")
    for name in ("", "a//b", "~tmp", ".hidden", "a/", "a/../b", "a\\b", "a b", "a/."):
        _raises(UnsafePathError, partial(store.read_staged, "u", name), f"staged name {name!r}")
    _equal(_all_paths(store), ["out/whole.bin", "visible.txt"], "objects after staging")
    store.delete_tree("")
    _equal(_all_paths(store), [], "objects after delete_tree('')")
    _equal(store.staged_uploads(), [], "delete_tree('') removes staged uploads too")
    _equal(store.sub("inner").staged_uploads(), [], "delete_tree('') removes sub-stores' staged uploads")


def _digest_of_parts(info: ObjectInfo, parts: list[bytes], what: str) -> None:
    """A committed object's digest: its sha256 where the store read the parts back, else (parts joined
    in the store) the composite digest of the parts' sha256s -- never anything else."""
    allowed = (_sha(b"".join(parts)), composite_digest(_sha(p) for p in parts))
    _expect(info.sha256 in allowed, f"{what}: digest {info.sha256!r} is neither sha256 nor composite")


def check_multipart(store: ArtifactStore) -> None:
    """Parts are invisible until committed, in any order and uploaded again; the commit is atomic,
    checks every part's sha256, and a second commit of the same parts succeeds again. Parts of 5 MiB
    (S3's minimum but for the last) so that stores that commit natively do."""
    parts = [_payload(5 * MIB, seed=b"p1"), _payload(5 * MIB, seed=b"p2"), _payload(77_777, seed=b"p3")]
    store.write("mpu/old.bin", b"old")
    state = store.begin_multipart("mpu/old.bin", "up1")
    _expect(all(isinstance(k, str) and isinstance(v, str) for k, v in state.items()), "state: strings")
    first_try = _payload(5 * MIB, seed=b"first try")
    _equal(
        store.put_part("mpu/old.bin", "up1", state, 2, first_try, last=False),
        PartInfo(2, len(first_try), _sha(first_try)),
        "put_part result",
    )
    for number in (3, 1, 2):  # any order; part 2 again with other bytes
        data = parts[number - 1]
        chunks = (data[i : i + 999_999] for i in range(0, len(data), 999_999))
        stored = store.put_part("mpu/old.bin", "up1", state, number, chunks, last=number == 3)
        _equal(stored, PartInfo(number, len(data), _sha(data)), f"put_part({number})")
    _equal(store.read_bytes("mpu/old.bin"), b"old", "the object before the commit")
    _equal(_all_paths(store), ["mpu/old.bin"], "parts must not list")

    listed = [(n, _sha(p)) for n, p in enumerate(parts, 1)]
    missing = [*listed, (4, _sha(b""))]
    commit = partial(store.commit_parts, "mpu/old.bin", "up1", state)
    error = _raises(MultipartPartsError, partial(commit, missing), "commit with a part never uploaded")
    _equal(error.missing, (4,), "a part never uploaded")
    # Listing the first try of part 2: a store that replaced it refuses, one that kept both attempts
    # commits exactly what was listed. Either way the object is never other bytes than those listed.
    stale = [listed[0], (2, _sha(first_try)), listed[2]]
    try:
        store.commit_parts("mpu/old.bin", "up1", state, stale)
    except MultipartPartsError as exc:
        _equal(exc.mismatched, (2,), "the part whose sha256 is not that of its latest upload")
        _equal(store.read_bytes("mpu/old.bin"), b"old", "the object after a refused commit")
    else:
        _equal(store.checksum("mpu/old.bin").sha256, _sha(parts[0] + first_try + parts[2]), "stale")
    store.put_part("mpu/old.bin", "up1", state, 2, parts[1], last=False)  # again, after any commit
    _raises(ArtifactTooLargeError, partial(commit, listed, max_bytes=10 * MIB), "commit past max_bytes")
    _raises(ValueError, partial(commit, []), "commit of no parts")
    _raises(ValueError, partial(store.put_part, "mpu/old.bin", "up1", state, 0, b"", last=False), "part 0")
    _raises(ValueError, partial(store.put_part, "mpu/old.bin", "up1", state, 10_001, b"", last=True), "10001")
    _raises(UnsafePathError, partial(store.begin_multipart, "../x", "up9"), "begin on an unsafe path")

    info = store.commit_parts("mpu/old.bin", "up1", state, listed)
    _equal((info.path, info.size), ("mpu/old.bin", sum(map(len, parts))), "commit result")
    _digest_of_parts(info, parts, "commit result")
    _equal(store.checksum("mpu/old.bin").sha256, _sha(b"".join(parts)), "the committed object")
    _equal(store.commit_parts("mpu/old.bin", "up1", state, listed), info, "a second commit of the same parts")
    _equal(_all_paths(store), ["mpu/old.bin"], "objects after the commit")
    store.delete_staged("up1")

    # Small parts (below S3's minimum) and an empty one work too, wherever they are joined.
    small = [b"a" * 1000, b"", b"c" * 10]
    state = store.begin_multipart("mpu/small.bin", "up2")
    for number, data in enumerate(small, 1):
        store.put_part("mpu/small.bin", "up2", state, number, data, last=number == 3)
    info = store.commit_parts("mpu/small.bin", "up2", state, [(n, _sha(p)) for n, p in enumerate(small, 1)])
    _equal(store.read_bytes("mpu/small.bin"), b"".join(small), "an object of small parts")
    _digest_of_parts(info, small, "commit of small parts")
    too_big = partial(store.put_part, "mpu/small.bin", "up2", state, 1, [b"x" * 11], last=False, max_bytes=10)
    _raises(ArtifactTooLargeError, too_big, "put_part past max_bytes")
    store.delete_staged("up2")

    # An aborted upload leaves nothing visible, and its staging folder goes with delete_staged.
    state = store.begin_multipart("mpu/aborted.bin", "up3")
    store.put_part("mpu/aborted.bin", "up3", state, 1, parts[0], last=False)
    store.abort_multipart("mpu/aborted.bin", "up3", state)
    store.abort_multipart("mpu/aborted.bin", "up3", state)  # again: nothing there, no error
    store.delete_staged("up3")
    _equal(store.staged_uploads(), [], "staged uploads after abort")
    _expect(not store.exists("mpu/aborted.bin"), "an aborted upload left an object")
    _equal(_all_paths(store), ["mpu/old.bin", "mpu/small.bin"], "objects at the end")
    _equal(store.sweep_interrupted_writes(time.time() - 3600), 0, "nothing interrupted is an hour old")


ARTIFACT_STORE_CHECKS: dict[str, Check] = {
    "write_and_read_back": check_write_and_read_back,
    "write_sources": check_write_sources,
    "large_streamed_write": check_large_streamed_write,
    "failed_write_leaves_nothing": check_failed_write_leaves_nothing,
    "max_bytes": check_max_bytes,
    "overwrite": check_overwrite,
    "missing": check_missing,
    "object_operations_on_directories": check_object_operations_on_directories,
    "list": check_list,
    "delete": check_delete,
    "delete_tree": check_delete_tree,
    "sub_store": check_sub_store,
    "unsafe_paths_rejected": check_unsafe_paths_rejected,
    "equivalent_spellings": check_equivalent_spellings,
    "unusual_names": check_unusual_names,
    "concurrent_writes": check_concurrent_writes,
    "staging": check_staging,
    "multipart": check_multipart,
}
"""Every check by name; each expects an empty store."""


def check_artifact_store(store: ArtifactStore, *, skip: frozenset[str] = frozenset()) -> None:
    """Run every check (except those named in ``skip``), each in a fresh sub-store that is removed
    afterwards. Raises AssertionError naming the first check that failed or raised."""
    unknown = skip - ARTIFACT_STORE_CHECKS.keys()
    if unknown:
        raise ValueError(f"unknown checks to skip: {sorted(unknown)}")
    run = uuid.uuid4().hex[:8]
    for name, check in ARTIFACT_STORE_CHECKS.items():
        if name in skip:
            continue
        view = store.sub(f"conformance-{run}/{name}")
        try:
            check(view)
        except AssertionError as exc:
            raise AssertionError(f"artifact store check {name!r} failed on {store.uri}: {exc}") from exc
        except Exception as exc:  # an unexpected error is a failed check too; keep its name
            raise AssertionError(
                f"artifact store check {name!r} raised on {store.uri}: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            view.delete_tree("")
    store.delete_tree(f"conformance-{run}")
