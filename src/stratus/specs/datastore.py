"""The Azure ML datastore YAMLs (azureBlob.schema.json, azureDataLakeGen2.schema.json) and Stratus's own
``s3`` and ``local`` datastores (s3.schema.json, local.schema.json).

One command takes every datastore file: ``type`` picks the schema, and a ``$schema`` naming another
datastore type's file is an error. Also home of the field types the data and environment specs share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from stratus.entities.assets import (
    AccessKeyConfiguration,
    AccountKeyConfiguration,
    AzureBlobDatastore,
    AzureDataLakeGen2Datastore,
    Datastore,
    LocalDatastore,
    S3Datastore,
    SasTokenConfiguration,
    ServicePrincipalConfiguration,
    azure_account_url,
)
from stratus.specs.loader import Spec, SpecError, parse_spec, read_spec_file

# --- Field types shared by the datastore, data and environment specs -------------------------------


def field_error(origin: str, field: str, message: str, schema_file: str) -> SpecError:
    """A SpecError worded like ``parse_spec``'s, for rules checked after the schema."""
    return SpecError(f"{origin}: field {field!r}: {message} ({schema_file})", field=field)


def _string_values(value: Any) -> Any:
    # YAML reads ``tag: 1`` as a number; Azure ML keeps tags and properties as strings.
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return value


StringMap = Annotated[dict[str, str], BeforeValidator(_string_values)]


@dataclass(frozen=True)
class Matches:
    """A string matching ``pattern``: errors say ``rule`` in words, the JSON schema shows the pattern."""

    pattern: str
    rule: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        compiled = re.compile(self.pattern)

        def check(value: str) -> str:
            if not compiled.fullmatch(value):
                raise PydanticCustomError(
                    "pattern", "{value} is not valid: {rule}", {"value": repr(value), "rule": self.rule}
                )
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


# Azure: "case insensitive, can only contain alphanumeric characters and underscore" (up to 255).
DatastoreName = Annotated[
    str,
    Matches(
        r"^[A-Za-z0-9][A-Za-z0-9_]{0,254}$",
        "use letters, digits and underscores (up to 255, starting with a letter or digit)",
    ),
]
_AccountName = Annotated[
    str, Matches(r"^[a-z0-9]{3,24}$", "a storage account name is 3-24 lowercase letters and digits")
]
_ContainerName = Annotated[
    str,
    Matches(
        r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$",
        "3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
    ),
]
_BucketName = Annotated[
    str,
    Matches(
        r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "an S3 bucket name is 3-63 lowercase letters, digits, dots and hyphens",
    ),
]
_Endpoint = Annotated[
    str,
    Matches(
        r"^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$",
        "endpoint is the storage host suffix (core.windows.net), or host:port for an emulator such as "
        "Azurite (127.0.0.1:10000); the scheme goes in protocol",
    ),
]


