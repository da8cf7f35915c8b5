"""Datastore YAMLs: Azure's blob and ADLS Gen2 files as azureml-examples has them; Stratus's s3, local."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.services import AzuriteService
from stratus.entities import (
    AccessKeyConfiguration,
    AccountKeyConfiguration,
    AzureBlobDatastore,
    AzureDataLakeGen2Datastore,
    LocalDatastore,
    S3Datastore,
    SasTokenConfiguration,
    ServicePrincipalConfiguration,
)
from stratus.errors import InvalidInputError
from stratus.specs import (
    AzureBlobDatastoreSpec,
    SpecError,
    datastore_from_dict,
    datastore_from_fields,
    datastore_to_fields,
    load_datastore,
    parse_datastore,
)

SCHEMAS = "https://azuremlschemas.azureedge.net/latest"

BLOB = f"""\
$schema: {SCHEMAS}/azureBlob.schema.json
name: blob_example
type: azure_blob
description: Datastore pointing to a blob container.
account_name: mytestblobstore
container_name: data-container
credentials:
  account_key: XXXxxxXXXxXXXXxxXXXXXxXXXXXxXxxXxXXXxXXX
"""
BLOB_PROTOCOL = f"""\
$schema: {SCHEMAS}/azureBlob.schema.json
name: blob_protocol_example
type: azure_blob
description: Datastore pointing to a blob container using wasbs protocol.
account_name: mytestblobstore
protocol: wasbs
container_name: data-container
credentials:
  account_key: XXXxxxXXXxXXXXxxXXXXXxXXXXXxXxxXxXXXxXXX
"""
BLOB_SAS = f"""\
$schema: {SCHEMAS}/azureBlob.schema.json
name: blob_sas_example
type: azure_blob
description: Datastore pointing to a blob container using SAS token.
account_name: mytestblobstore
container_name: data-container
credentials:
  sas_token: ?xx=XXXX-XX-XX&xx=xxxx&xxx=xxx&xx=xxxxxxxxxxx
"""
BLOB_CREDLESS = f"""\
$schema: {SCHEMAS}/azureBlob.schema.json
name: blob_credless_example
type: azure_blob
description: Credential-less datastore pointing to a blob container.
account_name: mytestblobstore
container_name: data-container
"""
ADLS_GEN2 = f"""\
$schema: {SCHEMAS}/azureDataLakeGen2.schema.json
name: adls_gen2_example
type: azure_data_lake_gen2
description: Datastore pointing to an Azure Data Lake Storage Gen2.
account_name: mytestdatalakegen2
filesystem: my-gen2-container
credentials:
  tenant_id: XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX
  client_id: XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX
  client_secret: XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
"""
ADLS_GEN2_CREDLESS = f"""\
$schema: {SCHEMAS}/azureDataLakeGen2.schema.json
name: adls_gen2_credless_example
type: azure_data_lake_gen2
description: Credential-less datastore pointing to an Azure Data Lake Storage Gen2.
account_name: mytestdatalakegen2
filesystem: my-gen2-container
"""
S3 = """\
$schema: https://stratus.example/schemas/s3.schema.json
name: s3_example
type: s3
bucket: my-bucket
prefix: /team/raw/
endpoint_url: http://127.0.0.1:9000
region: eu-west-1
tags:
  owner: data-team
  tier: 2
credentials:
  access_key_id: AKIAXXXXXXXX
  secret_access_key: XXXXXXXXXXXXXXXX
