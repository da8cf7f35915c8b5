"""Environment builds with uv, cached by spec hash: ``<root>/<hash>/`` holds one environment.

A build resolves the plan to a hashed lock (``uv pip compile``), creates ``venv`` from an interpreter on
this machine (``uv venv``), installs exactly the lock (``uv pip sync``) and records ``uv pip freeze``.
``status.json`` is written last and atomically, so a folder without ``state: Succeeded`` is never used:
a crash or a failure leaves ``Failed`` (or ``Building``) and the next ``build()`` starts over.

One build per spec at a time, across threads and processes: ``<root>/<hash>.lock`` (flock) is held while
building; whoever waited on it finds ``Succeeded`` and returns it as a cache hit. A cache hit reads three
small files and runs nothing.

Index credentials arrive as ``${{secrets.NAME}}`` in the plan and are resolved only into the environment
of the uv processes (not their command line, which other users can read in ``ps``); every value is masked
as ``***`` in the log, the lock, the freeze and error messages, and nothing holding one is written.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote

import filelock

from stratus._files import write_private
from stratus.environments.errors import EnvironmentBuildError
from stratus.environments.interpreters import Interpreter, require_interpreter
from stratus.environments.plan import SECRET_PLACEHOLDER, BuildPlan
from stratus.errors import InvalidInputError, NotFoundError

SUCCEEDED = "Succeeded"
FAILED = "Failed"
BUILDING = "Building"
STATUS_FILE = "status.json"
LOCK_FILE = "lock.txt"
FREEZE_FILE = "freeze.txt"
LOG_FILE = "build.log"
VENV_DIR = "venv"
REQUIREMENTS_FILE = "requirements.in"
CONSTRAINTS_FILE = "constraints.txt"
MASK = "***"
STATUS_FORMAT = 1

LogCallback = Callable[[str], None]
SecretResolver = Callable[[str], str]

_HASH = re.compile(r"^[0-9a-f]{64}$")
# Variables that would make uv resolve or install somewhere other than what the plan and cache say.
_STRIPPED_ENV = frozenset(
    {
        "VIRTUAL_ENV", "CONDA_PREFIX", "UV_PYTHON", "UV_SYSTEM_PYTHON", "UV_PROJECT_ENVIRONMENT",
        "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_CONSTRAINT",
        "UV_OVERRIDE", "UV_CACHE_DIR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL",
    }
)  # fmt: skip
_ERROR_TAIL = 20


@dataclass(frozen=True)
class BuildStatus:
    """What ``status.json`` records about the last build of one spec."""

    spec_hash: str
    state: str
    log_path: Path
    python_version: str | None = None
    interpreter: str | None = None
    uv_version: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    plan: BuildPlan | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATUS_FORMAT,
            "spec_hash": self.spec_hash,
            "state": self.state,
            "python_version": self.python_version,
            "interpreter": self.interpreter,
            "uv_version": self.uv_version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "timings": dict(self.timings),
            "error": self.error,
            "plan": self.plan.to_dict() if self.plan else None,
        }


@dataclass(frozen=True)
class BuiltEnvironment:
    """A usable environment: run ``python`` (inside ``path``, the venv) to use it."""

    hash: str
    path: Path
    python: Path
    python_version: str
    lock_text: str
    freeze_text: str
    log_path: Path
    status: BuildStatus
    cache_hit: bool = False

    @property
    def plan(self) -> BuildPlan | None:
        return self.status.plan


@dataclass
class _Indexes:
    index_url: str | None
    extra_index_urls: list[str]
    secrets: list[str]


class _StepFailedError(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step} failed")
        self.step = step
        self.detail = detail


class _Output:
    """Every line of uv output: masked, appended to the log file, passed to the callback as it comes."""

    def __init__(self, log_path: Path | None, secrets: list[str], callback: LogCallback | None) -> None:
        self._file: IO[str] | None = log_path.open("w", encoding="utf-8") if log_path else None
        self._callback = callback
        self._secrets = _mask_forms(secrets)
        self._lock = threading.Lock()
        self.recent: deque[str] = deque(maxlen=200)

    def redact(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, MASK)
        return text

    def line(self, text: str) -> None:
        text = self.redact(text.rstrip("\r\n"))
        with self._lock:
            self.recent.append(text)
            if self._file:
                self._file.write(text + "\n")
                self._file.flush()
        if self._callback:
            # a failing log consumer must not fail the build others may be waiting on
            with contextlib.suppress(Exception):
                self._callback(text)

    def error_detail(self) -> str:
        """uv's error lines ("error: …" onwards), else the last lines."""
        lines = list(self.recent)
        start = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("error")), None)
        tail = lines[start:] if start is not None else lines[-10:]
        return "\n".join(tail[:_ERROR_TAIL])

    def __enter__(self) -> _Output:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file:
            self._file.close()


