"""Start, measure and stop the servers a benchmark compares: Stratus, `mlflow server` and the ceiling app.

Every server runs in its own session (process group), so stopping it also stops whatever it forked
(uvicorn workers, MLflow's job runner and huey consumers), even when the parent died first.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from rich.console import Console

HOST = "127.0.0.1"
BIN = Path(sys.executable).parent  # the venv's bin: `stratus`, `mlflow` and `python` come from it
HERE = Path(__file__).resolve().parent
# MLflow keeps its job queue in a temporary folder it creates and names in this variable.
MLFLOW_HUEY_VARIABLE = "_MLFLOW_HUEY_STORAGE_PATH"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without settings that would change a server (a developer's
    STRATUS_DATABASE_URL, MLFLOW_TRACKING_URI, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRATUS_", "MLFLOW_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


# --- processes, read from /proc -------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return int(fields[1]), int(fields[2])


def process_tree(root: int) -> list[int]:
    """The root, its descendants, and anything left in its process group (orphans MLflow leaves)."""
    parents: dict[int, list[int]] = {}
    group: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None:
            continue
        parents.setdefault(stat[0], []).append(int(entry.name))
        if stat[1] == root:
            group.append(int(entry.name))
    found: list[int] = []
    todo = [root] if _stat(root) is not None else []
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo.extend(parents.get(pid, []))
    return found + [pid for pid in group if pid not in found]


def _status_kb(pid: int, path: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class Memory:
    rss_mb: float  # resident set size summed over every process (shared pages counted in each)
    pss_mb: float  # proportional set size: shared pages split between the processes sharing them
    processes: int
    settled_after_s: float

    def as_dict(self) -> dict[str, float]:
        return {
            "rss_mb": round(self.rss_mb, 1),
            "pss_mb": round(self.pss_mb, 1),
            "processes": self.processes,
            "settled_after_s": round(self.settled_after_s, 1),
        }


def memory_now(root: int) -> Memory:
    pids = process_tree(root)
    rss = sum(_status_kb(pid, "status", "VmRSS:") for pid in pids)
    pss = sum(_status_kb(pid, "smaps_rollup", "Pss:") for pid in pids)
    return Memory(rss / 1024, pss / 1024, len(pids), 0.0)


def idle_memory(root: int, *, least: float = 2.0, most: float = 120.0, steady_for: float = 10.0) -> Memory:
    """Memory once the process set has stopped changing and RSS has moved by under 2 % for `steady_for`
    seconds: workers and helper processes (MLflow's huey consumers) may still be importing when the first
    request is answered, and a short pause in their growth is not the end of it."""
    start = time.monotonic()
    window = int(steady_for / 0.5)
    samples: list[tuple[frozenset[int], float]] = []
    while True:
        time.sleep(0.5)
        pids = frozenset(process_tree(root))
        current = memory_now(root)
        samples = [*samples[-(window - 1) :], (pids, current.rss_mb)]
        waited = time.monotonic() - start
        rss = [s[1] for s in samples]
        steady = len(samples) == window and len({s[0] for s in samples}) == 1 and max(rss) <= min(rss) * 1.02
        if (waited >= least and steady) or waited >= most:
            current.settled_after_s = waited
            return current


def stop_tree(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM to the whole group (and stragglers outside it), then SIGKILL whatever is left."""
    pids = process_tree(process.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None and not [p for p in pids if _stat(p) is not None]:
                return
            time.sleep(0.1)
    process.wait(5)


# --- servers ---------------------------------------------------------------------------------------


@dataclass
class Server:
    """A running server and where the stock client reaches it."""

    kind: str  # "stratus", "mlflow" or "ceiling"
    base_url: str
    tracking_uri: str
    token: str | None
    process: subprocess.Popen[bytes]
    log_path: Path
    startup_s: float = 0.0  # spawn until the first real API request is answered
    probe_s: float = 0.0  # spawn until the readiness or health route answers
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    stop_grace: float = 20.0  # seconds between SIGTERM and SIGKILL

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        stop_tree(self.process, self.stop_grace)
        for cleanup in self.cleanups:
            cleanup()


class ServerFailedError(RuntimeError):
    pass


def _spawn(command: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait(
    server: Server, url: str, started: float, timeout: float, headers: dict[str, str], poll: float = 0.05
) -> float:
    """Seconds from spawn until GET url answers 200, asking every ``poll`` seconds."""
    deadline = started + timeout
    with httpx.Client(timeout=5) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerFailedError(
                    f"{server.kind} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if http.get(url, headers=headers).status_code == 200:
                    return time.monotonic() - started
            time.sleep(poll)
    raise ServerFailedError(f"{server.kind} did not answer {url} within {timeout:.0f}s:\n{server.log_tail()}")


def _read_token(home: Path, server: Server, started: float, timeout: float) -> str:
    path = home / "admin-token"
    while not path.exists():
        if server.process.poll() is not None or time.monotonic() > started + timeout:
            raise ServerFailedError(f"stratus wrote no {path}:\n{server.log_tail()}")
        time.sleep(0.05)
    return path.read_text().strip()


def start_stratus(
    workdir: Path,
    database_url: str | None,
    *,
    timeout: float = 120,
    extra_env: dict[str, str] | None = None,
    poll: float = 0.05,
) -> Server:
    """`stratus server start` as `make run` starts it, with the home `workdir/stratus-home` (fresh unless
    an earlier start left it there) and a free loopback port (``extra_env``: further variables for the
    server, e.g. its uv cache; ``poll``: how often `/ready` is asked, which bounds `probe_s`'s precision)."""
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "stratus-home"
    port = free_port()
    env = clean_env(**({"STRATUS_DATABASE_URL": database_url} if database_url else {}), **(extra_env or {}))
    command = [str(BIN / "stratus"), "server", "start", "--host", HOST, "--port", str(port)]
    started = time.monotonic()
    process = _spawn([*command, "--home", str(home)], env, workdir / "stratus.log", workdir)
    base = f"http://{HOST}:{port}"
    server = Server("stratus", base, f"{base}/workspaces/default", None, process, workdir / "stratus.log")
    try:
        server.probe_s = _wait(server, f"{base}/ready", started, timeout, {}, poll)
        server.token = _read_token(home, server, started, timeout)
        api = f"{server.tracking_uri}/api/2.0/mlflow/experiments/get?experiment_id=0"
        server.startup_s = _wait(server, api, started, timeout, server.headers())
    except BaseException:
        stop_tree(process)
        raise
    return server


def _huey_folders(root: int) -> set[Path]:
    """The job-queue folders MLflow created for this server (named in its children's environment)."""
    folders: set[Path] = set()
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                if item.startswith(MLFLOW_HUEY_VARIABLE.encode() + b"="):
                    folders.add(Path(item.split(b"=", 1)[1].decode()))
    return folders


def start_mlflow(workdir: Path, backend_uri: str, *, workers: int | None = 1, timeout: float = 300) -> Server:
    """`mlflow server` with proxied artifacts in a local folder; workers=None keeps MLflow's default."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    artifacts = workdir / "mlflow-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    command = [str(BIN / "mlflow"), "server", "--host", HOST, "--port", str(port)]
    command += ["--backend-store-uri", backend_uri, "--artifacts-destination", str(artifacts)]
    if workers is not None:
        command += ["--workers", str(workers)]
    started = time.monotonic()
    process = _spawn(command, clean_env(), workdir / "mlflow.log", workdir)
    base = f"http://{HOST}:{port}"
    server = Server("mlflow", base, base, None, process, workdir / "mlflow.log")
    try:
        server.probe_s = _wait(server, f"{base}/health", started, timeout, {})
        api = f"{base}/api/2.0/mlflow/experiments/get?experiment_id=0"
        server.startup_s = _wait(server, api, started, timeout, {})
    except BaseException:
        folders = _huey_folders(process.pid)  # read from the children's environment while they live
        stop_tree(process)
        _remove_folders(folders)
        raise
    folders = _huey_folders(process.pid)
    server.cleanups.append(lambda: _remove_folders(folders))
    return server


def _remove_folders(folders: set[Path]) -> None:
    for folder in folders:
        if folder.is_absolute() and folder.name.startswith("tmp"):
            shutil.rmtree(folder, ignore_errors=True)


def start_ceiling(workdir: Path, pages_path: Path, *, timeout: float = 60) -> Server:
    """The do-nothing ASGI app under uvicorn with one worker, as uvicorn's command line runs it."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [str(BIN / "python"), "-m", "uvicorn", "--app-dir", str(HERE), "_ceiling:app"]
    command += ["--host", HOST, "--port", str(port), "--workers", "1", "--no-access-log"]
    command += ["--log-level", "warning"]
    env = clean_env(BENCH_CEILING_PAGES=str(pages_path))
    started = time.monotonic()
    process = _spawn(command, env, workdir / "ceiling.log", workdir)
    base = f"http://{HOST}:{port}"
    server = Server("ceiling", base, base, None, process, workdir / "ceiling.log")
    try:
        server.probe_s = server.startup_s = _wait(server, f"{base}/health", started, timeout, {})
    except BaseException:
        stop_tree(process)
        raise
    return server


# --- PostgreSQL ------------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(admin_url: str, purpose: str) -> Iterator[str]:
    """A new database `bench_<purpose>_<random>` on the admin URL's server, dropped on exit; yields
    its SQLAlchemy URL with the psycopg (3) driver, the one the venv has."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    libpq = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"bench_{purpose}_{secrets.token_hex(6)}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


console = Console(stderr=True, highlight=False, soft_wrap=True)


def progress(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


def stop_on_signal(_signum: int, _frame: FrameType | None) -> None:
    """The first Ctrl-C or SIGTERM unwinds to the clean-up; further ones cannot interrupt it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt
