"""``<home>/server.json``: how the CLI and SDK find the server running on this machine, on any port.

The server writes it (its URL and pid, 0600) once it listens and removes it when it stops cleanly. A file
left by a server that died is recognised by its pid and ignored. Light on purpose: the CLI reads it on
every command that connects.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from stratus._files import write_private

SERVER_FILE = "server.json"


def server_file(home: Path) -> Path:
    return home / SERVER_FILE


def announce(home: Path, url: str) -> Path:
    """Record that this process serves ``url`` from ``home``."""
    path = server_file(home)
    write_private(path, json.dumps({"url": url, "pid": os.getpid()}) + "\n")
    return path


def withdraw(home: Path) -> None:
    """Remove the record if it is this process's (a second server on the same home may have replaced it)."""
    path = server_file(home)
    record = _read(path)
    if record is not None and record[1] == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def running_url(home: Path) -> str | None:
    """The URL of the server running from ``home``, or None (no record, or its process is gone)."""
    record = _read(server_file(home))
    if record is None or not _alive(record[1]):
        return None
    return record[0]


def _read(path: Path) -> tuple[str, int] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    url, pid = data.get("url"), data.get("pid")
    if not isinstance(url, str) or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    return url.rstrip("/"), pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or another user's process reusing the pid
        return False
    return True
