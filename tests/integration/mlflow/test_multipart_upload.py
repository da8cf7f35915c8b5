"""MLflow's proxied multipart upload: the stock client on every artifact store, and the signed part URLs.

The client is switched to multipart by ``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD`` with 5 MiB parts (S3's
minimum), so a ~12 MB file goes up as three part PUTs that carry no token, only the URL's signature.
On Azure and S3 the emulators' own state shows that complete joined the parts in the store.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from mlflow import MlflowClient

from plugins.services import AzuriteService, MotoS3Service
from plugins.stratus_server import LiveServer, start_server
from stratus.artifacts import composite_digest

MIB = 1 << 20
FILE_SIZE = 12 * MIB + 12_345  # three 5 MiB parts, the last one short
MULTIPART_ENV = {
    "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true",
    "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(5 * MIB),
    "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * MIB),
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
}
MPU = "/api/2.0/mlflow-artifacts/mpu"
PART_ROUTE = "/workspaces/{workspace_name}/api/2.0/mlflow-artifacts/mpu/part/{artifact_path:path}"
CREATE_ROUTE = "/workspaces/{workspace_name}/api/2.0/mlflow-artifacts/mpu/create/{artifact_path:path}"
COMPLETE_ROUTE = "/workspaces/{workspace_name}/api/2.0/mlflow-artifacts/mpu/complete/{artifact_path:path}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("mlflow-multipart") / "home")
    yield live
    live.stop()


def _headers(server: LiveServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_token}"}


def _new_run(server: LiveServer) -> str:
    response = httpx.post(
        f"{server.url}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, headers=_headers(server)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["run"]["info"]["run_id"])


def _served(server: LiveServer, method: str, route: str, status: int = 200) -> float:
    """How many requests the server answered on ``route`` (a route template) with ``status``."""
    metrics = httpx.get(f"{server.url}/metrics", headers=_headers(server)).text
    wanted = f'stratus_http_requests_total{{method="{method}",route="{route}",status="{status}"}}'
    for line in metrics.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _stock_client_round_trip(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_size: int = 5 * MIB
) -> tuple[str, bytes]:
    """Log a ~12 MB file with the stock client in multipart mode; check it downloads byte-exactly."""
    for name, value in {**MULTIPART_ENV, "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(chunk_size)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.admin_token)
    tracking_uri = f"{server.url}/workspaces/default"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    run_id = client.create_run("0").info.run_id
    data = os.urandom(FILE_SIZE)
    (tmp_path / "weights.bin").write_bytes(data)
    creates = _served(server, "POST", CREATE_ROUTE)
    parts = _served(server, "PUT", PART_ROUTE)
    completes = _served(server, "POST", COMPLETE_ROUTE)

    client.log_artifact(run_id, str(tmp_path / "weights.bin"), artifact_path="model")

    # It really went in parts: one create, a part PUT per chunk (three of 5 MiB), one complete.
    assert _served(server, "POST", CREATE_ROUTE) == creates + 1
    assert _served(server, "PUT", PART_ROUTE) == parts + len(_chunks(data, chunk_size))
    assert _served(server, "POST", COMPLETE_ROUTE) == completes + 1
    listed = client.list_artifacts(run_id, "model")
    assert [(f.path, f.is_dir, f.file_size) for f in listed] == [("model/weights.bin", False, FILE_SIZE)]
    out = Path(client.download_artifacts(run_id, "model/weights.bin", str(tmp_path / "out")))
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    return run_id, data


def _chunks(data: bytes, size: int = 5 * MIB) -> list[bytes]:
    """The parts the stock client sends: ``size`` bytes each, the last one shorter."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record(home: Path, run_id: str, **settings: str) -> tuple[int, str]:
    """Size and digest the index recorded for the uploaded file (the server is stopped by then)."""
    from stratus.config import Settings
    from stratus.server.state import bootstrap

    state = bootstrap(Settings(home=home, **settings))
    try:
        ws = state.store.workspaces.get("default")
        assert ws is not None
        record = state.artifact_objects.record(ws, f"0/{run_id}/artifacts/model/weights.bin")
        return record.size, record.sha256
    finally:
        state.close()


# -- the stock client ---------------------------------------------------------------------------------


