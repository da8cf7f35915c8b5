"""A PEP 503 package index on 127.0.0.1 for environment builds that must not depend on PyPI's contents:
hand-written pure-Python wheels, optionally behind HTTP Basic auth, and able to publish new versions
mid-test (to show that a recorded lock keeps builds from drifting)."""

from __future__ import annotations

import base64
import hashlib
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PACKAGE = "stratus-demo-pkg"
MODULE = "stratus_demo_pkg"


def write_wheel(folder: Path, version: str, package: str = PACKAGE) -> Path:
    """A pure-Python wheel written by hand: a module, METADATA, WHEEL and a RECORD with hashes."""
    module = package.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: stratus-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return path


@dataclass
class PackageIndex:
    root: Path
    url: str  # http://127.0.0.1:<port>/simple
    password: str | None
    requests: list[tuple[str, bool]] = field(default_factory=list)  # (path, authorised)

    def publish(self, version: str, package: str = PACKAGE) -> None:
        wheel = write_wheel(self.root / "files", version, package)
        project = self.root / "simple" / package
        project.mkdir(parents=True, exist_ok=True)
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        links = project / "links.txt"
        with links.open("a") as out:
            out.write(f'<a href="../../files/{wheel.name}#sha256={sha256}">{wheel.name}</a>\n')
        (project / "index.html").write_text(f"<html><body>{links.read_text()}</body></html>")

    def url_with(self, userinfo: str) -> str:
        return self.url.replace("http://", f"http://{userinfo}@")


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, index: PackageIndex, **kwargs: Any) -> None:
        self.index = index
        super().__init__(*args, **kwargs)

    def _authorised(self) -> bool:
        """Records the request; a password-protected index answers 401 to any other credentials."""
        expected = None
        if self.index.password is not None:
            expected = "Basic " + base64.b64encode(f"stratus:{self.index.password}".encode()).decode()
        authorised = expected is None or self.headers.get("Authorization") == expected
        self.index.requests.append((self.path, authorised))
        if not authorised:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.end_headers()
        return authorised

    def do_GET(self) -> None:
        if self._authorised():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._authorised():
            super().do_HEAD()

    def log_message(self, format: str, *args: Any) -> None:
        return


def serve_index(root: Path, password: str | None = None) -> Iterator[PackageIndex]:
    (root / "files").mkdir(parents=True, exist_ok=True)
    index = PackageIndex(root, "", password)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, index=index, directory=str(root)))
    index.url = f"http://127.0.0.1:{server.server_address[1]}/simple"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    """An index that needs the password ``index-pass-7c1d`` for user ``stratus``, holding version 0.1.0."""
    for index in serve_index(tmp_path_factory.mktemp("index"), password="index-pass-7c1d"):
        index.publish("0.1.0")
        yield index
