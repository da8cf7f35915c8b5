"""Artifact storage: one ABC, one fsspec-based implementation (local paths, Azure Blob, S3), one path
canonicaliser guarding every read, write, list and delete.

Open a store with :func:`open_artifact_store` (``STRATUS_ARTIFACT_URI``), then use ``store.sub(ws)``
per workspace.
"""

from stratus.artifacts.base import STAGING_DIR, ArtifactStore, ListEntry, ObjectInfo, WriteData
from stratus.artifacts.errors import (
    ArtifactTooLargeError,
    MissingExtraError,
    MultipartPartsError,
    StagedPieceMismatchError,
    UnknownSchemeError,
    UnsafePathError,
)
from stratus.artifacts.fsspec_store import FsspecArtifactStore
from stratus.artifacts.local import LocalArtifactStore
from stratus.artifacts.multipart import (
    MultipartState,
    PartInfo,
    composite_digest,
    is_content_sha256,
)
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
    "MultipartPartsError",
    "MultipartState",
    "ObjectInfo",
    "PartInfo",
    "StagedPieceMismatchError",
    "UnknownSchemeError",
    "UnsafePathError",
    "WriteData",
    "canonicalize",
    "composite_digest",
    "is_canonical",
    "is_content_sha256",
    "open_artifact_store",
    "register_backend",
    "registered_schemes",
]
