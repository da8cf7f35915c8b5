"""The Python interpreters on this machine, by minor version. Builds use only these (uv never downloads).

Folders searched, first match per minor wins: ``STRATUS_PYTHON_SEARCH_PATH`` (``os.pathsep``-separated),
``PATH``, then ``SEARCH_DIRS`` (``/usr/bin``, ``/usr/local/bin``, each ``~/.pyenv/versions/*/bin``). Every
``python3.N`` found is run once to confirm its version; virtual environments are skipped (a build must not
depend on some project's venv) and pyenv shims resolve to the interpreter they run.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from stratus.errors import InvalidInputError

SEARCH_PATH_ENV = "STRATUS_PYTHON_SEARCH_PATH"
SEARCH_DIRS: tuple[str, ...] = ("/usr/bin", "/usr/local/bin", "~/.pyenv/versions/*/bin")
_EXECUTABLE = re.compile(r"^python3\.\d+$")
_PROBE = (
    "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable); "
    "print(int(sys.prefix != getattr(sys, 'base_prefix', sys.prefix)))"
)
_PROBE_TIMEOUT = 15.0

_cache: dict[tuple[str, ...], dict[str, Interpreter]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Interpreter:
    minor: str  # "3.11"
    version: str  # "3.11.7"
    path: Path


def find_interpreters(*, refresh: bool = False) -> dict[str, Path]:
    """``{"3.11": Path(...), ...}`` sorted by version; cached per search path (``refresh`` probes again)."""
    return {minor: found.path for minor, found in discover(refresh=refresh).items()}


def require_interpreter(minor: str) -> Interpreter:
    """The interpreter for ``minor``, or an error naming what was asked for and what this machine has."""
    found = discover()
    if minor in found:
        return found[minor]
    have = ", ".join(found) or "none"
    raise InvalidInputError(
        f"Python {minor} was asked for but this machine has Python {have}; install {minor} "
        f"(e.g. 'pyenv install {minor}') or add its folder to {SEARCH_PATH_ENV}",
        field="python",
    )


def discover(*, refresh: bool = False) -> dict[str, Interpreter]:
    dirs = search_dirs()
    with _cache_lock:
        if not refresh and dirs in _cache:
            return _cache[dirs]
    candidates = _candidates(dirs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        probed = list(pool.map(_probe, candidates))
    found: dict[str, Interpreter] = {}
    for candidate, interpreter in zip(candidates, probed, strict=True):
        expected = candidate.name.removeprefix("python")
        if interpreter and interpreter.minor == expected and interpreter.minor not in found:
            found[interpreter.minor] = interpreter
    ordered = dict(sorted(found.items(), key=lambda item: tuple(int(p) for p in item[0].split("."))))
    with _cache_lock:
        _cache[dirs] = ordered
    return ordered


def search_dirs() -> tuple[str, ...]:
    extra = os.environ.get(SEARCH_PATH_ENV, "").split(os.pathsep)
    path = os.environ.get("PATH", "").split(os.pathsep)
    dirs: list[str] = []
    for entry in [*extra, *path, *SEARCH_DIRS]:
        if not entry:
            continue
        expanded = os.path.expanduser(entry)
        for folder in sorted(glob.glob(expanded)) if glob.has_magic(expanded) else [expanded]:
            if folder not in dirs:
                dirs.append(folder)
    return tuple(dirs)


def _candidates(dirs: tuple[str, ...]) -> list[Path]:
    seen: set[str] = set()
    found: list[Path] = []
    for folder in dirs:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            path = Path(folder) / name
            if not _EXECUTABLE.match(name) or not os.access(path, os.X_OK):
                continue
            # pyenv shims resolve to nothing useful here; the probe's sys.executable says where they lead
            key = os.path.realpath(path) if "shims" not in path.parts else str(path)
            if key not in seen:
                seen.add(key)
                found.append(path)
    return found


def _probe(path: Path) -> Interpreter | None:
    try:
        result = subprocess.run(  # noqa: S603 - a python3.N found on the search path
            [str(path), "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = result.stdout.split("\n")
    if result.returncode != 0 or len(lines) < 3 or lines[2].strip() != "0":
        return None
    version, executable = lines[0].strip(), lines[1].strip()
    parts = version.split(".")
    if len(parts) != 3 or not executable:
        return None
    return Interpreter(minor=f"{parts[0]}.{parts[1]}", version=version, path=Path(executable))
