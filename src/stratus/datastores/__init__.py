"""Datastores: registered storage locations (Azure Blob, ADLS Gen2, S3, a local folder) opened as
:class:`~stratus.artifacts.ArtifactStore`s, and the URIs that name places in them.

A pure library: the server stores ``config`` and ``credentials`` (in the key vault), checks roles, and
calls in here to open (:func:`open_datastore`), check (:func:`verify_datastore`) and resolve URIs
(:func:`parse_datastore_uri`, :func:`match_cloud_uri`). The built-in ``workspaceblobstore`` is the
workspace's own artifact store, which the server already has open.
"""

from stratus.datastores.config import (
    DATASTORE_TYPES,
    LOCAL_ROOTS_VARIABLE,
    check_local_root,
    normalize_config,
    normalize_credentials,
)
from stratus.datastores.open import check_reachable, open_datastore, verify_datastore
from stratus.datastores.uris import (
    DatastorePath,
    canonical_path,
    cloud_prefixes,
    format_datastore_uri,
    match_cloud_uri,
    parse_datastore_uri,
)

__all__ = [
    "DATASTORE_TYPES",
    "LOCAL_ROOTS_VARIABLE",
    "DatastorePath",
    "canonical_path",
    "check_local_root",
    "check_reachable",
    "cloud_prefixes",
    "format_datastore_uri",
    "match_cloud_uri",
    "normalize_config",
    "normalize_credentials",
    "open_datastore",
    "parse_datastore_uri",
    "verify_datastore",
]
