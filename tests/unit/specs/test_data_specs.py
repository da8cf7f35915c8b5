"""The ``data`` YAML: azureml-examples' cloud and local data assets, path resolution and field errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.entities import Data
from stratus.specs import SpecError, data_from_dict, data_from_fields, data_to_fields, load_data

SCHEMA = "https://azuremlschemas.azureedge.net/latest/data.schema.json"

CLOUD_FILE_HTTPS = f"""\
$schema: {SCHEMA}
name: cloud-file-https-example
description: Data asset created from a file in cloud using https URL.
type: uri_file
path: https://account-name.blob.core.windows.net/container-name/example-data/titanic.csv
"""
CLOUD_FILE_WASBS = f"""\
$schema: {SCHEMA}
name: cloud-file-wasbs-example
description: Data asset created from a file in cloud using wasbs URL.
type: uri_file
path: wasbs://account-name.blob.core.windows.net/container-name/example-data/titanic.csv
"""
CLOUD_FOLDER = f"""\
$schema: {SCHEMA}
name: cloud-folder-example
description: Data asset created from folder in cloud.
type: uri_folder
path: azureml://datastores/workspaceblobstore/paths/example-data/
"""
LOCAL_FOLDER = f"""\
$schema: {SCHEMA}
name: local-folder-example
version: 1
description: Data asset created from local folder.
path: sample-data
"""
LOCAL_FILE = f"""\
$schema: {SCHEMA}
name: local-file-example-titanic
description: Data asset created from local file.
type: uri_file
path: sample-data/titanic.csv
tags:
  rows: 891
properties:
  source: kaggle
"""
LOCAL_MLTABLE = f"""\
$schema: {SCHEMA}
name: local-mltable-example-titanic
description: Data asset created from local MLTable.
type: mltable
path: ./local-mltable
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """A folder laid out like azureml-examples' cli/assets/data."""
    folder = tmp_path / "assets" / "data"
    (folder / "sample-data").mkdir(parents=True)
    (folder / "sample-data" / "titanic.csv").write_text("PassengerId,Survived\n1,0\n")
    (folder / "local-mltable").mkdir()
    (folder / "local-mltable" / "MLTable").write_text("paths:\n  - file: ./titanic.csv\n")
    return folder


def _write(folder: Path, text: str, name: str = "data.yml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "type_"),
    [(CLOUD_FILE_HTTPS, "uri_file"), (CLOUD_FILE_WASBS, "uri_file"), (CLOUD_FOLDER, "uri_folder")],
)
def test_cloud_paths_are_kept(spec_dir: Path, text: str, type_: str) -> None:
    data = load_data(_write(spec_dir, text))
    assert data.type == type_
    assert data.path == next(line for line in text.splitlines() if line.startswith("path:"))[6:]
    assert data.version is None


@pytest.mark.parametrize(
    "path",
    [
        "azureml://datastores/workspaceblobstore/paths/x/",
        "azureml:some/x",
        "abfss://fs@acct.dfs.core.windows.net/x",
        "s3://bucket/x",
        "az://container/x",
        "http://example.com/x.csv",
        "wasb://c@acct.blob.core.windows.net/x",
    ],
)
def test_remote_uris_are_not_touched(path: str) -> None:
    assert data_from_dict({"name": "d", "path": path}).path == path


def test_local_paths_resolve_against_the_yaml(
    spec_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # elsewhere than the YAML
    folder = load_data(_write(spec_dir, LOCAL_FOLDER))
    assert (folder.path, folder.type, folder.version) == (str(spec_dir / "sample-data"), "uri_folder", "1")
    file = load_data(_write(spec_dir, LOCAL_FILE))
    assert file.path == str(spec_dir / "sample-data" / "titanic.csv")
    assert file.tags == {"rows": "891"}
    assert file.properties == {"source": "kaggle"}
    table = load_data(_write(spec_dir, LOCAL_MLTABLE))
    assert (table.path, table.type) == (str(spec_dir / "local-mltable"), "mltable")


def test_file_uris_and_fields_from_the_current_folder(
    spec_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(spec_dir)
    assert data_from_fields(name="d", path="sample-data").path == str(spec_dir / "sample-data")
    uri = (spec_dir / "sample-data" / "titanic.csv").as_uri()
    assert data_from_fields(name="d", path=uri, type="uri_file").path == str(
        spec_dir / "sample-data/titanic.csv"
    )
    assert data_from_fields(name="d", path="file:sample-data").path == str(spec_dir / "sample-data")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"path": "missing"}, "does not exist"),
        ({"path": "sample-data", "type": "uri_file"}, "uri_folder"),
        ({"path": "sample-data/titanic.csv"}, "uri_file"),
        ({"path": "sample-data", "type": "mltable"}, "MLTable"),
    ],
)
def test_local_path_problems_name_path(spec_dir: Path, fields: dict[str, str], says: str) -> None:
    text = "name: d\n" + "".join(f"{k}: {v}\n" for k, v in fields.items())
    with pytest.raises(SpecError) as excinfo:
        load_data(_write(spec_dir, text))
    assert excinfo.value.field == "path"
    assert says in str(excinfo.value)
    assert "data.schema.json" in str(excinfo.value)


