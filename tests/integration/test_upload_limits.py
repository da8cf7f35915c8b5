"""``STRATUS_MAX_UPLOAD_BYTES`` on a real server: a proxied artifact PUT (under either MLflow prefix) and the
SDK's upload of a local data file to ``workspaceblobstore`` past the limit get 413 and store nothing; at the
limit they succeed."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient
from stratus.entities.assets import Data
from stratus.errors import NotFoundError, PayloadTooLargeError

LIMIT = 4096
# A byte pattern found in no other file, so a scan of the home shows whether any of it was written.
MARKER = b"stratus-oversize-upload\x00"


def payload(size: int) -> bytes:
    return (MARKER * (size // len(MARKER) + 1))[:size]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("upload-limit") / "home", env={"STRATUS_MAX_UPLOAD_BYTES": str(LIMIT)}
    )
    yield live
    live.stop()


def _files_holding_the_marker(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file() and MARKER in p.read_bytes()]


def _recorded(home: Path, pattern: str) -> list[tuple[str, int]]:
    """Rows of the artifact index (size and sha256 of each stored object) whose path matches ``pattern``."""
    with contextlib.closing(sqlite3.connect(f"file:{home / 'stratus.db'}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT path, size FROM artifact_objects WHERE path LIKE ? ORDER BY path", (pattern,)
        )
        return [(str(path), int(size)) for path, size in rows]


def _run_artifacts(server: LiveServer, headers: dict[str, str]) -> str:
    created = httpx.post(
        f"{server.url}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, headers=headers, timeout=30
    )
    assert created.status_code == 200, created.text
    return f"0/{created.json()['run']['info']['run_id']}/artifacts"


@pytest.mark.parametrize("prefix", ["", "/workspaces/default"])
def test_artifact_put_past_the_limit_is_413_and_stores_nothing(server: LiveServer, prefix: str) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    folder = _run_artifacts(server, headers)
    base = f"{server.url}{prefix}/api/2.0/mlflow-artifacts/artifacts"

    def put(name: str, body: object) -> httpx.Response:
        return httpx.put(f"{base}/{folder}/{name}", content=body, headers=headers, timeout=60)  # type: ignore[arg-type]

    for name, body in (
        ("sized.bin", payload(LIMIT + 1)),  # Content-Length says it up front
        ("streamed.bin", iter([payload(LIMIT // 2)] * 3)),  # chunked: found out while reading
    ):
        refused = put(name, body)
        assert refused.status_code == 413, (name, refused.status_code, refused.text)
        error = refused.json()
        # MLflow's error shape; the status stays 413 so a caller can tell "too large" from other bad input.
        assert error["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "STRATUS_MAX_UPLOAD_BYTES" in error["message"] and str(LIMIT) in error["message"]
    # An object already there is left as it was when its replacement is too large.
    assert put("kept.bin", b"small").status_code == 200
    assert put("kept.bin", payload(LIMIT + 1)).status_code == 413
    assert httpx.get(f"{base}/{folder}/kept.bin", headers=headers, timeout=30).content == b"small"

    listing = httpx.get(base, params={"path": folder}, headers=headers, timeout=30).json()
    assert [(f["path"], f["file_size"]) for f in listing["files"]] == [("kept.bin", 5)]
    assert _files_holding_the_marker(server.home) == []
    # At the limit is allowed.
    assert put("exact.bin", b"e" * LIMIT).status_code == 200
    assert httpx.get(f"{base}/{folder}/exact.bin", headers=headers, timeout=30).content == b"e" * LIMIT
    assert _recorded(server.home, f"{folder}/%") == [
        (f"{folder}/exact.bin", LIMIT),
        (f"{folder}/kept.bin", 5),
    ]


def test_sdk_data_upload_past_the_limit_is_413_and_registers_nothing(
    server: LiveServer, tmp_path: Path
) -> None:
    big, fits = tmp_path / "big.csv", tmp_path / "fits.csv"
    big.write_bytes(payload(LIMIT + 1))
    fits.write_bytes(b"x\n1\n")
    with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as ml:
        with pytest.raises(PayloadTooLargeError, match="STRATUS_MAX_UPLOAD_BYTES") as caught:
            ml.data.create_or_update(Data(name="too-big", path=str(big), type="uri_file"))
        assert caught.value.status_code == 413
        with pytest.raises(NotFoundError):
            ml.data.get("too-big", version="1")
        assert _files_holding_the_marker(server.home) == []
        assert _recorded(server.home, "LocalUpload/%/big.csv") == []
        # The same upload under the limit goes through, so the refusal above was the limit's.
        registered = ml.data.create_or_update(Data(name="fits", path=str(fits), type="uri_file"))
        assert registered.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
