"""Data, environment and datastore entities: built the azure-ai-ml way, and read back from API bodies."""

from __future__ import annotations

import pytest

from stratus.entities import (
    AccessKeyConfiguration,
    AccountKeyConfiguration,
    AzureBlobDatastore,
    AzureDataLakeGen2Datastore,
    BuildContext,
    Data,
    Environment,
    LocalDatastore,
    NoneCredentialConfiguration,
    S3Datastore,
    SasTokenConfiguration,
    ServicePrincipalConfiguration,
    datastore_from_response,
)
from stratus.entities.assets import azure_account_url


def test_azure_ai_ml_style_construction() -> None:
    blob = AzureBlobDatastore(
        name="blob_example",
        description="Datastore pointing to a blob container.",
        account_name="mytestblobstore",
        container_name="data-container",
        credentials=AccountKeyConfiguration(account_key="secret-key"),
    )
    assert (blob.type, blob.endpoint, blob.protocol) == ("azure_blob", "core.windows.net", "https")
    assert blob.credentials_type == "account_key"
    adls = AzureDataLakeGen2Datastore(
        name="adls_gen2_example",
        account_name="mytestdatalakegen2",
        filesystem="my-gen2-container",
        credentials=ServicePrincipalConfiguration(tenant_id="t", client_id="c", client_secret="s"),
    )
    assert adls.credentials_type == "service_principal"
    assert AzureBlobDatastore(name="b", account_name="a", container_name="c").credentials_type is None
    data = Data(
        name="titanic", path="azureml://datastores/workspaceblobstore/paths/titanic.csv", type="uri_file"
    )
    assert (data.version, data.is_archived, data.tags) == (None, False, {})
    env = Environment(
        name="docker-context-example", build=BuildContext(path="docker-contexts/python-and-pip")
    )
    assert env.build is not None
    assert env.build.dockerfile_path == "Dockerfile"
    assert (env.os_type, env.pip, env.status) == ("linux", [], None)


def test_secrets_stay_out_of_reprs() -> None:
    for credentials in (
        AccountKeyConfiguration(account_key="s3cr3t"),
        SasTokenConfiguration(sas_token="s3cr3t"),
        ServicePrincipalConfiguration(tenant_id="t", client_id="c", client_secret="s3cr3t"),
        AccessKeyConfiguration(access_key_id="AKIA", secret_access_key="s3cr3t"),
    ):
        assert "s3cr3t" not in repr(credentials)
        assert "s3cr3t" not in str(credentials)
    datastore = AzureBlobDatastore(
        name="b", account_name="a", container_name="c", credentials=SasTokenConfiguration(sas_token="s3cr3t")
    )
    assert "s3cr3t" not in repr(datastore)


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"name": "b", "type": "azure_blob", "account_name": "a", "container_name": "c"}, AzureBlobDatastore),
        (
            {"name": "g", "type": "azure_data_lake_gen2", "account_name": "a", "filesystem": "f"},
            AzureDataLakeGen2Datastore,
        ),
        (
            {"name": "s", "type": "s3", "bucket": "bucket1", "endpoint_url": "http://127.0.0.1:9000"},
            S3Datastore,
        ),
        ({"name": "l", "type": "local", "path": "/srv/data"}, LocalDatastore),
    ],
)
def test_datastore_from_response_picks_the_class(body: dict[str, object], cls: type) -> None:
    response = {
        **body,
        "id": f"/workspaces/default/datastores/{body['name']}",
        "is_default": True,
        "credentials_type": "account_key",
        "creation_context": {"created_by": "alice", "created_at": "2025-01-01T00:00:00Z"},
        "future_field": 1,
    }
    datastore = datastore_from_response(response)
    assert type(datastore) is cls
    assert datastore.is_default is True
    assert datastore.credentials_type == "account_key"  # what the vault holds; no secret came back
    assert getattr(datastore, "credentials", None) is None
    assert datastore.creation_context is not None
    assert datastore.creation_context.created_by == "alice"
    assert datastore.as_dict() is response


def test_unknown_datastore_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="azure_file"):
        datastore_from_response({"name": "f", "type": "azure_file"})


def test_credentials_mappings_pick_their_class() -> None:
    blob = AzureBlobDatastore.model_validate(
        {"name": "b", "account_name": "a", "container_name": "c", "credentials": {"sas_token": "t"}}
    )
    assert isinstance(blob.credentials, SasTokenConfiguration)
    none = AzureBlobDatastore.model_validate(
        {"name": "b", "account_name": "a", "container_name": "c", "credentials": {}}
    )
    assert isinstance(none.credentials, NoneCredentialConfiguration)
    assert none.credentials_type == "none"
    keyed = AzureDataLakeGen2Datastore.model_validate(
        {"name": "g", "account_name": "a", "filesystem": "f", "credentials": {"account_key": "k"}}
    )
    assert isinstance(keyed.credentials, AccountKeyConfiguration)
    s3 = S3Datastore.model_validate(
        {"name": "s", "bucket": "b12", "credentials": {"access_key_id": "a", "secret_access_key": "s"}}
    )
    assert s3.credentials_type == "access_key"


@pytest.mark.parametrize(
    ("endpoint", "protocol", "service", "url"),
    [
        ("core.windows.net", "https", "blob", "https://acct.blob.core.windows.net"),
        ("core.windows.net", "abfss", "dfs", "https://acct.dfs.core.windows.net"),
        ("core.windows.net", "wasb", "blob", "http://acct.blob.core.windows.net"),
        ("127.0.0.1:10000", "http", "blob", "http://127.0.0.1:10000/acct"),
        ("127.0.0.1:10000", "http", "dfs", "http://127.0.0.1:10000/acct"),
    ],
)
def test_azure_account_url(endpoint: str, protocol: str, service: str, url: str) -> None:
    assert azure_account_url("acct", endpoint, protocol, service) == url  # type: ignore[arg-type]


def test_data_and_environment_from_response_keep_server_fields() -> None:
    data = Data.from_response(
        {
            "name": "titanic",
            "version": "2",
            "path": "azureml://datastores/workspaceblobstore/paths/LocalUpload/x/titanic.csv",
            "type": "uri_file",
            "sha256": "ab" * 32,
            "size": 61194,
            "profile": {"columns": {"Age": {"mean": 29.7}}},
            "is_archived": False,
            "datastore": "workspaceblobstore",
            "job_name": "run-1",
        }
    )
    assert (data.size, data.datastore, data.job_name) == (61194, "workspaceblobstore", "run-1")
    assert data.profile == {"columns": {"Age": {"mean": 29.7}}}
    env = Environment.from_response(
        {
            "name": "sklearn-env",
            "version": "1",
            "python": "3.11",
            "pip": ["scikit-learn"],
            "status": "Succeeded",
            "spec_hash": "f" * 64,
            "python_version": "3.11.9",
            "lock_available": True,
            "conda_file": {"dependencies": ["python=3.11"]},
        }
    )
    assert (env.status, env.python_version, env.lock_available) == ("Succeeded", "3.11.9", True)
    assert env.conda_file == {"dependencies": ["python=3.11"]}
    with pytest.raises(ValueError, match="status"):
        Environment(name="e", status="Done")  # type: ignore[arg-type]
