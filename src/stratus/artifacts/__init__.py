"""Artifact storage: one ABC, one fsspec-based implementation (local paths, Azure Blob, S3), one path
canonicaliser guarding every read, write, list and delete.

Open a store with :func:`open_artifact_store` (``STRATUS_ARTIFACT_URI``), then use ``store.sub(ws)``
per workspace.
"""

from stratus.artifacts.base import STAGING_DIR, ArtifactStore, ListEntry, ObjectInfo, WriteData
from stratus.artifacts.errors import (
    ArtifactTooLargeError,
    MissingExtraError,
    StagedPieceMismatchError,
    UnknownSchemeError,
    UnsafePathError,
)
from stratus.artifacts.fsspec_store import FsspecArtifactStore
from stratus.artifacts.local import LocalArtifactStore
from stratus.artifacts.paths import canonicalize, is_canonical
from stratus.artifacts.registry import (
    BackendFactory,
    open_artifact_store,
    register_backend,
    registered_schemes,
)

__all__ = [
    "STAGING_DIR",
    "ArtifactStore",
    "ArtifactTooLargeError",
    "BackendFactory",
    "FsspecArtifactStore",
    "ListEntry",
    "LocalArtifactStore",
    "MissingExtraError",
    "ObjectInfo",
    "StagedPieceMismatchError",
    "UnknownSchemeError",
    "UnsafePathError",
    "WriteData",
    "canonicalize",
    "is_canonical",
    "open_artifact_store",
    "register_backend",
    "registered_schemes",
]
