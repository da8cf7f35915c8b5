"""Artifact store backends, registered by URI scheme.

Optional backends import their extra (adlfs, s3fs) only when a store of their scheme is opened, so
``import stratus.artifacts`` stays light and a missing extra is reported by name when it matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from stratus.artifacts.base import ArtifactStore
from stratus.artifacts.errors import MissingExtraError, UnknownSchemeError
from stratus.artifacts.fsspec_store import FsspecArtifactStore, env_first
from stratus.artifacts.local import LocalArtifactStore
from stratus.artifacts.paths import canonicalize

__all__ = ["BackendFactory", "open_artifact_store", "register_backend", "registered_schemes"]

BackendFactory = Callable[[str, dict[str, Any]], ArtifactStore]
"""Called with the store URI and a copy of the storage options."""

_BACKENDS: dict[str, BackendFactory] = {}

# Lowercase letters, digits and hyphens for containers; buckets may also have dots.
_CONTAINER = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$")
_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{1,61})[a-z0-9]$")


def register_backend(scheme: str, factory: BackendFactory, *, replace: bool = False) -> None:
    """Register ``factory`` for URIs of ``scheme`` ("" for plain local paths)."""
    scheme = scheme.lower()
    if scheme in _BACKENDS and not replace:
        raise ValueError(f"an artifact store backend is already registered for {scheme!r}")
    _BACKENDS[scheme] = factory


def registered_schemes() -> list[str]:
    return sorted(s for s in _BACKENDS if s)


def open_artifact_store(uri: str, *, storage_options: dict[str, Any] | None = None) -> ArtifactStore:
    """Open the store at ``uri``: a local path or ``file://``, ``az://``/``abfs[s]://`` or ``s3://``."""
    scheme = _scheme(uri)
    factory = _BACKENDS.get(scheme)
    if factory is None:
        raise UnknownSchemeError(uri, scheme, registered_schemes())
    return factory(uri, dict(storage_options or {}))


def _scheme(uri: str) -> str:
    if "://" not in uri and not uri.lower().startswith("file:"):
        return ""  # a plain path, including Windows "C:\\..." (urlsplit would call "c" a scheme)
    scheme = urlsplit(uri).scheme.lower()
    return "" if len(scheme) == 1 else scheme


def _split_remote(uri: str, pattern: re.Pattern[str], what: str) -> tuple[str, str, str | None]:
    """(container or bucket, canonical prefix, host after '@' if any) of a remote URI."""
    parts = urlsplit(uri)
    if parts.query or parts.fragment or "#" in uri or "?" in uri:
        raise ValueError(f"artifact store URI {uri!r} must not have a query or fragment")
    host: str | None = None
    netloc = parts.netloc
    if "@" in netloc:  # abfs://container@account.dfs.core.windows.net/path
        netloc, host = netloc.split("@", 1)
    if not pattern.match(netloc):
        raise ValueError(f"artifact store URI {uri!r} must name a valid {what} (got {netloc!r})")
    prefix = canonicalize(parts.path[1:] if parts.path.startswith("/") else parts.path)
    return netloc, prefix, host


def _root(container: str, prefix: str) -> str:
    return f"{container}/{prefix}" if prefix else container


def _open_local(uri: str, options: dict[str, Any]) -> ArtifactStore:
    if options:
        raise ValueError(f"local artifact stores take no storage options (got {sorted(options)})")
    if _scheme(uri) == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise ValueError(f"file URI {uri!r} must be file:///absolute/path")
        path = parts.path
    else:
        path = uri
    return LocalArtifactStore(path)


def _open_azure(uri: str, options: dict[str, Any]) -> ArtifactStore:
    try:
        from adlfs import AzureBlobFileSystem

        from stratus.artifacts.azure_blocks import AzureBlockMultipart
    except ImportError as exc:
        raise MissingExtraError(_scheme(uri), "azure", "adlfs") from exc
    scheme = _scheme(uri)
    container, prefix, host = _split_remote(uri, _CONTAINER, "container")
    credentials = ("connection_string", "account_name", "account_key", "credential", "sas_token", "anon")
    if not any(options.get(k) for k in credentials):
        connection_string = env_first("AZURE_STORAGE_CONNECTION_STRING")
        if connection_string:
            options["connection_string"] = connection_string
        else:
            name = env_first("AZURE_STORAGE_ACCOUNT_NAME")
            key = env_first("AZURE_STORAGE_ACCOUNT_KEY")
            if name:
                options["account_name"] = name
            if key:
                options["account_key"] = key
    if host and not options.get("account_name") and not options.get("connection_string"):
        options["account_name"] = host.split(".", 1)[0]
    options.setdefault("use_listings_cache", False)  # other processes write too; never list stale
    fs = AzureBlobFileSystem(**options)
    return FsspecArtifactStore(fs, _root(container, prefix), protocol=scheme, multipart=AzureBlockMultipart)


def _open_s3(uri: str, options: dict[str, Any]) -> ArtifactStore:
    try:
        from s3fs import S3FileSystem

        from stratus.artifacts.s3_multipart import S3Multipart
    except ImportError as exc:
        raise MissingExtraError("s3", "s3", "s3fs") from exc
    bucket, prefix, host = _split_remote(uri, _BUCKET, "bucket")
    if host is not None:
        raise ValueError(f"s3 URI {uri!r} must be s3://bucket/prefix")
    client_kwargs = dict(options.pop("client_kwargs", None) or {})
    endpoint = (
        options.pop("endpoint_url", None)
        or client_kwargs.pop("endpoint_url", None)
        or env_first("STRATUS_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    )
    if endpoint:
        options["endpoint_url"] = endpoint
    if client_kwargs:
        options["client_kwargs"] = client_kwargs
    # Access keys, session token and region come from the standard AWS_* variables via botocore.
    options.setdefault("use_listings_cache", False)
    fs = S3FileSystem(**options)
    return FsspecArtifactStore(fs, _root(bucket, prefix), protocol="s3", multipart=S3Multipart)


register_backend("", _open_local)
register_backend("file", _open_local)
for _azure_scheme in ("az", "abfs", "abfss"):
    register_backend(_azure_scheme, _open_azure)
register_backend("s3", _open_s3)