class EnvironmentCache:
    """Builds plans into ``root/<spec_hash>/venv`` and answers what is built."""

    def __init__(
        self,
        root: Path,
        *,
        uv_bin: str | None = None,
        uv_cache_dir: Path | None = None,
        generate_hashes: bool = True,
        lock_timeout: float = -1,
        step_timeout: float | None = None,
    ) -> None:
        if uv_bin is None:
            import uv

            uv_bin = uv.find_uv_bin()
        self.root = Path(root)
        self.uv_bin = str(uv_bin)
        self.uv_cache_dir = Path(uv_cache_dir) if uv_cache_dir is not None else None
        self.generate_hashes = generate_hashes
        self.lock_timeout = lock_timeout
        # Each uv step (compile, venv, sync, freeze) is killed after this many seconds, so a hung resolver
        # or index cannot hold a build thread for ever.
        self.step_timeout = step_timeout
        self._running: set[subprocess.Popen[str]] = set()
        self._running_lock = threading.Lock()
        self._uv_version: str | None = None

    # -- queries -------------------------------------------------------------------------------------

    def get(self, spec_hash: str) -> BuiltEnvironment | None:
        """The environment if its last build succeeded; ``None`` otherwise (never built, failed, building)."""
        status = self.get_status(spec_hash)
        if status is None or status.state != SUCCEEDED:
            return None
        folder = self._folder(spec_hash)
        python = _venv_python(folder / VENV_DIR)
        try:
            lock_text = (folder / LOCK_FILE).read_text(encoding="utf-8")
            freeze_text = (folder / FREEZE_FILE).read_text(encoding="utf-8")
        except OSError:
            return None
        if not python.exists():
            return None
        return BuiltEnvironment(
            hash=spec_hash,
            path=folder / VENV_DIR,
            python=python,
            python_version=status.python_version or "",
            lock_text=lock_text,
            freeze_text=freeze_text,
            log_path=status.log_path,
            status=status,
            cache_hit=True,
        )

    def get_status(self, spec_hash: str) -> BuildStatus | None:
        """The recorded status of the last build (any state), or ``None`` when never built."""
        folder = self._folder(spec_hash)
        try:
            data = json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return BuildStatus(
            spec_hash=spec_hash,
            state=str(data.get("state")),
            log_path=folder / LOG_FILE,
            python_version=data.get("python_version"),
            interpreter=data.get("interpreter"),
            uv_version=data.get("uv_version"),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            timings=data.get("timings") or {},
            error=data.get("error"),
            plan=BuildPlan.from_dict(data["plan"]) if data.get("plan") else None,
        )

    def uv_version(self) -> str:
        if self._uv_version is None:
            try:
                result = subprocess.run(  # noqa: S603 - our own uv binary
                    [self.uv_bin, "--version"], capture_output=True, text=True, check=False, timeout=30
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return f"unknown (cannot run {self.uv_bin}: {exc})"  # the first build step reports it
            self._uv_version = result.stdout.strip() or f"unknown ({result.stderr.strip()})"
        return self._uv_version

    # -- building ------------------------------------------------------------------------------------

    def build(
        self,
        plan: BuildPlan,
        *,
        resolve_secret: SecretResolver | None = None,
        log: LogCallback | None = None,
        index_env: Mapping[str, str] | None = None,
        lock_text: str | None = None,
    ) -> BuiltEnvironment:
        """The built environment for ``plan``, building it unless a succeeded build exists.

        ``lock_text`` is a lock recorded by an earlier build of the same plan (on this or another server):
        it is installed as it is instead of resolving again, so every build of a spec has the same packages.

        ``resolve_secret(name)`` returns the value of a ``${{secrets.NAME}}`` in an index URL;
        ``log`` receives each output line as uv prints it; ``index_env`` is where the default indexes
        (``UV_INDEX_URL``/``UV_EXTRA_INDEX_URL``, else ``PIP_INDEX_URL``/``PIP_EXTRA_INDEX_URL``) are read
        from (default ``os.environ``).

        Raises :class:`EnvironmentBuildError` when the build fails (recorded as ``Failed``, log kept),
        :class:`InvalidInputError` (field ``index_url``) when an index URL needs a secret and no resolver
        is given; whatever ``resolve_secret`` raises passes through.
        """
        spec_hash = plan.spec_hash
        cached = self.get(spec_hash)
        if cached is not None:
            return cached
        indexes = _resolve_indexes(plan, resolve_secret, os.environ if index_env is None else index_env)
        self.root.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(self.root / f"{spec_hash}.lock", timeout=self.lock_timeout):
            cached = self.get(spec_hash)  # built by whoever held the lock before us
            if cached is not None:
                return cached
            return self._build_locked(plan, indexes, log, lock_text)

    def _build_locked(
        self, plan: BuildPlan, indexes: _Indexes, log: LogCallback | None, recorded_lock: str | None = None
    ) -> BuiltEnvironment:
        spec_hash = plan.spec_hash
        folder = self._folder(spec_hash)
        venv = folder / VENV_DIR
        shutil.rmtree(venv, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        for name in (LOCK_FILE, FREEZE_FILE, STATUS_FILE, REQUIREMENTS_FILE, CONSTRAINTS_FILE):
            (folder / name).unlink(missing_ok=True)
        started_at = _now()
        uv_version = self.uv_version()
        status = BuildStatus(
            spec_hash=spec_hash,
            state=BUILDING,
            log_path=folder / LOG_FILE,
            uv_version=uv_version,
            started_at=started_at,
            plan=plan,
        )
        self._write_status(status)
        timings: dict[str, float] = {}
        env = self._child_env(indexes)
        with _Output(folder / LOG_FILE, indexes.secrets, log) as out:
            interpreter: Interpreter | None = None
            try:
                interpreter = require_interpreter(plan.python)
                out.line(
                    f"# Stratus environment {spec_hash}: Python {interpreter.version} "
                    f"({interpreter.path}), {uv_version}"
                )
                if recorded_lock is not None:
                    out.line("# installing the lock recorded by the first build of this spec")
                    lock_text = recorded_lock
                else:
                    lock_text = self._resolve(plan, interpreter, folder, env, out, timings)
                write_private(folder / LOCK_FILE, lock_text)
                freeze_text = self._install(folder / LOCK_FILE, interpreter, venv, env, out, timings)
                write_private(folder / FREEZE_FILE, freeze_text)
            except (_StepFailedError, InvalidInputError) as exc:
                shutil.rmtree(venv, ignore_errors=True)
                if isinstance(exc, _StepFailedError):
                    message = f"environment {spec_hash[:12]} failed to {exc.step}:\n{exc.detail}"
                    # uv's own lines are just above in the log: the summary does not repeat them (a
                    # reason of ours, such as a timeout, is not in the log yet and is said)
                    first = exc.detail.splitlines()[0] if exc.detail else ""
                    summary = (
                        f"environment {spec_hash[:12]} failed to {exc.step} (uv's output above)"
                        if first and first in out.recent
                        else message
                    )
                    failed_field = None
                else:
                    message = f"environment {spec_hash[:12]} cannot be built: {out.redact(exc.message)}"
                    summary = message
                    failed_field = exc.field
                out.line(f"# build failed: {summary}")
                self._write_status(
                    replace(
                        status,
                        state=FAILED,
                        error=message,
                        finished_at=_now(),
                        timings=timings,
                        python_version=interpreter.version if interpreter else None,
                        interpreter=str(interpreter.path) if interpreter else None,
                    )
                )
                raise EnvironmentBuildError(
                    message, spec_hash=spec_hash, log_path=folder / LOG_FILE, field=failed_field
                ) from None
            out.line(f"# build succeeded in {sum(timings.values()):.1f}s")
        final = replace(
            status,
            state=SUCCEEDED,
            finished_at=_now(),
            timings=timings,
            python_version=interpreter.version,
            interpreter=str(interpreter.path),
        )
        self._write_status(final)  # last: only now is the environment usable
        built = self.get(spec_hash)
        if built is None:
            raise EnvironmentBuildError(
                f"environment {spec_hash[:12]} was built but its files are gone", spec_hash=spec_hash
            )
        return replace(built, cache_hit=False)

    def rebuild(
        self,
        spec_hash: str,
        target_dir: Path,
        *,
        resolve_secret: SecretResolver | None = None,
        log: LogCallback | None = None,
        index_env: Mapping[str, str] | None = None,
    ) -> str:
        """Install the recorded lock of a succeeded build into a new venv at ``target_dir`` and return its
        ``uv pip freeze``. Raises :class:`EnvironmentBuildError` if that freeze differs from the recorded
        one (it never should: the lock pins every package by version and hash)."""
        built = self.get(spec_hash)
        if built is None or built.plan is None:
            raise NotFoundError(
                f"environment {spec_hash} has no succeeded build to rebuild", field="spec_hash"
            )
        target = Path(target_dir)
        if target.exists() and any(target.iterdir()):
            raise InvalidInputError(f"rebuild target {target} exists and is not empty", field="target_dir")
        indexes = _resolve_indexes(built.plan, resolve_secret, os.environ if index_env is None else index_env)
        interpreter = require_interpreter(built.plan.python)
        env = self._child_env(indexes)
        with (
            tempfile.TemporaryDirectory(prefix="stratus-lock-") as scratch,
            _Output(None, indexes.secrets, log) as out,
        ):
            lock_path = Path(scratch) / LOCK_FILE
            lock_path.write_text(built.lock_text, encoding="utf-8")
            try:
                freeze_text = self._install(lock_path, interpreter, target, env, out, {})
            except _StepFailedError as exc:
                shutil.rmtree(target, ignore_errors=True)
                raise EnvironmentBuildError(
                    f"rebuild of environment {spec_hash[:12]} failed to {exc.step}:\n{exc.detail}",
                    spec_hash=spec_hash,
                ) from None
        if freeze_text != built.freeze_text:
            diff = "\n".join(
                difflib.unified_diff(
                    built.freeze_text.splitlines(),
                    freeze_text.splitlines(),
                    "recorded",
                    "rebuilt",
                    lineterm="",
                )
            )
            raise EnvironmentBuildError(
                f"rebuild of environment {spec_hash[:12]} installed different packages:\n{diff}",
                spec_hash=spec_hash,
            )
        return freeze_text

    def remove(self, spec_hash: str) -> bool:
        """Delete one environment (waits for a build of it to finish). ``False`` if there was none."""
        folder = self._folder(spec_hash)
        with filelock.FileLock(self.root / f"{spec_hash}.lock", timeout=self.lock_timeout):
            if not folder.exists():
                return False
            # status first: a half-deleted folder must never look usable
            (folder / STATUS_FILE).unlink(missing_ok=True)
            shutil.rmtree(folder, ignore_errors=True)
            return True

    # -- steps ---------------------------------------------------------------------------------------

    def _resolve(
        self,
        plan: BuildPlan,
        interpreter: Interpreter,
        folder: Path,
        env: dict[str, str],
        out: _Output,
        timings: dict[str, float],
    ) -> str:
        (folder / REQUIREMENTS_FILE).write_text(
            "".join(f"{r}\n" for r in plan.requirements), encoding="utf-8"
        )
        args = ["pip", "compile", REQUIREMENTS_FILE, "--python", str(interpreter.path), "--no-header"]
        if plan.constraints:
            (folder / CONSTRAINTS_FILE).write_text(
                "".join(f"{c}\n" for c in plan.constraints), encoding="utf-8"
            )
            args += ["--constraint", CONSTRAINTS_FILE]
        if self.generate_hashes:
            args.append("--generate-hashes")
        started = time.monotonic()
        resolved = self._run(
            args, step="resolve the requirements", env=env, out=out, cwd=folder, capture=True
        )
        timings["resolve"] = round(time.monotonic() - started, 3)
        header = (
            f"# Stratus environment lock {plan.spec_hash}\n"
            f"# python {interpreter.version}; {self.uv_version()}\n"
        )
        return header + out.redact(resolved)

    def _install(
        self,
        lock_path: Path,
        interpreter: Interpreter,
        venv: Path,
        env: dict[str, str],
        out: _Output,
        timings: dict[str, float],
    ) -> str:
        """venv + sync of the lock + freeze; returns the freeze text."""
        cwd = lock_path.parent
        started = time.monotonic()
        self._run(
            ["venv", str(venv), "--python", str(interpreter.path), "--no-project"],
            step="create the virtual environment",
            env=env,
            out=out,
            cwd=cwd,
        )
        timings["venv"] = round(time.monotonic() - started, 3)
        python = str(_venv_python(venv))
        sync = ["pip", "sync", str(lock_path), "--python", python]
        if self.generate_hashes:
            sync.append("--require-hashes")
        started = time.monotonic()
        self._run(sync, step="install the locked packages", env=env, out=out, cwd=cwd)
        timings["install"] = round(time.monotonic() - started, 3)
        started = time.monotonic()
        freeze = ["pip", "freeze", "--python", python]
        frozen = self._run(
            freeze, step="list the installed packages", env=env, out=out, cwd=cwd, capture=True
        )
        timings["freeze"] = round(time.monotonic() - started, 3)
        return out.redact(frozen)

    def _run(
        self,
        args: list[str],
        *,
        step: str,
        env: dict[str, str],
        out: _Output,
        cwd: Path,
        capture: bool = False,
    ) -> str:
        """Run uv, streaming its output line by line; ``capture`` returns stdout instead of logging it."""
        out.line("$ uv " + " ".join(args))
        try:
            process = subprocess.Popen(  # noqa: S603 - our uv binary, arguments built here
                [self.uv_bin, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if capture else subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                env=env,
                cwd=cwd,
            )
        except OSError as exc:
            raise _StepFailedError(step, f"cannot run uv ({self.uv_bin}): {exc.strerror}") from None
        captured: list[str] = []
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            process.kill()

        timer = threading.Timer(self.step_timeout, expire) if self.step_timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        with self._running_lock:
            self._running.add(process)
        try:
            self._stream(process, out, captured, capture)
        finally:
            if timer is not None:
                timer.cancel()
            with self._running_lock:
                self._running.discard(process)
        if expired.is_set():
            raise _StepFailedError(step, f"uv was stopped after {self.step_timeout:g} s")
        if process.returncode != 0:
            raise _StepFailedError(step, out.error_detail())
        return "".join(captured)

    def terminate_running(self) -> int:
        """Kill the uv processes of builds in progress (the server is stopping); they end as Failed."""
        with self._running_lock:
            running = list(self._running)
        for process in running:
            with contextlib.suppress(OSError):
                process.kill()
        return len(running)

    @staticmethod
    def _stream(process: subprocess.Popen[str], out: _Output, captured: list[str], capture: bool) -> None:
        with process:  # closes the pipes, waits for the exit
            assert process.stdout is not None
            if capture:
                assert process.stderr is not None
                stdout = process.stdout
                reader = threading.Thread(target=lambda: captured.append(stdout.read()), daemon=True)
                reader.start()
                for line in process.stderr:
                    out.line(line)
                reader.join()
            else:
                for line in process.stdout:
                    out.line(line)

    def _child_env(self, indexes: _Indexes) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
        env.update(UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1", UV_NO_PROGRESS="1", NO_COLOR="1")
        if self.uv_cache_dir is not None:
            env["UV_CACHE_DIR"] = str(self.uv_cache_dir)
        elif "UV_CACHE_DIR" in os.environ:
            env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]
        if indexes.index_url:
            env["UV_INDEX_URL"] = indexes.index_url
        if indexes.extra_index_urls:
            env["UV_EXTRA_INDEX_URL"] = " ".join(indexes.extra_index_urls)
        return env

    def _write_status(self, status: BuildStatus) -> None:
        write_private(
            self._folder(status.spec_hash) / STATUS_FILE, json.dumps(status.to_dict(), indent=2) + "\n"
        )

    def _folder(self, spec_hash: str) -> Path:
        if not _HASH.match(spec_hash):
            raise InvalidInputError(f"{spec_hash!r} is not an environment spec hash", field="spec_hash")
        return self.root / spec_hash


def _resolve_indexes(
    plan: BuildPlan, resolve_secret: SecretResolver | None, index_env: Mapping[str, str]
) -> _Indexes:
    """The plan's indexes with secrets filled in, over the defaults configured in ``index_env``."""
    secrets: list[str] = []

    def fill(url: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if resolve_secret is None:
                raise InvalidInputError(
                    f"index URL needs secret {name!r} but no key vault is available to resolve it",
                    field="index_url",
                )
            secret = resolve_secret(name)
            secrets.append(secret)
            # inside user:password@ the value must be percent-encoded to keep the URL whole
            return quote(secret, safe="") if _in_userinfo(url, match.start()) else secret

        return SECRET_PLACEHOLDER.sub(value, url)

    default_index = (
        index_env.get("UV_DEFAULT_INDEX") or index_env.get("UV_INDEX_URL") or index_env.get("PIP_INDEX_URL")
    )
    uv_extras = [
        *_split_indexes(index_env.get("UV_INDEX", "")),
        *index_env.get("UV_EXTRA_INDEX_URL", "").split(),
    ]
    default_extras = uv_extras or index_env.get("PIP_EXTRA_INDEX_URL", "").split()
    index_url = fill(plan.index_url) if plan.index_url else default_index or None
    extras = [fill(url) for url in plan.extra_index_urls]
    extras += [url for url in default_extras if url not in extras]
    return _Indexes(index_url=index_url, extra_index_urls=extras, secrets=secrets)


def _in_userinfo(url: str, position: int) -> bool:
    netloc_start = url.find("://") + 3 if "://" in url else 0
    netloc_end = url.find("/", netloc_start)
    at = url.rfind("@", netloc_start, len(url) if netloc_end == -1 else netloc_end)
    return netloc_start <= position < at


def _split_indexes(value: str) -> list[str]:
    # UV_INDEX entries may be named: "name=https://…"
    return [re.sub(r"^[A-Za-z0-9_-]+=(?=\w+://)", "", item) for item in value.split()]


def _mask_forms(secrets: list[str]) -> list[str]:
    forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote(secret))}
    return sorted(forms, key=len, reverse=True)  # longest first: a value containing another is masked whole


def _venv_python(venv: Path) -> Path:
    return venv / "Scripts" / "python.exe" if os.name == "nt" else venv / "bin" / "python"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
