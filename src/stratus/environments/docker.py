"""Docker build-context environments: registered anywhere, built only where a Docker engine answers."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from stratus.environments.errors import EnvironmentBuildError
from stratus.errors import InvalidInputError, ServiceUnavailableError

# repository[:tag], lower-case path components as Docker requires
_TAG = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)
_ERROR_TAIL = 20


def docker_available(timeout: float = 5.0) -> bool:
    """Whether ``docker info`` succeeds within ``timeout`` seconds (False when missing, failing or hung)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run(  # noqa: S603 - the docker CLI found on PATH
            [docker, "info"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def build_image(
    context_dir: Path,
    dockerfile: str,
    tag: str,
    log: Callable[[str], None] | None = None,
    *,
    timeout: float | None = None,
) -> None:
    """``docker build`` of ``context_dir`` with ``dockerfile`` (a path inside it) as ``tag``, each output
    line passed to ``log``. Check :func:`docker_available` first; raises :class:`ServiceUnavailableError`
    without a docker CLI and :class:`EnvironmentBuildError` when the build fails or exceeds ``timeout``."""
    context = Path(context_dir).resolve()
    if not context.is_dir():
        raise InvalidInputError(f"build context {context_dir} is not a folder", field="build.path")
    dockerfile_path = (context / dockerfile).resolve()
    if not dockerfile_path.is_relative_to(context) or not dockerfile_path.is_file():
        raise InvalidInputError(
            f"dockerfile_path {dockerfile!r} must name a file inside the build context",
            field="build.dockerfile_path",
        )
    if not _TAG.match(tag):
        raise InvalidInputError(f"image tag {tag!r} is not a valid Docker repository[:tag]", field="tag")
    docker = shutil.which("docker")
    if docker is None:
        raise ServiceUnavailableError(
            "no Docker engine on this machine: build-context environments cannot be built"
        )
    command = [docker, "build", "--file", str(dockerfile_path), "--tag", tag, str(context)]
    recent: list[str] = []
    try:
        process = subprocess.Popen(  # noqa: S603 - the docker CLI found on PATH, arguments validated above
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise ServiceUnavailableError(f"cannot run docker: {exc.strerror}") from None
    assert process.stdout is not None
    deadline = _Deadline(process, timeout)
    try:
        with deadline:
            for line in process.stdout:
                text = line.rstrip("\r\n")
                recent = [*recent[-(_ERROR_TAIL - 1) :], text]
                if log is not None:
                    log(text)
    finally:
        process.stdout.close()
    returncode = process.wait()
    if returncode != 0:
        reason = f"timed out after {timeout}s" if deadline.expired else f"exited with {returncode}"
        raise EnvironmentBuildError(f"docker build of {tag} {reason}:\n" + "\n".join(recent), field="build")


class _Deadline:
    """Kills the process when ``timeout`` passes (reading its output blocks, so a timer does it)."""

    def __init__(self, process: subprocess.Popen[str], timeout: float | None) -> None:
        self._process = process
        self.expired = False
        self._timer = threading.Timer(timeout, self._expire) if timeout is not None else None

    def _expire(self) -> None:
        self.expired = True
        self._process.kill()

    def __enter__(self) -> None:
        if self._timer is not None:
            self._timer.start()

    def __exit__(self, *_: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
