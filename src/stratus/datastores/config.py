"""Datastore configuration and credentials: the checked, normalised form every other module uses.

The server keeps ``config`` in a row and ``credentials`` in the key vault; both come back here as plain
mappings, are checked again (a stored row may predate a rule) and normalised: defaults filled in,
``None`` values dropped, hosts lowercased. Errors are :class:`InvalidInputError` naming the field
(``account_name``, ``credentials.account_key``...) and never quote a secret.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import urlsplit

from stratus.artifacts.errors import UnsafePathError
from stratus.artifacts.paths import canonicalize
from stratus.entities.assets import azure_account_url
from stratus.errors import InvalidInputError

__all__ = [
    "AZURE_TYPES",
    "DATASTORE_TYPES",
    "DEFAULT_AZURE_ENDPOINT",
    "LOCAL_ROOTS_VARIABLE",
    "account_url",
    "check_local_root",
    "check_type",
    "container_field",
    "is_emulator",
    "normalize_config",
    "normalize_credentials",
]

DATASTORE_TYPES: Final = ("azure_blob", "azure_data_lake_gen2", "s3", "local")
AZURE_TYPES: Final = ("azure_blob", "azure_data_lake_gen2")
DEFAULT_AZURE_ENDPOINT: Final = "core.windows.net"
LOCAL_ROOTS_VARIABLE: Final = "STRATUS_LOCAL_DATASTORE_ROOTS"

# The same rules as the datastore specs (stratus.specs.datastore), so a stored row is judged alike.
_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ENDPOINT = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::(?P<port>[0-9]{{1,5}}))?")
_ENDPOINT_URL = re.compile(r"https?://[^\s/?#@]+(?:/[^\s?#]*)?", re.IGNORECASE)
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

_PROTOCOLS: Final = {
    "azure_blob": ("https", "http", "wasbs", "wasb"),
    "azure_data_lake_gen2": ("https", "abfss", "http"),
}
_CONFIG_KEYS: Final = {
    "azure_blob": ("account_name", "container_name", "endpoint", "protocol"),
    "azure_data_lake_gen2": ("account_name", "filesystem", "endpoint", "protocol"),
    "s3": ("bucket", "prefix", "endpoint_url", "region"),
    "local": ("path",),
}
# Each type's credential shapes (required keys, optional keys); "no credentials" is always allowed.
_SERVICE_PRINCIPAL = (("tenant_id", "client_id", "client_secret"), ("authority_url", "resource_url"))
_CREDENTIAL_SHAPES: Final[dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]] = {
    "azure_blob": ((("account_key",), ()), (("sas_token",), ())),
    "azure_data_lake_gen2": (_SERVICE_PRINCIPAL, (("account_key",), ())),
    "s3": ((("access_key_id", "secret_access_key"), ()),),
    "local": (),
}


def check_type(kind: object) -> str:
    """``kind`` if it is a datastore type Stratus can open, else InvalidInputError on ``type``."""
    if kind not in DATASTORE_TYPES:
        raise InvalidInputError(
            f"datastore type {kind!r} is not one Stratus can open; use one of {', '.join(DATASTORE_TYPES)}",
            field="type",
        )
    return str(kind)


def container_field(kind: str) -> str:
    """The config field that names the container (Azure), file system (ADLS Gen2) or bucket (S3)."""
    return {"azure_blob": "container_name", "azure_data_lake_gen2": "filesystem", "s3": "bucket"}.get(
        kind, "path"
    )


def normalize_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The checked config of a datastore of type ``kind`` with defaults filled in and ``None``s dropped.

    Unknown keys are refused (a misspelt ``acount_name`` should fail, not be ignored).
    """
    kind = check_type(kind)
    if not isinstance(config, Mapping):
        raise InvalidInputError("datastore config must be a mapping of fields", field="config")
    given = {str(k): v for k, v in config.items() if v is not None}
    allowed = _CONFIG_KEYS[kind]
    for key in given:
        if key not in allowed:
            raise InvalidInputError(
                f"{key!r} is not a field of {kind} datastores (they take {', '.join(allowed)})", field=key
            )
    if kind in AZURE_TYPES:
        return _azure_config(kind, given)
    if kind == "s3":
        return _s3_config(given)
    return {"path": _local_path(given.get("path"))}


