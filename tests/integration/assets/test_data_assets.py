"""Data assets and datastores through the SDK and REST of a real server, on the workspace's own store,
a local datastore, Azurite (Azure Blob) and moto (S3): versions, hashes, profiles, MLTable, loading into
pandas, and the 4xx answers for what the server must refuse."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

import stratus.data
from plugins.services import AZURITE_ACCOUNT, AzuriteService, MotoS3Service
from plugins.stratus_server import LiveServer, start_server
from stratus import MLClient
from stratus.entities.assets import (
    AccessKeyConfiguration,
    AccountKeyConfiguration,
    AzureBlobDatastore,
    Data,
    LocalDatastore,
    S3Datastore,
)
from stratus.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

FRAME = pd.DataFrame({"x": [1, 2, 3, None], "label": ["a", "b", "a", "c"]})
MLTABLE = """\
type: mltable
paths:
  - pattern: ./parts/*.csv
transformations:
  - read_delimited:
      delimiter: ','
      header: all_files_same_headers
  - drop_columns: [note]
  - convert_column_types:
      - columns: [x]
        column_type: float
"""


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-datastores")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, roots: Path) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("data") / "home", env={"STRATUS_LOCAL_DATASTORE_ROOTS": str(roots)}
    )
    yield live
    live.stop()


@pytest.fixture
def ml(server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MLClient]:
    monkeypatch.setenv("STRATUS_CACHE_DIR", str(tmp_path / "cache"))
    with MLClient(server.admin_token, endpoint=server.url, show_progress=False) as client:
        yield client


def post(server: LiveServer, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/workspaces/default{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.admin_token}"},
    )


def mltable_folder(root: Path) -> Path:
    (root / "parts").mkdir(parents=True)
    (root / "parts" / "a.csv").write_text("x,label,note\n1,a,n1\n2,b,n2\n")
    (root / "parts" / "b.csv").write_text("x,label,note\n3,a,n3\n,c,n4\n")
    (root / "MLTable").write_text(MLTABLE)
    return root


def test_uri_file_versions_hash_profile_and_load(ml: MLClient, server: LiveServer, tmp_path: Path) -> None:
    csv = tmp_path / "table.csv"
    FRAME.to_csv(csv, index=False)
    first = ml.data.create_or_update(Data(name="table", path=str(csv), type="uri_file", tags={"k": "v"}))
    assert first.version == "1" and first.datastore == "workspaceblobstore"
    assert first.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert first.sha256 == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert first.size == csv.stat().st_size and first.file_count == 1
    profile = first.profile
    assert profile["rows"] == 4 and profile["columns"] == 2
    fields = {f["name"]: f for f in profile["fields"]}
    assert fields["x"]["missing"] == 1 and fields["label"]["distinct"] == 3
    assert len(profile["sample"]) == 4
    second = ml.data.create_or_update(Data(name="table", path=str(csv), type="uri_file"))
    assert second.version == "2"
    with pytest.raises(ConflictError):  # versions are immutable
        ml.data.create_or_update(Data(name="table", version="1", path=str(csv), type="uri_file"))
    named = ml.data.create_or_update(Data(name="table", version="2024-01", path=str(csv), type="uri_file"))
    assert named.version == "2024-01"
    assert ml.data.get("table", label="latest").version == "2024-01"
    ml.data.archive("table", version="2024-01")
    assert ml.data.get("table", label="latest").version == "2"
    assert [d.version for d in ml.data.list(name="table")] == ["2", "1"]
    assert len(list(ml.data.list(name="table", include_archived=True))) == 3
    ml.data.restore("table", version="2024-01")
    loaded = stratus.data.load("azureml:table:1", ml_client=ml)
    pd.testing.assert_frame_equal(loaded, FRAME, check_dtype=False)
    assert stratus.data.load("azureml:table@latest", ml_client=ml).shape == (4, 2)
    folder = ml.data.download("table", version="1", download_path=tmp_path / "out")
    assert (folder / "table.csv").read_bytes() == csv.read_bytes()
    # Archiving by label acts on the version the label named then, and answers it.
    archived = post(server, "/data/table/versions/latest/archive", {})
    assert archived.status_code == 200 and archived.json()["version"] == "2024-01", archived.text
    assert archived.json()["is_archived"] is True
    ml.data.restore("table", version="2024-01")
    for escape in ("..%2F..%2Fstratus.db", "%2E%2E/x", "../x"):
        response = httpx.get(
            f"{server.url}/api/v1/workspaces/default/data/table/versions/1/files/{escape}",
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
        assert response.status_code in (400, 404), (escape, response.status_code, response.text)
    ml.data.archive("table")  # every version
    with pytest.raises(NotFoundError):
        ml.data.get("table", label="latest")
    ml.data.restore("table")


def test_uri_folder_and_mltable(
    ml: MLClient, server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = mltable_folder(tmp_path / "mlt")
    table = ml.data.create_or_update(Data(name="parts-table", path=str(folder), type="mltable"))
    assert table.file_count == 3 and table.profile["rows"] == 4
    assert [f["name"] for f in table.profile["fields"]] == ["x", "label"]
    frame = stratus.data.load("parts-table@latest", ml_client=ml)
    assert list(frame.columns) == ["x", "label"] and frame["x"].isna().sum() == 1
    parts = ml.data.create_or_update(Data(name="parts", path=str(folder / "parts"), type="uri_folder"))
    assert parts.profile["rows"] == 4 and parts.path.endswith("/")
    lines = sorted(
        f"{p}\0{hashlib.sha256((folder / 'parts' / p).read_bytes()).hexdigest()}\n"
        for p in ("a.csv", "b.csv")
    )
    assert parts.sha256 == hashlib.sha256("".join(lines).encode()).hexdigest()
    assert stratus.data.load("azureml:parts:1", ml_client=ml).shape == (4, 3)
    # Without ml_client, load connects as MLClient() does: STRATUS_URL / STRATUS_TOKEN or the profile.
    monkeypatch.setenv("STRATUS_URL", server.url)
    monkeypatch.setenv("STRATUS_TOKEN", server.admin_token)
    assert stratus.data.load("azureml:parts@latest").shape == (4, 3)
    # A bad MLTable is the caller's error, naming what to fix.
    (folder / "MLTable").write_text(
        "paths:\n  - pattern: ./parts/*.csv\ntransformations:\n  - frobnicate: 1\n"
    )
    with pytest.raises(InvalidInputError, match="frobnicate"):
        ml.data.create_or_update(Data(name="bad-table", path=str(folder), type="mltable"))


def test_server_refuses_local_paths_foreign_uris_and_bad_fields(server: LiveServer) -> None:
    cases = {
        "path": {"path": "/etc/passwd", "type": "uri_file"},
        "datastore": {"path": "https://example.com/data.csv", "type": "uri_file"},
        "frobnicate": {"path": "azureml://datastores/workspaceblobstore/paths/x", "frobnicate": 1},
        "$schema": {
            "$schema": "https://azuremlschemas.azureedge.net/latest/model.schema.json",
            "path": "azureml://datastores/workspaceblobstore/paths/x",
        },
    }
    for field, body in cases.items():
        response = post(server, "/data/refused/versions", body)
        assert response.status_code in (400, 422), (field, response.text)
        assert field in response.text or (field == "datastore" and "path" in response.text), response.text
    missing = post(server, "/data/refused/versions", {"path": "azureml://datastores/nope/paths/x.csv"})
    assert missing.status_code == 404 and "nope" in missing.text
    absent = post(
        server,
        "/data/refused/versions",
        {"path": "azureml://datastores/workspaceblobstore/paths/none.csv", "type": "uri_file"},
    )
    assert absent.status_code == 422 and "path" in absent.text
    escape = post(
        server, "/data/refused/versions", {"path": "azureml://datastores/workspaceblobstore/paths/../x"}
    )
    assert escape.status_code in (400, 422)


def test_local_datastore_owner_only_and_inside_roots(ml: MLClient, server: LiveServer, roots: Path) -> None:
    folder = mltable_folder(roots / "shared")
    store = ml.datastores.create_or_update(LocalDatastore(name="shared_disk", path=str(folder)))
    assert store.type == "local" and store.credentials_type == "none"
    data = ml.data.create_or_update(
        Data(name="on-local", path="azureml://datastores/shared_disk/paths/parts/", type="uri_folder")
    )
    assert data.datastore == "shared_disk" and data.profile["rows"] == 4
    # A link inside the datastore to a file outside it is not followed into the profile.
    outside = roots.parent / "outside-secret.csv"
    outside.write_text("secret_column\nsecret-value-1\nsecret-value-2\n")
    linked = roots / "linked"
    linked.mkdir()
    (linked / "a.csv").write_text("x\n1\n")
    (linked / "z.csv").symlink_to(outside)
    ml.datastores.create_or_update(LocalDatastore(name="linked_disk", path=str(linked)))
    leaked = ml.data.create_or_update(
        Data(name="linked", path="azureml://datastores/linked_disk/paths/", type="uri_folder")
    )
    assert "secret" not in json.dumps(leaked.as_dict()) and leaked.profile is None
    # The server never takes a file path or file:// URI, even under a local datastore: those are reached
    # by their azureml:// URI.
    for path in (f"file://{folder}/parts/a.csv", f"{folder}/parts/a.csv"):
        refused = post(server, "/data/on-local-uri/versions", {"path": path, "type": "uri_file"})
        assert refused.status_code == 422 and "local path" in refused.text, refused.text
    with pytest.raises(InvalidInputError, match="STRATUS_LOCAL_DATASTORE_ROOTS"):
        ml.datastores.create_or_update(LocalDatastore(name="outside", path=str(server.home)))
    with pytest.raises(InvalidInputError, match="STRATUS_LOCAL_DATASTORE_ROOTS"):
        ml.datastores.create_or_update(LocalDatastore(name="etc", path="/etc"))
    ml.users.create("ds-contributor")
    ml.role_assignments.create("ds-contributor", "Contributor")
    token = ml.tokens.create(user="ds-contributor").token
    with MLClient(token, endpoint=server.url, show_progress=False) as contributor:
        with pytest.raises(PermissionDeniedError):
            contributor.datastores.create_or_update(LocalDatastore(name="mine", path=str(folder)))
        assert "shared_disk" in [d.name for d in contributor.datastores.list()]
    names = [d.name for d in ml.datastores.list()]
    assert names[0] == "workspaceblobstore" and "shared_disk" in names
    with pytest.raises(InvalidInputError):
        ml.datastores.delete("workspaceblobstore")


@pytest.mark.azurite
def test_azure_blob_datastore(
    ml: MLClient, azurite: AzuriteService, azure_container: str, tmp_path: Path
) -> None:
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(azurite.connection_string) as client:
        container = client.get_container_client(azure_container)
        container.upload_blob("tables/part-0.csv", b"x,label\n1,a\n2,b\n")
        container.upload_blob("tables/part-1.csv", b"x,label\n3,c\n")
    endpoint = azurite.blob_endpoint.removeprefix("http://").removesuffix(f"/{AZURITE_ACCOUNT}")
    store = ml.datastores.create_or_update(
        AzureBlobDatastore(
            name="blobdata",
            account_name=AZURITE_ACCOUNT,
            container_name=azure_container,
            endpoint=endpoint,
            protocol="http",
            credentials=AccountKeyConfiguration(account_key=azurite.account_key),
        )
    )
    assert store.credentials_type == "account_key" and azurite.account_key not in store.as_dict().__repr__()
    shown = ml.datastores.get("blobdata").as_dict()
    assert azurite.account_key not in repr(shown) and shown.get("credentials") is None
    data = ml.data.create_or_update(
        Data(name="blob-folder", path="azureml://datastores/blobdata/paths/tables/", type="uri_folder")
    )
    assert data.profile["rows"] == 3 and data.file_count == 2
    cloud = f"{azurite.blob_endpoint}/{azure_container}/tables/part-0.csv"
    by_uri = ml.data.create_or_update(Data(name="blob-file", path=cloud, type="uri_file"))
    assert by_uri.path == "azureml://datastores/blobdata/paths/tables/part-0.csv"
    assert by_uri.sha256 == hashlib.sha256(b"x,label\n1,a\n2,b\n").hexdigest()
    assert stratus.data.load("azureml:blob-folder:1", ml_client=ml).shape == (3, 2)
    with pytest.raises(InvalidInputError, match="credentials"):
        ml.datastores.create_or_update(
            AzureBlobDatastore(
                name="wrongkey",
                account_name=AZURITE_ACCOUNT,
                container_name=azure_container,
                endpoint=endpoint,
                protocol="http",
                credentials=AccountKeyConfiguration(account_key="d3Jvbmcga2V5IQ=="),
            )
        )
    ml.datastores.delete("blobdata")
    with pytest.raises(NotFoundError):
        ml.datastores.get("blobdata")


@pytest.mark.s3
def test_s3_datastore(ml: MLClient, moto_s3: MotoS3Service, s3_bucket: str, tmp_path: Path) -> None:
    parquet = tmp_path / "t.parquet"
    FRAME.to_parquet(parquet)
    client = moto_s3._client()
    try:
        client.put_object(Bucket=s3_bucket, Key="team/t.parquet", Body=parquet.read_bytes())
    finally:
        client.close()
    ml.datastores.create_or_update(
        S3Datastore(
            name="s3data",
            bucket=s3_bucket,
            prefix="team",
            endpoint_url=moto_s3.endpoint_url,
            credentials=AccessKeyConfiguration(
                access_key_id=moto_s3.access_key_id, secret_access_key=moto_s3.secret_access_key
            ),
        )
    )
    data = ml.data.create_or_update(
        Data(name="s3-table", path=f"s3://{s3_bucket}/team/t.parquet", type="uri_file")
    )
    assert data.path == "azureml://datastores/s3data/paths/t.parquet"
    assert data.profile["rows"] == 4 and data.profile["format"] == "parquet"
    pd.testing.assert_frame_equal(stratus.data.load("azureml:s3-table:1", ml_client=ml), FRAME)
    with pytest.raises(InvalidInputError, match="datastore"):
        ml.data.create_or_update(
            Data(name="elsewhere", path=f"s3://{s3_bucket}-other/x.csv", type="uri_file")
        )