def test_server_refuses_local_paths() -> None:
    with pytest.raises(SpecError) as excinfo:
        data_from_dict({"name": "d", "path": "/tmp/anything"})
    assert excinfo.value.field == "path"
    assert "upload" in str(excinfo.value)


def test_datastore_goes_with_local_paths_only(spec_dir: Path) -> None:
    local = load_data(_write(spec_dir, LOCAL_FOLDER + "datastore: my_store\n"))
    assert local.datastore == "my_store"
    with pytest.raises(SpecError) as excinfo:
        load_data(_write(spec_dir, CLOUD_FOLDER + "\ndatastore: my_store\n"))
    assert excinfo.value.field == "datastore"
    with pytest.raises(SpecError) as bad_name:
        load_data(_write(spec_dir, LOCAL_FOLDER + "datastore: my-store\n"))
    assert bad_name.value.field == "datastore"


@pytest.mark.parametrize(
    "schema",
    [
        SCHEMA,
        "https://azuremlschemas.azureedge.net/1.2.0/data.schema.json",
        "http://mirror.local/v9/data.schema.json",
    ],
)
def test_schema_under_any_host_or_version(spec_dir: Path, schema: str) -> None:
    assert load_data(_write(spec_dir, CLOUD_FOLDER.replace(SCHEMA, schema))).name == "cloud-folder-example"


@pytest.mark.parametrize(
    "schema",
    [
        "https://azuremlschemas.azureedge.net/latest/dataset.schema.json",
        "https://azuremlschemas.azureedge.net/latest/model.schema.json",
        "https://azuremlschemas.azureedge.net/latest/mydata.schema.json",
    ],
)
def test_wrong_schema_fails_naming_it(spec_dir: Path, schema: str) -> None:
    with pytest.raises(SpecError) as excinfo:
        load_data(_write(spec_dir, CLOUD_FOLDER.replace(SCHEMA, schema)))
    assert excinfo.value.field == "$schema"
    assert "data.schema.json" in str(excinfo.value)


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"file": "x.csv"}, "file", "unknown field"),
        ({"type": "tabular"}, "type", "uri_file"),
        ({"path": 5}, "path", "string"),
        ({"path": ""}, "path", "at least 1"),
        ({"name": "bad name"}, "name", "letters, digits"),
        ({"version": 1.10}, "version", "string"),
        ({"version": "latest"}, "version", "reserved"),
        ({"version": "1/2"}, "version", "letters, digits"),
        ({"tags": "a"}, "tags", "dictionary"),
        ({"description": ["x"]}, "description", "string"),
    ],
)
def test_bad_fields_name_field_and_schema(change: dict[str, object], field: str, says: str) -> None:
    body = {"name": "d", "path": "azureml://datastores/workspaceblobstore/paths/x/", **change}
    with pytest.raises(SpecError) as excinfo:
        data_from_dict(body)
    assert excinfo.value.field == field
    assert says in str(excinfo.value)
    assert "data.schema.json" in str(excinfo.value)


def test_required_fields() -> None:
    with pytest.raises(SpecError) as excinfo:
        data_from_dict({"name": "d"})
    assert excinfo.value.field == "path"
    with pytest.raises(SpecError) as nameless:
        data_from_dict({"path": "s3://b/x"})
    assert nameless.value.field == "name"


def test_overrides_and_none_values(spec_dir: Path) -> None:
    data = load_data(_write(spec_dir, LOCAL_FOLDER), version="7", description=None)
    assert (data.version, data.description) == ("7", "Data asset created from local folder.")
    assert data_from_dict({"name": "d", "path": "s3://b/x", "version": None}).version is None


@pytest.mark.parametrize("text", [CLOUD_FILE_HTTPS, CLOUD_FOLDER, LOCAL_FOLDER, LOCAL_FILE, LOCAL_MLTABLE])
def test_round_trip_through_spec_fields(spec_dir: Path, text: str) -> None:
    data = load_data(_write(spec_dir, text))
    fields = data_to_fields(data)
    assert "$schema" not in fields
    assert data_from_fields(**fields) == data


def test_stored_version_fields_leave_out_server_fields() -> None:
    stored = Data.from_response(
        {
            "name": "d",
            "version": "3",
            "path": "azureml://datastores/workspaceblobstore/paths/LocalUpload/abc/",
            "datastore": "workspaceblobstore",
            "sha256": "ab" * 32,
            "size": 10,
            "is_archived": True,
            "creation_context": {"created_by": "alice"},
        }
    )
    fields = data_to_fields(stored)
    assert fields == {
        "name": "d",
        "version": "3",
        "path": "azureml://datastores/workspaceblobstore/paths/LocalUpload/abc/",
        "type": "uri_folder",
    }
    assert data_from_dict(fields).path == stored.path