def test_stock_client_uploads_in_parts(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, data = _stock_client_round_trip(server, tmp_path, monkeypatch)
    # Local files: the server composes the parts (a local copy), so it knows the file's sha256.
    assert _record(server.home, run_id) == (len(data), _sha(data))
    # The parts are gone; what is left of the upload (its completed manifest) is outside the tree.
    workspace_dir = server.home / "workspaces" / "default"
    assert list(workspace_dir.glob("~stratus-staging/*/parts/*")) == []
    root = httpx.get(
        f"{server.url}/api/2.0/mlflow-artifacts/artifacts", params={"path": ""}, headers=_headers(server)
    ).json()
    assert all("stratus" not in f["path"] for f in root.get("files", [])), root


def test_server_info_announces_multipart_uploads(server: LiveServer) -> None:
    info = httpx.get(f"{server.url}/api/3.0/mlflow/server-info", headers=_headers(server)).json()
    assert info["multipart_uploads_enabled"] is True


@pytest.mark.postgres
@pytest.mark.azurite
def test_stock_client_on_azurite(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_url: str,
    azurite: AzuriteService,
    azure_container: str,
) -> None:
    env = {
        "STRATUS_DATABASE_URL": postgres_url,
        "STRATUS_ARTIFACT_URI": f"az://{azure_container}/stratus",
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
    }
    live = start_server(tmp_path / "home", env=env)
    try:
        run_id, data = _stock_client_round_trip(live, tmp_path, monkeypatch)
    finally:
        live.stop()
    with azurite._client() as service:
        container = service.get_container_client(azure_container)
        names = [b.name for b in container.list_blobs()]
        committed, uncommitted = container.get_blob_client(
            f"stratus/default/0/{run_id}/artifacts/model/weights.bin"
        ).get_block_list("all")
    assert not [n for n in names if "/parts/" in n], names  # no staged part outlives its upload
    # The blob is the three parts as they were uploaded, one block each, committed in part order by
    # the server's Put Block List (block ids carry the part number): no byte went through it again.
    assert uncommitted == [] and [int(b.id[16:20], 16) for b in committed] == [1, 2, 3]
    assert [b.size for b in committed] == [len(c) for c in _chunks(data)]
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    recorded = _record(
        tmp_path / "home", run_id, database_url=postgres_url, artifact_uri=env["STRATUS_ARTIFACT_URI"]
    )
    assert recorded == (len(data), composite_digest(_sha(c) for c in _chunks(data)))


@pytest.mark.postgres
@pytest.mark.s3
def test_stock_client_on_s3(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_url: str,
    moto_s3: MotoS3Service,
    s3_bucket: str,
) -> None:
    env = {
        "STRATUS_DATABASE_URL": postgres_url,
        "STRATUS_ARTIFACT_URI": f"s3://{s3_bucket}/stratus",
        **moto_s3.env,
    }
    live = start_server(tmp_path / "home", env=env)
    try:
        run_id, data = _stock_client_round_trip(live, tmp_path, monkeypatch)
    finally:
        live.stop()
    client = moto_s3._client()
    try:
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
        head = client.head_object(
            Bucket=s3_bucket, Key=f"stratus/default/0/{run_id}/artifacts/model/weights.bin"
        )
        uploads = client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    finally:
        client.close()
    assert not [k for k in keys if "/parts/" in k], keys
    # S3 completed the object from the three parts as uploaded (its ETag is the MD5 of their MD5s and
    # their count; the server writing it again would have used its own 8 MiB parts), the short last
    # part copied in inside S3: no byte went through the server at complete.
    md5s = b"".join(hashlib.md5(c, usedforsecurity=False).digest() for c in _chunks(data))
    assert head["ETag"] == f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-3"'
    assert uploads == []
    for name, value in moto_s3.env.items():
        monkeypatch.setenv(name, value)
    recorded = _record(
        tmp_path / "home", run_id, database_url=postgres_url, artifact_uri=env["STRATUS_ARTIFACT_URI"]
    )
    assert recorded == (len(data), composite_digest(_sha(c) for c in _chunks(data)))


@pytest.mark.s3
def test_stock_client_with_parts_below_the_s3_minimum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_s3: MotoS3Service, s3_bucket: str
) -> None:
    """MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE below 5 MiB: S3 cannot join such parts, so they are staged
    and the server composes them, as on local files (and records the file's sha256)."""
    env = {"STRATUS_ARTIFACT_URI": f"s3://{s3_bucket}/stratus", **moto_s3.env}
    live = start_server(tmp_path / "home", env=env)
    try:
        run_id, data = _stock_client_round_trip(live, tmp_path, monkeypatch, chunk_size=2 * MIB)
    finally:
        live.stop()
    for name, value in moto_s3.env.items():
        monkeypatch.setenv(name, value)
    assert _record(tmp_path / "home", run_id, artifact_uri=env["STRATUS_ARTIFACT_URI"]) == (
        len(data),
        _sha(data),
    )
    client = moto_s3._client()
    try:
        assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    finally:
        client.close()