class StrictModel(BaseModel):
    """A nested spec mapping: unknown keys are errors, as in the top-level specs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- Credentials ------------------------------------------------------------------------------------

_Secret = Annotated[str, Field(min_length=1)]


class BlobCredentialsSpec(StrictModel):
    """``{account_key}`` or ``{sas_token}``; an empty mapping means no credentials."""

    account_key: _Secret | None = None
    sas_token: _Secret | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> BlobCredentialsSpec:
        if self.account_key is not None and self.sas_token is not None:
            raise PydanticCustomError("credentials", "give account_key or sas_token, not both")
        return self


class AdlsCredentialsSpec(StrictModel):
    """A service principal, or (Stratus extension, for emulators such as Azurite) ``{account_key}``."""

    tenant_id: _Secret | None = None
    client_id: _Secret | None = None
    client_secret: _Secret | None = None
    # Azure's docs write authority_url; azure-ai-ml reads authority_uri. Both are taken.
    authority_url: str | None = Field(
        default=None, validation_alias=AliasChoices("authority_url", "authority_uri")
    )
    resource_url: str | None = None
    account_key: _Secret | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> AdlsCredentialsSpec:
        principal = {
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        given = [k for k, v in principal.items() if v is not None]
        given += [k for k in ("authority_url", "resource_url") if getattr(self, k) is not None]
        if self.account_key is not None and given:
            raise PydanticCustomError(
                "credentials",
                "give a service principal or account_key, not both (extra: {extra})",
                {"extra": given},
            )
        missing = [k for k, v in principal.items() if v is None]
        if given and missing:
            raise PydanticCustomError(
                "credentials",
                "a service principal needs tenant_id, client_id and client_secret; missing {missing}",
                {"missing": ", ".join(missing)},
            )
        return self


class S3CredentialsSpec(StrictModel):
    access_key_id: _Secret
    secret_access_key: _Secret


# --- The datastore specs ----------------------------------------------------------------------------


class _DatastoreSpec(Spec):
    name: DatastoreName
    description: str | None = None
    tags: StringMap = Field(default_factory=dict)


class AzureBlobDatastoreSpec(_DatastoreSpec):
    SCHEMA_FILE: ClassVar[str] = "azureBlob.schema.json"

    type: Literal["azure_blob"]
    account_name: _AccountName
    container_name: _ContainerName
    endpoint: _Endpoint = "core.windows.net"
    protocol: Literal["https", "http", "wasbs", "wasb"] = "https"
    credentials: BlobCredentialsSpec | None = None

    def account_url(self) -> str:
        return azure_account_url(self.account_name, self.endpoint, self.protocol)


class AzureDataLakeGen2DatastoreSpec(_DatastoreSpec):
    SCHEMA_FILE: ClassVar[str] = "azureDataLakeGen2.schema.json"

    type: Literal["azure_data_lake_gen2"]
    account_name: _AccountName
    filesystem: _ContainerName
    endpoint: _Endpoint = "core.windows.net"
    protocol: Literal["https", "abfss", "http"] = "https"
    credentials: AdlsCredentialsSpec | None = None

    def account_url(self, service: Literal["blob", "dfs"] = "blob") -> str:
        return azure_account_url(self.account_name, self.endpoint, self.protocol, service)


def _no_slashes_at_ends(value: Any) -> Any:
    return (value.strip("/") or None) if isinstance(value, str) else value


class S3DatastoreSpec(_DatastoreSpec):
    """Stratus extension: an S3 bucket on AWS or any S3-protocol server (``endpoint_url``)."""

    SCHEMA_FILE: ClassVar[str] = "s3.schema.json"

    type: Literal["s3"]
    bucket: _BucketName
    prefix: Annotated[str | None, BeforeValidator(_no_slashes_at_ends)] = None
    endpoint_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/.*)?$")] | None = None
    region: str | None = None
    credentials: S3CredentialsSpec | None = None


class LocalDatastoreSpec(_DatastoreSpec):
    """Stratus extension: a folder on the server's machine; a relative path is relative to the YAML."""

    SCHEMA_FILE: ClassVar[str] = "local.schema.json"

    type: Literal["local"]
    path: str = Field(min_length=1)


DatastoreSpec = AzureBlobDatastoreSpec | AzureDataLakeGen2DatastoreSpec | S3DatastoreSpec | LocalDatastoreSpec
DATASTORE_SPECS: dict[str, type[DatastoreSpec]] = {
    "azure_blob": AzureBlobDatastoreSpec,
    "azure_data_lake_gen2": AzureDataLakeGen2DatastoreSpec,
    "s3": S3DatastoreSpec,
    "local": LocalDatastoreSpec,
}
DATASTORE_SCHEMA_FILES = {cls.SCHEMA_FILE: kind for kind, cls in DATASTORE_SPECS.items()}


# --- Loading ----------------------------------------------------------------------------------------


def load_datastore(
    source: str | Path, *, params_override: Sequence[Mapping[str, Any]] | None = None, **overrides: Any
) -> Datastore:
    """A datastore YAML of any type as its entity; a ``local`` datastore's relative ``path`` is made
    absolute against the YAML's folder."""
    path = Path(source)
    data = read_spec_file(path, "datastore", overrides, params_override)
    return datastore_from_dict(data, base=path.resolve().parent, origin=str(path))


def datastore_from_fields(**fields: Any) -> Datastore:
    """A datastore from flags or SDK arguments; a relative ``local`` path is taken from the current folder."""
    return datastore_from_dict(fields, base=Path.cwd())


def datastore_from_dict(
    body: Mapping[str, Any], *, base: Path | None = None, origin: str = "datastore"
) -> Datastore:
    """Validate datastore fields (e.g. a request's JSON) into the entity; ``None`` values count as absent.

    With ``base=None`` (the server) a ``local`` datastore's path must be absolute.
    """
    spec = parse_datastore(body, origin)
    return _entity(spec, base, origin)