def normalize_credentials(kind: str, credentials: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The checked credentials, or None for "no stored secret" (None, ``{}`` or only ``None`` values).

    One shape per type: azure_blob ``{account_key}`` or ``{sas_token}``; azure_data_lake_gen2 a service
    principal ``{tenant_id, client_id, client_secret}`` (optionally ``authority_url``, ``resource_url``)
    or ``{account_key}``; s3 ``{access_key_id, secret_access_key}``; local none at all.
    """
    kind = check_type(kind)
    if credentials is None:
        return None
    if not isinstance(credentials, Mapping):
        raise InvalidInputError("datastore credentials must be a mapping of fields", field="credentials")
    given = {str(k): v for k, v in credentials.items() if v is not None}
    if not given:
        return None
    for key, value in given.items():
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(
                f"credentials.{key} must be a non-empty string", field=f"credentials.{key}"
            )
        if any(c in value for c in ";\r\n\0"):
            # Secrets go into connection strings and headers, where these characters split fields.
            raise InvalidInputError(
                f"credentials.{key} contains ';', a line break or NUL; no valid secret does",
                field=f"credentials.{key}",
            )
    shapes = _CREDENTIAL_SHAPES[kind]
    if not shapes:
        raise InvalidInputError(f"{kind} datastores take no credentials", field="credentials")
    for required, optional in shapes:
        if set(required) <= given.keys() and given.keys() <= {*required, *optional}:
            return _checked_secret_values({k: given[k].strip() for k in given})
    described = " or ".join("{" + ", ".join(required) + "}" for required, _ in shapes)
    known = {k for required, optional in shapes for k in (*required, *optional)}
    unknown = sorted(given.keys() - known)
    if unknown:
        raise InvalidInputError(
            f"credentials.{unknown[0]} is not a credential of {kind} datastores; give {described}",
            field=f"credentials.{unknown[0]}",
        )
    raise InvalidInputError(
        f"{kind} credentials must be exactly one of {described} (got {', '.join(sorted(given))})",
        field="credentials",
    )


def is_emulator(config: Mapping[str, Any]) -> bool:
    """An Azure endpoint with an explicit port (Azurite's ``127.0.0.1:10000``) is path-style."""
    match = _ENDPOINT.fullmatch(str(config.get("endpoint", DEFAULT_AZURE_ENDPOINT)))
    return bool(match and match.group("port"))


def account_url(config: Mapping[str, Any], service: str = "blob") -> str:
    """The storage account URL of a normalised Azure config (see :func:`azure_account_url`)."""
    return azure_account_url(
        config["account_name"],
        config["endpoint"],
        config["protocol"],
        "dfs" if service == "dfs" else "blob",
    )


def check_local_root(
    path: str | os.PathLike[str], allowed_roots: Sequence[Path], forbidden: Sequence[Path] = ()
) -> Path:
    """The real path of a local datastore folder, refused unless it lies under an allowed root.

    Symlinks are resolved first (in ``path`` and in the roots), so a link inside an allowed root that
    leads elsewhere is judged by where it leads. ``forbidden`` folders (the server's home, which holds
    the master key and the database) are refused both ways: a datastore inside one, and a datastore
    that contains one, since it would expose it. With no allowed roots, local datastores are off.
    """
    text = _local_path(os.fspath(path))
    roots = [Path(os.path.realpath(root)) for root in allowed_roots]
    if not roots:
        raise InvalidInputError(
            f"local datastores are disabled on this server; an administrator enables them by setting "
            f"{LOCAL_ROOTS_VARIABLE} to the folders they may use (separated by {os.pathsep!r})",
            field="path",
        )
    real = Path(os.path.realpath(text))
    if not any(_within(real, root) for root in roots):
        shown = ", ".join(str(root) for root in roots)
        raise InvalidInputError(
            f"local datastore path {text!r} (resolved to {str(real)!r}) is outside the folders this server "
            f"allows ({shown}); use a folder under one of them, or ask an administrator to add it to "
            f"{LOCAL_ROOTS_VARIABLE}",
            field="path",
        )
    for folder in forbidden:
        blocked = Path(os.path.realpath(folder))
        if _within(real, blocked) or _within(blocked, real):
            raise InvalidInputError(
                f"local datastore path {text!r} (resolved to {str(real)!r}) overlaps the server's own "
                f"folder {str(blocked)!r}, which no datastore may expose; choose another folder under "
                f"{LOCAL_ROOTS_VARIABLE}",
                field="path",
            )
    return real


# -- per type ---------------------------------------------------------------------------------------


def _azure_config(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    place = container_field(kind)
    account = _required_string(given, "account_name")
    if not _ACCOUNT.fullmatch(account):
        raise InvalidInputError(
            f"account_name {account!r} is not a storage account name (3-24 lowercase letters and digits)",
            field="account_name",
        )
    container = _required_string(given, place)
    if not _CONTAINER.fullmatch(container):
        raise InvalidInputError(
            f"{place} {container!r} is not valid: 3-63 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit",
            field=place,
        )
    endpoint = _string(given, "endpoint", DEFAULT_AZURE_ENDPOINT).lower()
    match = _ENDPOINT.fullmatch(endpoint)
    if not match or (match.group("port") and not 0 < int(match.group("port")) < 65536):
        raise InvalidInputError(
            f"endpoint {endpoint!r} is not valid: give the storage host suffix (core.windows.net), or "
            "host:port for an emulator such as Azurite (127.0.0.1:10000); the scheme goes in protocol",
            field="endpoint",
        )
    _check_host(endpoint.rsplit(":", 1)[0] if match.group("port") else endpoint, "endpoint")
    protocol = _string(given, "protocol", "https").lower()
    if protocol not in _PROTOCOLS[kind]:
        raise InvalidInputError(
            f"protocol {protocol!r} is not one {kind} datastores use; use one of "
            f"{', '.join(_PROTOCOLS[kind])}",
            field="protocol",
        )
    return {"account_name": account, place: container, "endpoint": endpoint, "protocol": protocol}


def _s3_config(given: dict[str, Any]) -> dict[str, Any]:
    bucket = _required_string(given, "bucket")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise InvalidInputError(
            f"bucket {bucket!r} is not an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)",
            field="bucket",
        )
    result: dict[str, Any] = {"bucket": bucket}
    prefix = _string(given, "prefix", "").strip("/")  # as the spec: "/team/a/" is the prefix team/a
    try:
        prefix = canonicalize(prefix)
    except UnsafePathError as exc:
        raise InvalidInputError(
            f"prefix {prefix!r} is not a safe key prefix: {exc.reason}", field="prefix"
        ) from None
    if prefix:
        result["prefix"] = prefix
    if "endpoint_url" in given:
        url = _string(given, "endpoint_url", "")
        if not _ENDPOINT_URL.fullmatch(url):
            raise InvalidInputError(
                f"endpoint_url {url!r} must be an http(s) URL of an S3 server (e.g. http://127.0.0.1:9000), "
                "without credentials, query or fragment",
                field="endpoint_url",
            )
        _check_host(urlsplit(url).hostname or "", "endpoint_url")
        result["endpoint_url"] = url.rstrip("/")
    if "region" in given:
        region = _string(given, "region", "").lower()
        if not _REGION.fullmatch(region):
            raise InvalidInputError(
                f"region {region!r} is not an AWS region name (e.g. us-east-1)", field="region"
            )
        result["region"] = region
    return result


# Cloud instance-metadata services: a datastore pointing there would let a datastore creator probe the
# server's own cloud credentials through create-time errors.
_METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
)


def _check_host(host: str, field: str) -> None:
    name = host.strip("[]").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if name in _METADATA_HOSTS or (address is not None and address.is_link_local):
        raise InvalidInputError(
            f"{field} {host!r} is a link-local or cloud metadata address, which datastores may not use",
            field=field,
        )


def _local_path(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError("local datastores need path, an absolute folder on the server", field="path")
    if "\0" in value or not PurePosixPath(value).is_absolute():
        raise InvalidInputError(f"path {value!r} must be an absolute folder on the server", field="path")
    if ".." in PurePosixPath(value).parts:
        # Lexical and symlink-aware resolution disagree about "..", so no path may use it.
        raise InvalidInputError(f"path {value!r} must not contain '..' segments", field="path")
    return os.path.normpath(value)


def _checked_secret_values(credentials: dict[str, str]) -> dict[str, str]:
    key = credentials.get("account_key")
    if key is not None:
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError(
                "credentials.account_key is not base64; copy the storage account's access key whole",
                field="credentials.account_key",
            ) from None
    if "sas_token" in credentials:
        credentials["sas_token"] = credentials["sas_token"].lstrip("?")
    return credentials


def _required_string(given: Mapping[str, Any], key: str) -> str:
    value = given.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{key} is required", field=key)
    return value


def _string(given: Mapping[str, Any], key: str, default: str) -> str:
    value = given.get(key, default)
    if not isinstance(value, str):
        raise InvalidInputError(f"{key} must be a string", field=key)
    return value


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