"""
LOCAL = """\
name: local_example
type: local
path: shared/data
"""


def _write(folder: Path, text: str, name: str = "datastore.yml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(excinfo: pytest.ExceptionInfo[SpecError]) -> tuple[str | None, str]:
    return excinfo.value.field, str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "cls", "credentials", "credentials_type"),
    [
        (BLOB, AzureBlobDatastore, AccountKeyConfiguration, "account_key"),
        (BLOB_PROTOCOL, AzureBlobDatastore, AccountKeyConfiguration, "account_key"),
        (BLOB_SAS, AzureBlobDatastore, SasTokenConfiguration, "sas_token"),
        (BLOB_CREDLESS, AzureBlobDatastore, type(None), "none"),
        (ADLS_GEN2, AzureDataLakeGen2Datastore, ServicePrincipalConfiguration, "service_principal"),
        (ADLS_GEN2_CREDLESS, AzureDataLakeGen2Datastore, type(None), "none"),
        (S3, S3Datastore, AccessKeyConfiguration, "access_key"),
        (LOCAL, LocalDatastore, type(None), "none"),
    ],
)
def test_examples_load(
    tmp_path: Path, text: str, cls: type, credentials: type, credentials_type: str
) -> None:
    datastore = load_datastore(_write(tmp_path, text))
    assert type(datastore) is cls
    assert type(getattr(datastore, "credentials", None)) is credentials
    assert datastore.credentials_type == credentials_type
    assert datastore.is_default is False


def test_blob_fields_and_defaults(tmp_path: Path) -> None:
    datastore = load_datastore(_write(tmp_path, BLOB))
    assert isinstance(datastore, AzureBlobDatastore)
    assert datastore.name == "blob_example"
    assert datastore.description == "Datastore pointing to a blob container."
    assert (datastore.account_name, datastore.container_name) == ("mytestblobstore", "data-container")
    assert (datastore.endpoint, datastore.protocol) == ("core.windows.net", "https")
    assert datastore.account_url() == "https://mytestblobstore.blob.core.windows.net"
    protocol = load_datastore(_write(tmp_path, BLOB_PROTOCOL))
    assert isinstance(protocol, AzureBlobDatastore)
    assert protocol.protocol == "wasbs"


def test_s3_fields(tmp_path: Path) -> None:
    datastore = load_datastore(_write(tmp_path, S3))
    assert isinstance(datastore, S3Datastore)
    assert (datastore.bucket, datastore.prefix) == ("my-bucket", "team/raw")
    assert (datastore.endpoint_url, datastore.region) == ("http://127.0.0.1:9000", "eu-west-1")
    assert datastore.tags == {"owner": "data-team", "tier": "2"}
    assert datastore.credentials == AccessKeyConfiguration(
        access_key_id="AKIAXXXXXXXX", secret_access_key="XXXXXXXXXXXXXXXX"
    )


def test_adls_service_principal_takes_both_authority_spellings() -> None:
    base = {
        "name": "adls",
        "type": "azure_data_lake_gen2",
        "account_name": "acct",
        "filesystem": "fs1",
    }
    principal = {"tenant_id": "t", "client_id": "c", "client_secret": "s"}
    for key in ("authority_url", "authority_uri"):
        datastore = datastore_from_fields(
            **base, credentials={**principal, key: "https://login.example", "resource_url": "https://r/"}
        )
        assert isinstance(datastore, AzureDataLakeGen2Datastore)
        assert datastore.credentials == ServicePrincipalConfiguration(
            **principal, authority_url="https://login.example", resource_url="https://r/"
        )
    keyed = datastore_from_fields(**base, credentials={"account_key": "k"})
    assert keyed.credentials_type == "account_key"


def test_local_path_is_relative_to_the_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    datastore = load_datastore(_write(tmp_path / "specs", LOCAL))
    assert isinstance(datastore, LocalDatastore)
    assert datastore.path == str(tmp_path / "specs" / "shared" / "data")


def test_server_takes_only_absolute_local_paths(tmp_path: Path) -> None:
    fields = {"name": "local_example", "type": "local", "path": "shared/data"}
    with pytest.raises(SpecError) as excinfo:
        datastore_from_dict(fields)
    assert excinfo.value.field == "path"
    assert "absolute" in str(excinfo.value)
    absolute = datastore_from_dict({**fields, "path": str(tmp_path)})
    assert isinstance(absolute, LocalDatastore)
    assert absolute.path == str(tmp_path)


@pytest.mark.parametrize(
    "schema",
    [
        f"{SCHEMAS}/azureBlob.schema.json",
        "https://azuremlschemas.azureedge.net/1.0.0/azureBlob.schema.json",
        "https://my.mirror.example/schemas/v2/azureBlob.schema.json/",
        "azureBlob.schema.json",
    ],
)
def test_schema_last_segment_matches_under_any_host(tmp_path: Path, schema: str) -> None:
    text = BLOB.replace(f"{SCHEMAS}/azureBlob.schema.json", schema)
    assert isinstance(load_datastore(_write(tmp_path, text)), AzureBlobDatastore)


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        (f"{SCHEMAS}/azureDataLakeGen2.schema.json", "type is azure_blob"),
        (f"{SCHEMAS}/data.schema.json", "not a datastore schema"),
        (f"{SCHEMAS}/azureBlob.schema.json.bak", "not a datastore schema"),
    ],
)
def test_wrong_schema_fails_naming_schema(tmp_path: Path, schema: str, says: str) -> None:
    text = BLOB.replace(f"{SCHEMAS}/azureBlob.schema.json", schema)
    with pytest.raises(SpecError) as excinfo:
        load_datastore(_write(tmp_path, text))
    field, message = _error(excinfo)
    assert field == "$schema"
    assert says in message


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"container": "x"}, "container", "unknown field"),
        ({"account_name": 123}, "account_name", "string"),
        ({"protocol": "ftp"}, "protocol", "https"),
        ({"name": "blob-example"}, "name", "underscores"),
        ({"account_name": "My_Account"}, "account_name", "lowercase"),
        ({"container_name": "bad--name"}, "container_name", "hyphens"),
        ({"endpoint": "https://core.windows.net"}, "endpoint", "protocol"),
        ({"credentials": {"account_key": "k", "sas_token": "t"}}, "credentials", "not both"),
        ({"credentials": {"key": "k"}}, "credentials.key", "unknown field"),
        ({"credentials": {"account_key": ""}}, "credentials.account_key", "at least 1"),
        ({"tags": ["a"]}, "tags", "dictionary"),
    ],
)
def test_bad_blob_fields_name_field_and_schema(change: dict[str, object], field: str, says: str) -> None:
    body = {
        "name": "blob_example",
        "type": "azure_blob",
        "account_name": "mytestblobstore",
        "container_name": "data-container",
        **change,
    }
    with pytest.raises(SpecError) as excinfo:
        datastore_from_fields(**body)
    got, message = _error(excinfo)
    assert got == field
    assert says in message
    assert "azureBlob.schema.json" in message
    assert isinstance(excinfo.value, InvalidInputError)


@pytest.mark.parametrize(
    ("credentials", "field", "says"),
    [
        ({"tenant_id": "t", "client_id": "c"}, "credentials", "missing client_secret"),
        (
            {"tenant_id": "t", "client_id": "c", "client_secret": "s", "account_key": "k"},
            "credentials",
            "not both",
        ),
        ({"tenant_id": "t", "client_id": "c", "thumbprint": "x"}, "credentials.thumbprint", "unknown field"),
    ],
)
def test_bad_adls_credentials(credentials: dict[str, str], field: str, says: str) -> None:
    with pytest.raises(SpecError) as excinfo:
        datastore_from_fields(
            name="adls",
            type="azure_data_lake_gen2",
            account_name="acct",
            filesystem="fs1",
            credentials=credentials,
        )
    got, message = _error(excinfo)
    assert got == field
    assert says in message
    assert "azureDataLakeGen2.schema.json" in message


def test_s3_credentials_need_both_keys() -> None:
    with pytest.raises(SpecError) as excinfo:
        datastore_from_fields(name="s3", type="s3", bucket="bucket1", credentials={"access_key_id": "a"})
    assert excinfo.value.field == "credentials.secret_access_key"
    assert "s3.schema.json" in str(excinfo.value)


@pytest.mark.parametrize(
    ("type_", "says"),
    [(None, "required"), ("azure_file", "azure_blob, azure_data_lake_gen2, s3, local")],
)
def test_type_decides_and_is_checked(type_: str | None, says: str) -> None:
    with pytest.raises(SpecError) as excinfo:
        datastore_from_fields(name="x", type=type_, account_name="acct", file_share_name="share")
    assert excinfo.value.field == "type"
    assert says in str(excinfo.value)


def test_yaml_file_problems_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as missing:
        load_datastore(tmp_path / "absent.yml")
    assert missing.value.field == "file"
    with pytest.raises(SpecError) as listed:
        load_datastore(_write(tmp_path, "- a\n- b\n"))
    assert listed.value.field == "file"


def test_overrides_replace_file_fields(tmp_path: Path) -> None:
    datastore = load_datastore(_write(tmp_path, BLOB), name="renamed", description=None)
    assert datastore.name == "renamed"
    assert datastore.description == "Datastore pointing to a blob container."


@pytest.mark.parametrize(
    ("endpoint", "protocol", "url"),
    [
        ("core.windows.net", "https", "https://acct.blob.core.windows.net"),
        ("core.chinacloudapi.cn", "wasbs", "https://acct.blob.core.chinacloudapi.cn"),
        ("core.windows.net", "http", "http://acct.blob.core.windows.net"),
        ("127.0.0.1:10000", "http", "http://127.0.0.1:10000/acct"),
        ("localhost:10000", "https", "https://localhost:10000/acct"),
    ],
)
def test_account_url(endpoint: str, protocol: str, url: str) -> None:
    spec = parse_datastore(
        {
            "name": "blob",
            "type": "azure_blob",
            "account_name": "acct",
            "container_name": "data",
            "endpoint": endpoint,
            "protocol": protocol,
        }
    )
    assert isinstance(spec, AzureBlobDatastoreSpec)
    assert spec.account_url() == url
    datastore = datastore_from_fields(**spec.model_dump(exclude={"schema_"}))
    assert isinstance(datastore, AzureBlobDatastore)
    assert datastore.account_url() == url


def test_adls_account_url_has_a_dfs_host_too() -> None:
    datastore = datastore_from_fields(
        name="adls", type="azure_data_lake_gen2", account_name="acct", filesystem="fs1", protocol="abfss"
    )
    assert isinstance(datastore, AzureDataLakeGen2Datastore)
    assert datastore.account_url() == "https://acct.blob.core.windows.net"
    assert datastore.account_url("dfs") == "https://acct.dfs.core.windows.net"


@pytest.mark.parametrize("text", [BLOB, BLOB_SAS, BLOB_CREDLESS, ADLS_GEN2, ADLS_GEN2_CREDLESS, S3, LOCAL])
def test_round_trip_through_spec_fields(tmp_path: Path, text: str) -> None:
    datastore = load_datastore(_write(tmp_path, text))
    fields = datastore_to_fields(datastore)
    assert "credentials_type" not in fields
    assert "is_default" not in fields
    assert datastore_from_fields(**fields) == datastore
    assert "credentials" not in datastore_to_fields(datastore, with_credentials=False)


def test_server_entity_without_secrets_round_trips() -> None:
    stored = AzureBlobDatastore(
        name="blob",
        account_name="acct",
        container_name="data",
        credentials_type="account_key",
        is_default=True,
    )
    fields = datastore_to_fields(stored)
    assert fields == {
        "name": "blob",
        "type": "azure_blob",
        "account_name": "acct",
        "container_name": "data",
        "endpoint": "core.windows.net",
        "protocol": "https",
    }


@pytest.mark.azurite
@pytest.mark.parametrize("kind", ["azure_blob", "azure_data_lake_gen2"])
def test_emulator_datastore_reaches_azurite(
    tmp_path: Path, azurite: AzuriteService, azure_container: str, kind: str
) -> None:
    """A datastore YAML pointing at Azurite (host:port endpoint, http) gives a URL the Azure SDK can use."""
    from azure.storage.blob import BlobServiceClient

    endpoint = azurite.blob_endpoint.removeprefix("http://").rsplit("/", 1)[0]
    place = "container_name" if kind == "azure_blob" else "filesystem"
    text = (
        f"name: emulated\ntype: {kind}\naccount_name: {azurite.account_name}\n{place}: {azure_container}\n"
        f"endpoint: {endpoint}\nprotocol: http\ncredentials:\n  account_key: {azurite.account_key}\n"
    )
    datastore = load_datastore(_write(tmp_path, text))
    assert isinstance(datastore, AzureBlobDatastore | AzureDataLakeGen2Datastore)
    assert datastore.account_url() == azurite.blob_endpoint
    assert isinstance(datastore.credentials, AccountKeyConfiguration)
    credential = {"account_name": datastore.account_name, "account_key": datastore.credentials.account_key}
    with BlobServiceClient(account_url=datastore.account_url(), credential=credential) as client:
        container = client.get_container_client(azure_container)
        container.upload_blob("hello.txt", b"hi")
        assert [blob.name for blob in container.list_blobs()] == ["hello.txt"]
