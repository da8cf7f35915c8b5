"""The local backend: atomic replace with fsync, crash leftovers, and symlinks that lead outside."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.artifacts import LocalArtifactStore, UnsafePathError, open_artifact_store
from stratus.artifacts.local import TEMP_PREFIX

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="POSIX symlinks")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> LocalArtifactStore:
    return LocalArtifactStore(root)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the store with a secret in it."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_bytes(b"secret")
    return path


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX)]


# -- atomic writes ----------------------------------------------------------------------------------


def test_write_fsyncs_file_and_directory_then_replaces(
    store: LocalArtifactStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        assert Path(src).parent == Path(dst).parent, "the temporary file must be in the target directory"
        assert Path(src).name.startswith(TEMP_PREFIX)
        calls.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    store.write("a/b.txt", b"data")
    assert calls == ["fsync-file", "replace", "fsync-dir"]
    assert (root / "a" / "b.txt").read_bytes() == b"data"
    assert _temp_files(root) == []


def test_failed_write_removes_its_temporary_file(store: LocalArtifactStore, root: Path) -> None:
    def failing() -> Iterator[bytes]:
        yield b"partial"
        assert _temp_files(root), "data is streamed to a temporary file"
        raise KeyboardInterrupt  # not just Exception: any interruption cleans up

    with pytest.raises(KeyboardInterrupt):
        store.write("x/y.bin", failing())
    assert _temp_files(root) == []
    assert not store.exists("x/y.bin")


def test_crash_mid_write_leaves_no_visible_object(store: LocalArtifactStore, root: Path) -> None:
    """A process that dies mid-write leaves only an invisible temporary file, and no partial object."""
    store.write("crash/target.bin", b"old")
    script = textwrap.dedent(
        f"""
        import os
        from stratus.artifacts import LocalArtifactStore

        def chunks():
            yield b"new partial data" * 10000  # past the write buffer, so it reaches the disk
            os._exit(17)  # no cleanup handlers run, as in a power cut or SIGKILL

        LocalArtifactStore({str(root)!r}).write("crash/target.bin", chunks())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert result.returncode == 17
    leftovers = _temp_files(root)
    assert len(leftovers) == 1 and leftovers[0].read_bytes().startswith(b"new partial data")
    assert store.read_bytes("crash/target.bin") == b"old"
    assert [e.path for e in store.list("", recursive=True)] == ["crash/target.bin"]
    assert [e.path for e in store.list("crash")] == ["crash/target.bin"]
    with pytest.raises(UnsafePathError):
        store.read_bytes(f"crash/{leftovers[0].name}")  # temporary names are not addressable
    assert store.delete_tree("") == 1  # counts objects, but sweeps the leftover too
    assert list(root.iterdir()) == []


def _crash_mid_write(root: Path, path: str) -> None:
    script = textwrap.dedent(
        f"""
        import os
        from stratus.artifacts import LocalArtifactStore

        def chunks():
            yield b"partial" * 10000
            os._exit(17)

        LocalArtifactStore({str(root)!r}).write({path!r}, chunks())
        """
    )
    assert subprocess.run([sys.executable, "-c", script], check=False, timeout=60).returncode == 17


def test_sweep_removes_what_killed_writes_left(store: LocalArtifactStore, root: Path) -> None:
    store.write("keep/x.bin", b"x")
    _crash_mid_write(root, "keep/killed.bin")
    _crash_mid_write(root, "deep/er/killed.bin")
    _crash_mid_write(root, "fresh/killed.bin")
    old, fresh = 1_000_000_000, 2_000_000_000
    for temp in _temp_files(root):
        os.utime(temp, (old, old) if "fresh" not in str(temp) else (fresh, fresh))
    staging = root / "~stratus-staging" / "up" / "parts"  # a multipart upload's: swept with its upload
    staging.mkdir(parents=True)
    (staging / f"{TEMP_PREFIX}part").write_bytes(b"p")
    os.utime(staging / f"{TEMP_PREFIX}part", (old, old))
    cutoff = 1_500_000_000

    assert store.sweep_interrupted_writes(cutoff, dry_run=True) == 2
    assert len(_temp_files(root)) == 4
    assert store.sub("deep").sweep_interrupted_writes(cutoff) == 1  # a sub-store sweeps below itself
    assert store.sweep_interrupted_writes(cutoff) == 1
    assert sorted(p.relative_to(root).parts[0] for p in _temp_files(root)) == ["fresh", "~stratus-staging"]
    assert not (root / "deep").exists()  # directories left empty go, as after a delete
    assert [e.path for e in store.list("", recursive=True)] == ["keep/x.bin"]


