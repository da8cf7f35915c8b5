"""The JSON schema files shipped in the package are exactly what the pydantic specs generate, and they
accept what the loaders accept."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from stratus.specs.schemas import SPECS, schema_texts, shipped_schema, write_schema_files

SHIPPED = resources.files("stratus.specs.schemas")
EXPECTED_FILES = {
    "data.schema.json",
    "environment.schema.json",
    "model.schema.json",
    "azureBlob.schema.json",
    "azureDataLakeGen2.schema.json",
    "s3.schema.json",
    "local.schema.json",
}


def test_every_spec_has_its_file() -> None:
    assert {spec.SCHEMA_FILE for spec in SPECS} == EXPECTED_FILES
    shipped = {entry.name for entry in SHIPPED.iterdir() if entry.name.endswith(".json")}
    assert shipped == EXPECTED_FILES


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_shipped_file_equals_the_generated_schema(name: str) -> None:
    """Fails after a spec change until ``python -m stratus.specs.schemas`` has been run."""
    assert SHIPPED.joinpath(name).read_text(encoding="utf-8") == schema_texts()[name]


def test_write_schema_files_regenerates_them(tmp_path: Path) -> None:
    written = write_schema_files(tmp_path)
    assert {path.name for path in written} == EXPECTED_FILES
    for path in written:
        assert path.read_text(encoding="utf-8") == SHIPPED.joinpath(path.name).read_text(encoding="utf-8")


def test_schemas_forbid_unknown_fields_and_name_the_dialect() -> None:
    for name in EXPECTED_FILES:
        document = shipped_schema(name)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["additionalProperties"] is False
        assert "$schema" in document["properties"]


VALID = [
    (
        "azureBlob.schema.json",
        "name: blob_example\ntype: azure_blob\naccount_name: mytestblobstore\n"
        "container_name: data-container\ncredentials:\n  sas_token: '?sv=x'\n",
    ),
    (
        "azureDataLakeGen2.schema.json",
        "name: adls_gen2_example\ntype: azure_data_lake_gen2\naccount_name: mytestdatalakegen2\n"
        "filesystem: my-gen2-container\ncredentials:\n  tenant_id: t\n  client_id: c\n  client_secret: s\n",
    ),
    ("s3.schema.json", "name: s3_example\ntype: s3\nbucket: my-bucket\nprefix: raw\n"),
    ("local.schema.json", "name: local_example\ntype: local\npath: /srv/data\n"),
    ("data.schema.json", "name: local-folder-example\nversion: 1\npath: sample-data\n"),
    (
        "environment.schema.json",
        "name: docker-image-plus-conda-example\nimage: mcr.microsoft.com/azureml/base:latest\n"
        "conda_file: conda-yamls/pydata.yml\nos_type: Linux\n",
    ),
    (
        "environment.schema.json",
        "name: native\npython: '3.11'\npip:\n  - --index-url https://x/simple\n  - numpy\n",
    ),
]
INVALID = [
    (
        "azureBlob.schema.json",
        "name: blob-example\ntype: azure_blob\naccount_name: a12\ncontainer_name: c12\n",
    ),
    ("data.schema.json", "name: d\npath: x\nfile: y\n"),
    ("environment.schema.json", "name: e\nimage: i\nchannels: [conda-forge]\n"),
]


def _validate(name: str, text: str) -> None:
    jsonschema.validate(yaml.safe_load(text), shipped_schema(name))


@pytest.mark.parametrize(("name", "text"), VALID)
def test_schema_accepts_azure_style_yaml(name: str, text: str) -> None:
    _validate(name, text)


@pytest.mark.parametrize(("name", "text"), INVALID)
def test_schema_refuses_what_the_loader_refuses(name: str, text: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validate(name, text)


def test_files_are_plain_json() -> None:
    for name in EXPECTED_FILES:
        json.loads(SHIPPED.joinpath(name).read_text(encoding="utf-8"))
