"""Data assets, environments and datastores in azure-ai-ml's shape, so users' SDK code ports unchanged.

Fields the user sets come first in each class (the Azure ML v2 YAML fields); the server fills the rest.
Datastores read back from the server never carry secret values: ``credentials`` is then ``None`` and
``credentials_type`` says which kind is stored in the workspace's key vault.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from stratus.entities._base import CreationContext, Entity

DataType = Literal["uri_file", "uri_folder", "mltable"]
# ``workspace_blobstore`` is the built-in default datastore only; users cannot create one.
DatastoreType = Literal["azure_blob", "azure_data_lake_gen2", "s3", "local", "workspace_blobstore"]
CredentialsType = Literal["none", "account_key", "sas_token", "service_principal", "access_key"]
# An environment's build state: Registered (not built yet), Building, Succeeded, Failed, or NotBuildable
# (e.g. an image-only environment on a host without Docker).
EnvironmentStatus = Literal["Registered", "Building", "Succeeded", "Failed", "NotBuildable"]


class _Credentials(Entity):
    # Unknown keys are refused so a credentials mapping matches exactly one of the classes below.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AccountKeyConfiguration(_Credentials):
    account_key: str = Field(repr=False)  # secrets stay out of reprs and logs

    @property
    def kind(self) -> CredentialsType:
        return "account_key"


class SasTokenConfiguration(_Credentials):
    sas_token: str = Field(repr=False)

    @property
    def kind(self) -> CredentialsType:
        return "sas_token"


class ServicePrincipalConfiguration(_Credentials):
    tenant_id: str
    client_id: str
    client_secret: str = Field(repr=False)
    authority_url: str | None = None
    resource_url: str | None = None

    @property
    def kind(self) -> CredentialsType:
        return "service_principal"


class AccessKeyConfiguration(_Credentials):
    """S3 access keys (azure-ai-ml's name for them, used by its S3 connections)."""

    access_key_id: str
    secret_access_key: str = Field(repr=False)

    @property
    def kind(self) -> CredentialsType:
        return "access_key"


class NoneCredentialConfiguration(_Credentials):
    """No stored secret: the datastore is reached with the identity of whoever uses it."""

    @property
    def kind(self) -> CredentialsType:
        return "none"


AnyCredentials = (
    AccountKeyConfiguration
    | SasTokenConfiguration
    | ServicePrincipalConfiguration
    | AccessKeyConfiguration
    | NoneCredentialConfiguration
)


def azure_account_url(
    account_name: str, endpoint: str, protocol: str, service: Literal["blob", "dfs"] = "blob"
) -> str:
    """The storage account URL of a datastore.

    An ``endpoint`` with an explicit port (``127.0.0.1:10000``) is an emulator such as Azurite, which
    serves every account path-style: ``http://127.0.0.1:10000/devstoreaccount1``. Otherwise the account
    is a host under the suffix: ``https://<account>.blob.core.windows.net``.
    """
    scheme = "http" if protocol in ("http", "wasb") else "https"
    host, _, port = endpoint.rpartition(":")
    if host and port.isdigit():
        return f"{scheme}://{endpoint}/{account_name}"
    return f"{scheme}://{account_name}.{service}.{endpoint}"


class Datastore(Entity):
    """Fields every datastore has; use one of the typed classes below."""

    name: str
    type: DatastoreType
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    # Server fields.
    id: str | None = None
    is_default: bool = False
    credentials_type: CredentialsType | None = None
    creation_context: CreationContext | None = None

    def model_post_init(self, context: Any, /) -> None:
        credentials = getattr(self, "credentials", None)
        if self.credentials_type is None and credentials is not None:
            self.credentials_type = credentials.kind


class AzureBlobDatastore(Datastore):
    type: Literal["azure_blob"] = "azure_blob"
    account_name: str
    container_name: str
    endpoint: str = "core.windows.net"
    protocol: Literal["https", "http", "wasbs", "wasb"] = "https"
    credentials: AccountKeyConfiguration | SasTokenConfiguration | NoneCredentialConfiguration | None = None

    def account_url(self) -> str:
        return azure_account_url(self.account_name, self.endpoint, self.protocol)


class AzureDataLakeGen2Datastore(Datastore):
    type: Literal["azure_data_lake_gen2"] = "azure_data_lake_gen2"
    account_name: str
    filesystem: str
    endpoint: str = "core.windows.net"
    protocol: Literal["https", "abfss", "http"] = "https"
    # ``AccountKeyConfiguration`` is a Stratus extension (Azure takes a service principal or nothing):
    # emulators such as Azurite only take account keys.
    credentials: (
        ServicePrincipalConfiguration | AccountKeyConfiguration | NoneCredentialConfiguration | None
    ) = None

    def account_url(self, service: Literal["blob", "dfs"] = "blob") -> str:
        """The blob host serves ADLS Gen2 accounts too (adlfs uses it); ``dfs`` for the DFS API."""
        return azure_account_url(self.account_name, self.endpoint, self.protocol, service)


class S3Datastore(Datastore):
    """A Stratus datastore type: an S3 bucket (AWS or any S3-protocol server), optionally under a prefix."""

    type: Literal["s3"] = "s3"
    bucket: str
    prefix: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    credentials: AccessKeyConfiguration | NoneCredentialConfiguration | None = None


class LocalDatastore(Datastore):
    """A Stratus datastore type: a folder on the server's machine (Owner only)."""

    type: Literal["local"] = "local"
    path: str


class WorkspaceBlobDatastore(Datastore):
    """The built-in ``workspaceblobstore``: the workspace's own area of the server's artifact store."""

    type: Literal["workspace_blobstore"] = "workspace_blobstore"


DATASTORE_CLASSES: dict[str, type[Datastore]] = {
    "azure_blob": AzureBlobDatastore,
    "azure_data_lake_gen2": AzureDataLakeGen2Datastore,
    "s3": S3Datastore,
    "local": LocalDatastore,
    "workspace_blobstore": WorkspaceBlobDatastore,
}


def datastore_from_response(body: dict[str, Any]) -> Datastore:
    """The typed datastore an API body describes (its ``type`` picks the class)."""
    cls = DATASTORE_CLASSES.get(str(body.get("type")))
    if cls is None:
        raise ValueError(
            f"unknown datastore type {body.get('type')!r}; expected one of {list(DATASTORE_CLASSES)}"
        )
    return cls.from_response(body)


class Data(Entity):
    """A data asset version (Azure ML ``data`` YAML)."""

    name: str
    version: str | None = None
    path: str | None = None
    type: DataType = "uri_folder"
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    # The datastore local files are uploaded to (default: the workspace's default datastore); the server
    # reports the datastore the data lives on.
    datastore: str | None = None
    # Server fields.
    id: str | None = None
    sha256: str | None = None  # content hash of the files the version points at, when the server read them
    # "content": sha256 over the files' bytes; "listing": over location, names and sizes only (large
    # data not read at registration), so changed bytes with unchanged names and sizes keep the hash.
    hash_kind: str | None = None
    size: int | None = None  # bytes
    file_count: int | None = None
    profile: dict[str, Any] | None = None  # column statistics of tabular data, when computed
    job_name: str | None = None  # the job that produced this version, if any
    is_archived: bool = False
    creation_context: CreationContext | None = None


class BuildContext(Entity):
    """A Docker build context: ``path`` holds the ``dockerfile_path`` file (relative to ``path``)."""

    path: str
    dockerfile_path: str = "Dockerfile"


class Environment(Entity):
    """An environment version (Azure ML ``environment`` YAML).

    One of three forms: ``image`` (optionally with ``conda_file``), ``build``, or Stratus's native
    ``python`` + ``pip`` form that the server builds with uv. ``conda_file`` is the conda mapping; a
    ``str`` is a path the SDK has not read yet (it reads it relative to the current folder).
    """

    name: str
    version: str | None = None
    image: str | None = None
    conda_file: dict[str, Any] | str | None = None
    build: BuildContext | None = None
    python: str | None = None  # Stratus extension: the Python version, e.g. "3.11"
    pip: list[str] = Field(default_factory=list)  # Stratus extension: requirement lines
    os_type: Literal["linux", "windows"] = "linux"
    inference_config: dict[str, Any] | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    # Server fields.
    id: str | None = None
    status: EnvironmentStatus | None = None
    spec_hash: str | None = None
    python_version: str | None = None  # the interpreter the build resolved to
    lock_available: bool = False
    build_error: str | None = None  # why the last build here failed (status Failed)
    is_archived: bool = False
    creation_context: CreationContext | None = None