def test_files_are_private(store: LocalArtifactStore, root: Path) -> None:
    store.write("p.txt", b"x")
    assert stat.S_IMODE((root / "p.txt").stat().st_mode) == 0o600


def test_parent_that_is_an_object(store: LocalArtifactStore) -> None:
    store.write("a", b"file")
    with pytest.raises(NotADirectoryError):
        store.write("a/b", b"x")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("a/b")
    assert not store.exists("a/b")
    store.write("d/x", b"x")
    with pytest.raises(IsADirectoryError):
        store.write("d", b"x")


def test_concurrent_writes_and_deletes_in_one_directory(store: LocalArtifactStore) -> None:
    """Deletes prune empty directories; writers racing with that recreate them instead of failing."""
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for round_ in range(30):
                store.write(f"shared/deep/{index}-{round_}", b"x")
                store.delete(f"shared/deep/{index}-{round_}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.list("") == []


def test_root_is_created_and_kept(tmp_path: Path) -> None:
    root = tmp_path / "new" / "root"
    store = LocalArtifactStore(root)
    assert root.is_dir()
    store.write("a/b", b"x")
    store.delete("a/b")
    assert root.is_dir() and list(root.iterdir()) == []
    store.write("c", b"x")
    assert store.delete_tree("") == 1
    assert root.is_dir()


def test_uris_and_root_path(store: LocalArtifactStore, root: Path) -> None:
    assert store.uri == "file://" + root.resolve().as_posix()
    assert store.full_uri("a/b c") == store.uri + "/a/b c"
    sub = store.sub("ws")
    assert isinstance(sub, LocalArtifactStore)
    assert sub.root_path == root.resolve() / "ws"
    assert open_artifact_store(store.uri).uri == store.uri


# -- special files ------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_not_an_artifact_and_does_not_hang(store: LocalArtifactStore, root: Path) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("pipe")  # O_NONBLOCK: opening a FIFO with no writer would block forever
    with pytest.raises(FileNotFoundError):
        store.info("pipe")
    assert store.list("") == []


# -- symlinks -----------------------------------------------------------------------------------------


@needs_symlinks
def test_file_symlink_outside_is_refused(store: LocalArtifactStore, root: Path, outside: Path) -> None:
    (root / "link.txt").symlink_to(outside / "secret.txt")
    for call in (
        lambda: store.read_bytes("link.txt"),
        lambda: store.open_read("link.txt"),
        lambda: store.info("link.txt"),
        lambda: store.write("link.txt", b"overwritten"),
        lambda: store.delete("link.txt"),
        lambda: store.delete_tree("link.txt"),
        lambda: store.list("link.txt"),
        lambda: store.exists("link.txt"),
    ):
        with pytest.raises(UnsafePathError, match="outside the artifact store"):
            call()
    assert store.list("") == []  # the link is not listed, so nothing about the outside leaks
    assert (outside / "secret.txt").read_bytes() == b"secret"


@needs_symlinks
def test_directory_symlink_outside_is_refused(store: LocalArtifactStore, root: Path, outside: Path) -> None:
    (root / "dir").symlink_to(outside, target_is_directory=True)
    for call in (
        lambda: store.read_bytes("dir/secret.txt"),
        lambda: store.write("dir/new.txt", b"x"),
        lambda: store.write("dir/deeper/new.txt", b"x"),
        lambda: store.list("dir"),
        lambda: store.list("dir", recursive=True),
        lambda: store.delete("dir/secret.txt"),
        lambda: store.delete_tree("dir"),
        lambda: store.sub("dir").read_bytes("secret.txt"),
        lambda: store.sub("dir").list(""),
    ):
        with pytest.raises(UnsafePathError):
            call()
    store.write("real/x", b"x")
    assert [e.path for e in store.list("", recursive=True)] == ["real/x"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert store.delete_tree("") == 1  # removes the link itself, never what it points to
    assert (outside / "secret.txt").read_bytes() == b"secret"
    assert not (root / "dir").exists()


@needs_symlinks
def test_dangling_symlink_outside_cannot_be_written_through(
    store: LocalArtifactStore, root: Path, outside: Path
) -> None:
    (root / "planted").symlink_to(outside / "created-by-attack")
    with pytest.raises(UnsafePathError):
        store.write("planted", b"x")
    assert not (outside / "created-by-attack").exists()


@needs_symlinks
def test_symlink_into_a_sibling_workspace_is_refused(store: LocalArtifactStore, root: Path) -> None:
    store.sub("ws2").write("private.txt", b"ws2 only")
    (root / "ws1").mkdir()
    (root / "ws1" / "peek").symlink_to(root / "ws2", target_is_directory=True)
    ws1 = store.sub("ws1")
    with pytest.raises(UnsafePathError):
        ws1.read_bytes("peek/private.txt")
    assert ws1.list("") == []
    # From the parent store the same link stays inside, so it is allowed there.
    assert store.read_bytes("ws1/peek/private.txt") == b"ws2 only"


@needs_symlinks
def test_sub_store_root_that_is_a_symlink_is_refused(
    store: LocalArtifactStore, root: Path, outside: Path
) -> None:
    (root / "ws").symlink_to(outside, target_is_directory=True)
    ws = store.sub("ws")
    with pytest.raises(UnsafePathError):
        ws.list("")
    with pytest.raises(UnsafePathError):
        ws.write("x", b"x")


@needs_symlinks
def test_symlinks_that_stay_inside_work(store: LocalArtifactStore, root: Path) -> None:
    store.write("data/real.txt", b"real")
    (root / "alias.txt").symlink_to(root / "data" / "real.txt")
    (root / "alias-dir").symlink_to(root / "data", target_is_directory=True)
    assert store.read_bytes("alias.txt") == b"real"
    assert store.read_bytes("alias-dir/real.txt") == b"real"
    assert [e.path for e in store.list("")] == ["alias-dir", "alias.txt", "data"]
    # Recursive listings do not descend into linked directories (a link could make a loop).
    assert [e.path for e in store.list("", recursive=True)] == ["alias.txt", "data/real.txt"]


@needs_symlinks
def test_store_root_may_itself_be_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "disk").mkdir()
    (tmp_path / "configured").symlink_to(tmp_path / "disk", target_is_directory=True)
    store = LocalArtifactStore(tmp_path / "configured")
    store.write("a.txt", b"a")
    assert (tmp_path / "disk" / "a.txt").read_bytes() == b"a"
    assert store.read_bytes("a.txt") == b"a"


@needs_symlinks
def test_symlink_swapped_in_after_the_check_is_not_followed(
    store: LocalArtifactStore, root: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the last component becomes a symlink between resolving and opening, O_NOFOLLOW refuses it."""
    store.write("victim.txt", b"mine")
    (root / "victim.txt").unlink()
    (root / "victim.txt").symlink_to(outside / "secret.txt")
    monkeypatch.setattr(
        LocalArtifactStore, "_fs_path", lambda self, key: str(root / key)
    )  # the "check" ran earlier
    with pytest.raises(UnsafePathError, match="symlink"):
        store.read_bytes("victim.txt")


@needs_symlinks
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_opened_file_outside_the_root_is_refused(
    store: LocalArtifactStore, root: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An intermediate directory swapped for a symlink after the check is caught after opening."""
    (root / "d").symlink_to(outside, target_is_directory=True)
    monkeypatch.setattr(LocalArtifactStore, "_fs_path", lambda self, key: str(root / key))
    with pytest.raises(UnsafePathError, match="outside the artifact store"):
        store.read_bytes("d/secret.txt")