# -- the REST calls, by hand ----------------------------------------------------------------------------


def _create(server: LiveServer, folder: str, num_parts: int, file_name: str = "f.bin") -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/workspaces/default{MPU}/create/{folder}",
        json={"path": f"/home/someone/{file_name}", "num_parts": num_parts},
        headers=_headers(server),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert [c["part_number"] for c in body["credentials"]] == list(range(1, num_parts + 1))
    return body


def _put(url: str, data: bytes, **kwargs: Any) -> httpx.Response:
    return httpx.put(url, content=data, **kwargs)


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def _without_query(url: str) -> str:
    return urlsplit(url)._replace(query="").geturl()


def _complete(server: LiveServer, folder: str, upload_id: str, etags: list[str]) -> httpx.Response:
    parts = [{"part_number": n, "etag": etag, "url": "ignored"} for n, etag in enumerate(etags, 1)]
    return httpx.post(
        f"{server.url}{MPU}/complete/{folder}",
        json={"path": "f.bin", "upload_id": upload_id, "parts": parts},
        headers=_headers(server),
    )


def _get(server: LiveServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{path}", headers=_headers(server))


def test_part_urls_answer_with_the_parts_hash(server: LiveServer) -> None:
    folder = f"0/{_new_run(server)}/artifacts"
    created = _create(server, folder, 2)
    first = created["credentials"][0]["url"]
    assert first.startswith(f"{server.url}/workspaces/default{MPU}/part/{folder}/f.bin?")
    assert "Bearer" not in str(created)
    response = _put(first, b"part one")
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{hashlib.sha256(b"part one").hexdigest()}"'


def test_part_urls_are_refused_when_anything_changed(server: LiveServer) -> None:
    folder = f"0/{_new_run(server)}/artifacts"
    created = _create(server, folder, 2)
    url = created["credentials"][0]["url"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    signature = query["signature"]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other_last = "1" if query["upload_id"].endswith("0") else "0"  # a different id, whatever it ends with
    assert httpx.post(
        f"{server.url}/api/v1/workspaces", json={"name": "other-ws"}, headers=_headers(server)
    ).status_code in (200, 201)

    refused_403 = {
        "tampered signature": _with_query(url, signature=flipped),
        "truncated signature": _with_query(url, signature=signature[:-2]),
        "other part number": _with_query(url, part_number="2"),
        "part number beyond the upload": _with_query(url, part_number="3"),
        "other upload id": _with_query(url, upload_id=query["upload_id"][:-1] + other_last),
        "later expiry": _with_query(url, expires=str(int(query["expires"]) + 60)),
        "non-numeric expiry": _with_query(url, expires="soon"),
        "other path": url.replace("/f.bin?", "/g.bin?"),
        "path elsewhere": url.replace(f"/part/{folder}/f.bin?", "/part/0/x/artifacts/f.bin?"),
        "encoded traversal": url.replace("/f.bin?", "/%2e%2e/%2e%2e/f.bin?"),
        "other workspace": url.replace("/workspaces/default/", "/workspaces/other-ws/"),
        "unknown workspace": url.replace("/workspaces/default/", "/workspaces/nope/"),
    }
    for what, bad in refused_403.items():
        response = _put(bad, b"evil")
        assert response.status_code == 403, (what, response.status_code, response.text)
        assert response.json()["error_code"] == "PERMISSION_DENIED", what
    refused_401 = {
        "no signature at all": (_without_query(url), {}),
        "a token instead of the signature": (_without_query(url), _headers(server)),
        "signature missing": (_with_query(url, signature=""), _headers(server)),
    }
    for what, (bad, headers) in refused_401.items():
        response = _put(bad, b"evil", headers=headers)
        assert response.status_code == 401, (what, response.status_code, response.text)
    for method in ("POST", "GET", "DELETE"):  # a part URL writes with PUT only
        assert httpx.request(method, url).status_code in (404, 405), method
    # Nothing was written anywhere: the run has no artifacts, and the upload has no parts.
    listing = httpx.get(
        f"{server.url}/api/2.0/mlflow-artifacts/artifacts", params={"path": folder}, headers=_headers(server)
    )
    assert listing.json() == {}
    staged = server.home / "workspaces" / "default" / "~stratus-staging" / created["upload_id"]
    assert sorted(p.name for p in staged.rglob("*") if p.is_file()) == ["manifest.json"]
    assert _put(url, b"fine").status_code == 200  # the URL itself still works


def test_expired_part_urls_are_refused(server: LiveServer) -> None:
    """URLs are minted here with the server's own key, so only their expiry differs."""
    from stratus.config import Settings
    from stratus.server.services.multipart import PartGrant, PartUrlSigner
    from stratus.server.state import bootstrap

    folder = f"0/{_new_run(server)}/artifacts"
    created = _create(server, folder, 1)
    state = bootstrap(Settings(home=server.home))
    try:
        ws = state.store.workspaces.get("default")
        assert ws is not None
        signer = PartUrlSigner(state.master_key)
    finally:
        state.close()
    now = int(time.time())

    def minted(expires: int) -> str:
        grant = PartGrant(ws.id, created["upload_id"], f"{folder}/f.bin", 1, expires)
        return _with_query(
            created["credentials"][0]["url"], expires=str(expires), signature=signer.sign(grant)
        )

    expired = _put(minted(now - 1), b"late")
    assert expired.status_code == 403 and "expired" in expired.json()["message"], expired.text
    too_far = _put(minted(now + 3600), b"long-lived")
    assert too_far.status_code == 403 and "15 minutes" in too_far.json()["message"], too_far.text
    assert _put(minted(now + 300), b"in time").status_code == 200  # same key, same fields: accepted


def test_complete_checks_every_part(server: LiveServer) -> None:
    folder = f"0/{_new_run(server)}/artifacts"
    created = _create(server, folder, 2)
    upload_id = created["upload_id"]
    urls = [c["url"] for c in created["credentials"]]
    one, two = b"1" * 1000, b"2" * 500
    etag_one = _put(urls[0], b"first try").headers["ETag"]
    assert _complete(server, folder, upload_id, [etag_one]).status_code == 400  # part 2 not listed
    missing = _complete(server, folder, upload_id, [etag_one, '"' + "0" * 64 + '"'])
    assert missing.status_code == 400 and "never uploaded" in missing.json()["message"]
    etag_two = _put(urls[1], two).headers["ETag"]
    etag_retry = _put(urls[0], one).headers["ETag"]  # a retried part replaces the first try
    stale = _complete(server, folder, upload_id, [etag_one, etag_two])
    assert stale.status_code == 400 and "part 1" in stale.json()["message"], stale.text
    assert _complete(server, folder, upload_id, [etag_two, etag_one]).status_code == 400
    assert _complete(server, folder, upload_id, ["not-an-etag", etag_two]).status_code == 400
    assert _get(server, f"{folder}/f.bin").status_code == 404  # nothing visible after failed completes
    wrong_path = httpx.post(
        f"{server.url}{MPU}/complete/{folder}",
        json={"path": "g.bin", "upload_id": upload_id, "parts": [{"part_number": 1, "etag": etag_retry}]},
        headers=_headers(server),
    )
    assert wrong_path.status_code == 400 and "f.bin" in wrong_path.json()["message"]

    assert _complete(server, folder, upload_id, [etag_retry, etag_two]).status_code == 200
    assert _get(server, f"{folder}/f.bin").content == one + two
    # A retried complete (its first answer lost) succeeds again; other parts do not.
    assert _complete(server, folder, upload_id, [etag_retry, etag_two]).status_code == 200
    assert _complete(server, folder, upload_id, [etag_one, etag_two]).status_code == 400
    assert _put(urls[0], b"after the end").status_code == 400  # a completed upload takes no parts
    assert _get(server, f"{folder}/f.bin").content == one + two


def test_abort_discards_the_parts(server: LiveServer) -> None:
    folder = f"0/{_new_run(server)}/artifacts"
    created = _create(server, folder, 2)
    upload_id, url = created["upload_id"], created["credentials"][0]["url"]
    etag = _put(url, b"doomed").headers["ETag"]
    staged = server.home / "workspaces" / "default" / "~stratus-staging" / upload_id
    assert (staged / "parts").is_dir()
    body = {"path": "f.bin", "upload_id": upload_id}
    assert httpx.post(f"{server.url}{MPU}/abort/{folder}", json=body, headers=_headers(server)).json() == {}
    assert not staged.exists()
    gone = _put(url, b"too late")
    assert gone.status_code == 404 and gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert _complete(server, folder, upload_id, [etag, etag]).status_code == 404
    assert (
        httpx.post(f"{server.url}{MPU}/abort/{folder}", json=body, headers=_headers(server)).status_code
        == 200
    )
    assert _get(server, f"{folder}/f.bin").status_code == 404


def test_create_validates_its_input(server: LiveServer) -> None:
    folder = f"0/{_new_run(server)}/artifacts"
    url = f"{server.url}{MPU}/create/{folder}"
    for body in (
        {"path": "f.bin"},
        {"path": "f.bin", "num_parts": 0},
        {"path": "f.bin", "num_parts": 10_001},
        {"path": "f.bin", "num_parts": "many"},
        {"num_parts": 2},
        {"path": "dir/", "num_parts": 2},
        {"path": "~secret", "num_parts": 1},
    ):
        response = httpx.post(url, json=body, headers=_headers(server))
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE", body
    assert (
        httpx.post(
            f"{server.url}{MPU}/create/..%2f..%2fx",
            json={"path": "f", "num_parts": 1},
            headers=_headers(server),
        ).status_code
        == 400
    )
    _put_artifact = httpx.put(
        f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{folder}/taken/inner.txt",
        content=b"x",
        headers=_headers(server),
    )
    assert _put_artifact.status_code == 200
    onto_dir = httpx.post(url, json={"path": "taken", "num_parts": 1}, headers=_headers(server))
    assert onto_dir.status_code == 400 and "directory" in onto_dir.json()["message"]
    assert httpx.post(url, json={"path": "f.bin", "num_parts": 1}).status_code == 401
    for action in ("complete", "abort"):
        assert httpx.post(f"{server.url}{MPU}/{action}/{folder}", json={"path": "f.bin"}).status_code == 401
        bad_id = httpx.post(
            f"{server.url}{MPU}/{action}/{folder}",
            json={"path": "f.bin", "upload_id": "../../x", "parts": [{"part_number": 1, "etag": "x"}]},
            headers=_headers(server),
        )
        assert bad_id.status_code == 400, (action, bad_id.text)


def test_file_names_from_any_client(server: LiveServer) -> None:
    folder = f"0/{_new_run(server)}/artifacts"
    response = httpx.post(
        f"{server.url}{MPU}/create/{folder}",
        json={"path": "C:\\Users\\someone\\model.pkl", "num_parts": 1},
        headers=_headers(server),
    )
    assert response.status_code == 200, response.text
    assert re.search(rf"/part/{folder}/model\.pkl\?", response.json()["credentials"][0]["url"])
    # Names that need quoting in a URL survive the round trip through the part URL.
    name = "caf\u00e9 & 100% +1=2.bin"
    created = _create(server, f"{folder}/sub dir", 1, file_name=name)
    etag = _put(created["credentials"][0]["url"], b"odd name").headers["ETag"]
    complete = httpx.post(
        f"{server.url}{MPU}/complete/{folder}/sub dir",
        json={"path": name, "upload_id": created["upload_id"], "parts": [{"part_number": 1, "etag": etag}]},
        headers=_headers(server),
    )
    assert complete.status_code == 200, complete.text
    listing = httpx.get(
        f"{server.url}/api/2.0/mlflow-artifacts/artifacts",
        params={"path": f"{folder}/sub dir"},
        headers=_headers(server),
    ).json()
    assert listing == {"files": [{"path": name, "is_dir": False, "file_size": 8}]}
