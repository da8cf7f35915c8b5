"""Opening a datastore as an :class:`ArtifactStore`, and checking that it can be reached.

A datastore is opened *as* an artifact store (``FsspecArtifactStore`` over adlfs or s3fs, or
``LocalArtifactStore``) rooted at its container, file system, bucket/prefix or folder, so every read,
write and listing goes through the one path canonicaliser.

Only the datastore's own config and credentials are used: unlike the server's artifact store, nothing
is taken from ``AZURE_STORAGE_*`` or ``STRATUS_*`` variables, so a datastore with no credentials is
anonymous rather than silently the server's account: for S3 too (unsigned requests), since the server's
AWS chain (its ``AWS_*`` variables, profile or instance role) may reach buckets, such as the artifact
store's, that a datastore creator must not.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stratus.artifacts.base import ArtifactStore
from stratus.artifacts.fsspec_store import FsspecArtifactStore
from stratus.artifacts.local import LocalArtifactStore
from stratus.datastores.config import (
    AZURE_TYPES,
    DEFAULT_AZURE_ENDPOINT,
    account_url,
    check_local_root,
    check_type,
    container_field,
    is_emulator,
    normalize_config,
    normalize_credentials,
)
from stratus.errors import InvalidInputError

__all__ = ["check_reachable", "open_datastore", "verify_datastore"]

# A create-time check should answer in seconds: one retry, short waits (the SDK defaults wait ~1 min).
_FAST_CONNECT_SECONDS = 5
_FAST_READ_SECONDS = 15


def open_datastore(
    type: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, str] | None,
    *,
    allowed_local_roots: Sequence[Path] | None = None,
    forbidden_local_paths: Sequence[Path] = (),
    fail_fast: bool = False,
) -> ArtifactStore:
    """The datastore as an artifact store rooted at its container, file system, bucket/prefix or folder.

    Opening does not contact the service (see :func:`check_reachable`). A local datastore's folder must
    exist; with ``allowed_local_roots`` it is also checked with :func:`check_local_root` (and opened at
    its real path). ``fail_fast`` retries once at most, with short timeouts (for checks).
    Bad config or credentials, and a missing optional package, raise InvalidInputError naming the field.
    """
    kind = check_type(type)
    cfg = normalize_config(kind, config)
    secrets = normalize_credentials(kind, credentials)
    if kind in AZURE_TYPES:
        return _open_azure(kind, cfg, secrets, fail_fast)
    if kind == "s3":
        return _open_s3(cfg, secrets, fail_fast)
    path = str(cfg["path"])
    if allowed_local_roots is not None:
        path = str(check_local_root(path, allowed_local_roots, forbidden_local_paths))
    if not os.path.isdir(path):
        raise InvalidInputError(
            f"local datastore path {path!r} is not an existing folder on the server; create it first",
            field="path",
        )
    return LocalArtifactStore(path)


def check_reachable(store: ArtifactStore, type: str, config: Mapping[str, Any]) -> None:
    """List the datastore's root once (one entry at most), so wrong credentials, a missing container or
    bucket, or an unreachable endpoint fail now with InvalidInputError naming the field to fix."""
    kind = check_type(type)
    cfg = normalize_config(kind, config)
    fs = store.fs if isinstance(store, FsspecArtifactStore) else None
    try:
        if kind in AZURE_TYPES and hasattr(fs, "service_client"):
            _probe_azure(fs, cfg[container_field(kind)])
        elif kind == "s3" and hasattr(fs, "call_s3"):
            _probe_s3(fs, cfg)
        elif isinstance(store, LocalArtifactStore):
            # Listing a missing folder through the store is empty, not an error: look at the folder itself.
            with os.scandir(store.root_path) as entries:
                next(entries, None)
        else:
            store.list("")
    except InvalidInputError:
        raise
    except Exception as exc:
        raise _unreachable(kind, cfg, exc) from exc


def verify_datastore(
    type: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, str] | None,
    *,
    allowed_local_roots: Sequence[Path] | None = None,
    forbidden_local_paths: Sequence[Path] = (),
) -> None:
    """What the server runs on create: open with ``fail_fast`` and :func:`check_reachable`."""
    store = open_datastore(
        type,
        config,
        credentials,
        allowed_local_roots=allowed_local_roots,
        forbidden_local_paths=forbidden_local_paths,
        fail_fast=True,
    )
    check_reachable(store, type, config)


# -- Azure -----------------------------------------------------------------------------------------


def _open_azure(
    kind: str, cfg: dict[str, Any], secrets: dict[str, str] | None, fail_fast: bool
) -> ArtifactStore:
    try:
        from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
        from azure.storage.blob.aio import ExponentialRetry
    except ImportError as exc:
        raise _missing_package(kind, "adlfs", "azure") from exc
    url = account_url(cfg)
    options: dict[str, Any] = {}
    credential: Any = None
    if secrets and "account_key" in secrets:
        credential = AzureNamedKeyCredential(cfg["account_name"], secrets["account_key"])
    elif secrets and "sas_token" in secrets:
        credential = AzureSasCredential(secrets["sas_token"])
    elif secrets:
        credential = _service_principal(secrets, url)
        if secrets.get("resource_url"):
            options["audience"] = secrets["resource_url"].rstrip("/")
    if fail_fast:
        options["retry_policy"] = ExponentialRetry(
            initial_backoff=1, increment_base=1, retry_total=1, random_jitter_range=0
        )
        options["connection_timeout"] = _FAST_CONNECT_SECONDS
        options["read_timeout"] = _FAST_READ_SECONDS
    fs = _blob_filesystem_class(kind)(
        account_url=url,
        account_name=cfg["account_name"],
        service_credential=credential,
        account_key=secrets.get("account_key") if secrets else None,
        client_options=options,
        skip_instance_cache=True,  # an instance holds secrets: never share or keep it in a global cache
    )
    return FsspecArtifactStore(
        fs, cfg[container_field(kind)], protocol="abfs" if kind != "azure_blob" else "az"
    )


def _service_principal(secrets: dict[str, str], url: str) -> Any:
    if not url.startswith("https://"):
        raise InvalidInputError(
            "service principal credentials need protocol https (Azure sends tokens over https only, and "
            "emulators such as Azurite take an account_key instead)",
            field="protocol",
        )
    try:
        from azure.identity.aio import ClientSecretCredential
    except ImportError as exc:
        raise _missing_package("service principal", "azure-identity", "azure") from exc
    extra = {"authority": secrets["authority_url"]} if secrets.get("authority_url") else {}
    try:
        return ClientSecretCredential(
            secrets["tenant_id"], secrets["client_id"], secrets["client_secret"], **extra
        )
    except ValueError as exc:  # azure-identity checks tenant id and authority shapes up front
        field = (
            "credentials.authority_url"
            if extra and "authority" in str(exc).lower()
            else "credentials.tenant_id"
        )
        raise InvalidInputError(f"{field} is not valid: {exc}", field=field) from None


@functools.cache
def _blob_filesystem_class(kind: str) -> type[Any]:
    """adlfs's file system, connected from explicit settings only (made on first use: adlfs is optional).

    adlfs builds its client from ``account_name`` as ``https://<account>.blob.core.windows.net`` and
    falls back to ``AZURE_STORAGE_*`` variables and ``DefaultAzureCredential``; a datastore needs its own
    account URL (any endpoint, path-style emulators over http), its own credential and nothing from the
    server's environment, so the one method that creates the client is replaced.
    """
    try:
        from adlfs import AzureBlobFileSystem
        from azure.storage.blob.aio import BlobServiceClient
    except ImportError as exc:
        raise _missing_package(kind, "adlfs", "azure") from exc

    class DatastoreBlobFileSystem(AzureBlobFileSystem):  # type: ignore[misc]  # adlfs has no type hints
        def __init__(
            self,
            *,
            account_url: str,
            account_name: str,
            service_credential: Any,
            account_key: str | None,
            client_options: dict[str, Any],
        ) -> None:
            self._datastore_connection = (account_url, service_credential, client_options)
            super().__init__(
                account_name=account_name,
                credential=service_credential,
                anon=True,  # never DefaultAzureCredential: no credentials means anonymous
                assume_container_exists=True,  # never create (or probe) containers on write
                use_listings_cache=False,
            )
            # adlfs read AZURE_STORAGE_* variables into these; they are the server's, not this datastore's.
            self.connection_string = self.sas_token = None
            self.client_id = self.client_secret = self.tenant_id = None
            self.account_key = account_key

        def do_connect(self) -> None:
            url, credential, options = self._datastore_connection
            self.account_url = url
            self.service_client = BlobServiceClient(account_url=url, credential=credential, **options)

    return DatastoreBlobFileSystem


def _probe_azure(fs: Any, container: str) -> None:
    from fsspec.asyn import sync

    async def first_blob() -> None:
        async with fs.service_client.get_container_client(container) as client:
            async for page in client.list_blobs(results_per_page=1).by_page():
                async for _ in page:
                    break
                break

    sync(fs.loop, first_blob)


# -- S3 ----------------------------------------------------------------------------------------------


def _open_s3(cfg: dict[str, Any], secrets: dict[str, str] | None, fail_fast: bool) -> ArtifactStore:
    try:
        from s3fs import S3FileSystem
    except ImportError as exc:
        raise _missing_package("s3", "s3fs", "s3") from exc
    options: dict[str, Any] = {"use_listings_cache": False, "skip_instance_cache": True}
    if secrets:
        options["key"] = secrets["access_key_id"]
        options["secret"] = secrets["secret_access_key"]
    else:
        options["anon"] = True
    if "endpoint_url" in cfg:
        options["endpoint_url"] = cfg["endpoint_url"]
    if "region" in cfg:
        options["client_kwargs"] = {"region_name": cfg["region"]}
    if fail_fast:
        options["config_kwargs"] = {
            "connect_timeout": _FAST_CONNECT_SECONDS,
            "read_timeout": _FAST_READ_SECONDS,
            "retries": {"max_attempts": 1},
        }
    fs = S3FileSystem(**options)
    if fail_fast:
        fs.retries = 1  # s3fs's own retry loop, around botocore's
    root = f"{cfg['bucket']}/{cfg['prefix']}" if cfg.get("prefix") else cfg["bucket"]
    return FsspecArtifactStore(fs, root, protocol="s3")


def _probe_s3(fs: Any, cfg: dict[str, Any]) -> None:
    prefix = f"{cfg['prefix']}/" if cfg.get("prefix") else ""
    fs.call_s3("list_objects_v2", Bucket=cfg["bucket"], Prefix=prefix, MaxKeys=1)


# -- errors ------------------------------------------------------------------------------------------


def _missing_package(what: str, module: str, extra: str) -> InvalidInputError:
    return InvalidInputError(
        f"{what} datastores need the {module!r} package on the server; install it with "
        f"pip install 'stratus-ml[{extra}]'",
        field="type",
    )


def _unreachable(kind: str, cfg: dict[str, Any], exc: Exception) -> InvalidInputError:
    if kind in AZURE_TYPES:
        return _azure_unreachable(kind, cfg, exc)
    if kind == "s3":
        return _s3_unreachable(cfg, exc)
    return InvalidInputError(
        f"cannot list local datastore folder {cfg['path']!r}: {_reason(exc)}; the server's user must be "
        "able to read it",
        field="path",
    )


def _azure_unreachable(kind: str, cfg: dict[str, Any], exc: Exception) -> InvalidInputError:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

    place = container_field(kind)
    noun = "container" if place == "container_name" else "file system"
    where = f"{noun} {cfg[place]!r} of storage account {cfg['account_name']!r} ({account_url(cfg)})"
    if isinstance(exc, ResourceNotFoundError | FileNotFoundError):
        return InvalidInputError(f"{where} does not exist; create it, or fix {place}", field=place)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
        return InvalidInputError(
            f"{where} refused the datastore's credentials ({_reason(exc)}); check credentials (with none, "
            "the container must allow anonymous access)",
            field="credentials",
        )
    if isinstance(exc, HttpResponseError) and status is not None:
        return InvalidInputError(
            f"{where} answered HTTP {status} ({_reason(exc)}); check endpoint and protocol", field="endpoint"
        )
    custom = is_emulator(cfg) or cfg["endpoint"] != DEFAULT_AZURE_ENDPOINT
    field = "endpoint" if custom else "account_name"
    return InvalidInputError(f"could not reach {where}: {_reason(exc)}; check {field}", field=field)


def _s3_unreachable(cfg: dict[str, Any], exc: Exception) -> InvalidInputError:
    where = f"bucket {cfg['bucket']!r}" + (f" at {cfg['endpoint_url']}" if "endpoint_url" in cfg else "")
    if isinstance(exc, FileNotFoundError):
        return InvalidInputError(f"{where} does not exist; create it, or fix bucket", field="bucket")
    if isinstance(exc, PermissionError):
        return InvalidInputError(
            f"{where} refused the datastore's credentials ({_reason(exc)}); check credentials",
            field="credentials",
        )
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
        return InvalidInputError(
            f"the datastore has no credentials and none were found in the server's AWS environment; give "
            f"credentials for {where}",
            field="credentials",
        )
    field = "endpoint_url" if "endpoint_url" in cfg or "region" not in cfg else "region"
    return InvalidInputError(f"could not reach {where}: {_reason(exc)}; check {field}", field=field)


def _reason(exc: BaseException) -> str:
    """The first line of an SDK error, with anything after '?' in URLs (a SAS token) cut off."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"\?\S*", "?…", text)
    return text if len(text) <= 300 else text[:300] + "…"
