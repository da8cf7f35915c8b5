"""File transfers of the SDK through the workspace's proxied artifact routes (``mlflow-artifacts``).

Uploads stream each file from disk and downloads stream to a temporary name that is renamed when
complete, so an interrupted transfer never leaves a file that looks whole. A Rich progress bar (on
stderr) shows bytes when ``show_progress`` is on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from stratus.client._http import Transport
from stratus.errors import InvalidInputError, NotFoundError

ARTIFACT_SCHEME = "mlflow-artifacts:"
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RemoteFile:
    path: str  # under the workspace's artifact root
    size: int


def artifact_path(uri: str) -> str:
    """``mlflow-artifacts:/1/abc/artifacts`` -> ``1/abc/artifacts``."""
    if not uri.startswith(ARTIFACT_SCHEME):
        raise InvalidInputError(f"{uri!r} is not in this workspace's artifact store", field="path")
    return uri.removeprefix(ARTIFACT_SCHEME).lstrip("/")


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not enabled,
    )


class ArtifactTransfer:
    def __init__(self, transport: Transport, workspace: str, *, show_progress: bool) -> None:
        self._transport = transport
        self._base = f"/workspaces/{quote(workspace, safe='')}/api/2.0/mlflow-artifacts/artifacts"
        self._show_progress = show_progress

    def _url(self, path: str) -> str:
        return f"{self._base}/{quote(path, safe='/')}"

    def list_files(self, prefix: str) -> list[RemoteFile]:
        """Every file under ``prefix``, recursively."""
        found: list[RemoteFile] = []
        pending = [prefix.strip("/")]
        while pending:
            folder = pending.pop()
            body = self._transport.request("GET", self._base, params={"path": folder or None}) or {}
            for entry in body.get("files", []):
                child = f"{folder}/{entry['path']}" if folder else entry["path"]
                if entry.get("is_dir"):
                    pending.append(child)
                else:
                    found.append(RemoteFile(child, int(entry.get("file_size") or 0)))
        return sorted(found, key=lambda f: f.path)

    def download(self, prefix: str, destination: Path, *, allow_empty: bool = False) -> list[Path]:
        """Files under ``prefix`` into ``destination``, keeping their relative paths. Nothing there is an
        error unless ``allow_empty`` (a run may have logged no artifacts): then ``destination`` is made
        empty."""
        files = self.list_files(prefix)
        if not files and allow_empty:
            destination.mkdir(parents=True, exist_ok=True)
            return []
        if not files:
            raise NotFoundError(f"no files under {ARTIFACT_SCHEME}/{prefix}", field="path")
        written = []
        with _progress(self._show_progress) as progress:
            task = progress.add_task("download", total=sum(f.size for f in files))
            for remote in files:
                relative = PurePosixPath(remote.path).relative_to(prefix.strip("/"))
                target = destination.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.partial")
                with (
                    self._transport.stream("GET", self._url(remote.path)) as response,
                    partial.open("wb") as out,
                ):
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        progress.advance(task, len(chunk))
                os.replace(partial, target)
                written.append(target)
        return written

    def upload(self, source: Path, prefix: str, *, quiet_below: tuple[int, float] | None = None) -> int:
        """A file, or a folder's files (recursively), to ``prefix``; returns the number of files.

        ``quiet_below=(bytes, seconds)`` shows the bar only for uploads of at least that many bytes or,
        for smaller ones, once they have taken that long (a bar flashing by for a small file is noise).
        """
        files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
        if not files:
            raise InvalidInputError(f"{source} holds no files to upload", field="path")
        root = source.parent if source.is_file() else source
        total = sum(f.stat().st_size for f in files)
        meter = _Meter(_progress(self._show_progress), total, quiet_below)
        try:
            for local in files:
                remote = f"{prefix.strip('/')}/{local.relative_to(root).as_posix()}"
                self._transport.request_raw("PUT", self._url(remote), content=_chunks(local, meter))
        finally:
            meter.stop()
        return len(files)


class _Meter:
    """A progress bar over ``total`` bytes that starts at once, or only when the work turns out slow."""

    def __init__(self, progress: Progress, total: int, quiet_below: tuple[int, float] | None) -> None:
        self._progress = progress
        self._total = total
        self._done = 0
        self._started_at = time.monotonic()
        self._task: Any = None
        self._patience = None if quiet_below is None or total >= quiet_below[0] else quiet_below[1]
        if self._patience is None:
            self._start()

    def _start(self) -> None:
        self._progress.start()
        self._task = self._progress.add_task("upload", total=self._total, completed=self._done)

    def advance(self, size: int) -> None:
        self._done += size
        if self._task is None and self._patience is not None:
            if time.monotonic() - self._started_at >= self._patience:
                self._start()
            return
        self._progress.advance(self._task, size)

    def stop(self) -> None:
        if self._task is not None:
            self._progress.stop()


def _chunks(path: Path, meter: _Meter) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            meter.advance(len(chunk))
            yield chunk