def parse_datastore(body: Mapping[str, Any], origin: str = "datastore") -> DatastoreSpec:
    """The spec class ``type`` names, validated; ``$schema`` may name any datastore file of that type."""
    data = {k: v for k, v in body.items() if v is not None}
    kind = data.get("type")
    allowed = ", ".join(DATASTORE_SPECS)
    if kind is None:
        raise SpecError(f"{origin}: field 'type': required; one of {allowed}", field="type")
    cls = DATASTORE_SPECS.get(str(kind))
    if cls is None:
        raise SpecError(
            f"{origin}: field 'type': {kind!r} is not a datastore type Stratus has; use one of {allowed}",
            field="type",
        )
    schema = data.get("$schema")
    if schema is not None:
        named = str(schema).rstrip("/").rsplit("/", 1)[-1]
        if named not in DATASTORE_SCHEMA_FILES:
            raise SpecError(
                f"{origin}: $schema {schema!r} is not a datastore schema "
                f"({', '.join(DATASTORE_SCHEMA_FILES)}); this command takes those",
                field="$schema",
            )
        if named != cls.SCHEMA_FILE:
            raise SpecError(
                f"{origin}: $schema names {named} but type is {kind} ({cls.SCHEMA_FILE}); make them agree",
                field="$schema",
            )
    return parse_spec(cls, data, origin)


def _entity(spec: DatastoreSpec, base: Path | None, origin: str) -> Datastore:
    common: dict[str, Any] = {"name": spec.name, "description": spec.description, "tags": spec.tags}
    if isinstance(spec, AzureBlobDatastoreSpec):
        blob_credentials: AccountKeyConfiguration | SasTokenConfiguration | None = None
        if spec.credentials and spec.credentials.account_key:
            blob_credentials = AccountKeyConfiguration(account_key=spec.credentials.account_key)
        elif spec.credentials and spec.credentials.sas_token:
            blob_credentials = SasTokenConfiguration(sas_token=spec.credentials.sas_token)
        return AzureBlobDatastore(
            **common,
            account_name=spec.account_name,
            container_name=spec.container_name,
            endpoint=spec.endpoint,
            protocol=spec.protocol,
            credentials=blob_credentials,
            credentials_type=blob_credentials.kind if blob_credentials else "none",
        )
    if isinstance(spec, AzureDataLakeGen2DatastoreSpec):
        adls_credentials: ServicePrincipalConfiguration | AccountKeyConfiguration | None = None
        given = spec.credentials
        if given and given.account_key:
            adls_credentials = AccountKeyConfiguration(account_key=given.account_key)
        elif given and given.tenant_id and given.client_id and given.client_secret:
            adls_credentials = ServicePrincipalConfiguration(
                tenant_id=given.tenant_id,
                client_id=given.client_id,
                client_secret=given.client_secret,
                authority_url=given.authority_url,
                resource_url=given.resource_url,
            )
        return AzureDataLakeGen2Datastore(
            **common,
            account_name=spec.account_name,
            filesystem=spec.filesystem,
            endpoint=spec.endpoint,
            protocol=spec.protocol,
            credentials=adls_credentials,
            credentials_type=adls_credentials.kind if adls_credentials else "none",
        )
    if isinstance(spec, S3DatastoreSpec):
        s3_credentials = (
            AccessKeyConfiguration(
                access_key_id=spec.credentials.access_key_id,
                secret_access_key=spec.credentials.secret_access_key,
            )
            if spec.credentials
            else None
        )
        return S3Datastore(
            **common,
            bucket=spec.bucket,
            prefix=spec.prefix,
            endpoint_url=spec.endpoint_url,
            region=spec.region,
            credentials=s3_credentials,
            credentials_type=s3_credentials.kind if s3_credentials else "none",
        )
    return LocalDatastore(
        **common, path=_local_datastore_path(spec.path, base, origin), credentials_type="none"
    )


def _local_datastore_path(value: str, base: Path | None, origin: str) -> str:
    path = Path(
        value.removeprefix("file://") if value.startswith("file:///") else value.removeprefix("file:")
    )
    if base is not None:
        path = path.expanduser()
        path = path if path.is_absolute() else base / path
    elif not path.is_absolute():
        raise field_error(
            origin,
            "path",
            f"{value!r} must be an absolute path on the server",
            LocalDatastoreSpec.SCHEMA_FILE,
        )
    return str(path)


def datastore_to_fields(datastore: Datastore, *, with_credentials: bool = True) -> dict[str, Any]:
    """The entity's spec fields (what a datastore YAML holds), without server fields; the reverse of
    ``datastore_from_fields``. Credentials appear only when the entity holds them (never from the server)."""
    fields = datastore.model_dump(
        mode="json",
        exclude_none=True,
        exclude={"id", "is_default", "credentials_type", "creation_context", "credentials"},
    )
    fields = {k: v for k, v in fields.items() if k in _spec_fields(datastore.type)}
    if not fields.get("tags"):
        fields.pop("tags", None)
    credentials = getattr(datastore, "credentials", None)
    if with_credentials and credentials is not None and credentials.kind != "none":
        fields["credentials"] = credentials.model_dump(mode="json", exclude_none=True)
    return fields


def _spec_fields(kind: str) -> set[str]:
    cls = DATASTORE_SPECS[kind]
    return set(cls.model_fields) - {"schema_", "credentials"}
