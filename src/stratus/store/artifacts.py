"""The index of artifact objects (size and sha256 of each stored file).

One small ABC per domain (DESIGN.md §3); records are plain frozen dataclasses that services turn into
API entities. Every implementation passes the behavioural tests in ``tests/conformance``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime

from stratus.store.paging import Page


@dataclass(frozen=True)
class ArtifactRecord:
    workspace_id: str
    path: str
    size: int
    sha256: str
    updated_at: datetime


class ArtifactIndexStore(abc.ABC):
    """The recorded size and sha256 of every artifact object, per workspace."""

    @abc.abstractmethod
    def record(self, workspace_id: str, path: str, *, size: int, sha256: str) -> ArtifactRecord:
        """Insert or replace the record of ``path``."""

    @abc.abstractmethod
    def get(self, workspace_id: str, path: str) -> ArtifactRecord | None: ...

    @abc.abstractmethod
    def list(
        self, workspace_id: str, *, prefix: str = "", limit: int = 1000, page_token: str | None = None
    ) -> Page[ArtifactRecord]:
        """Records whose path is ``prefix`` or lies below it (all when ``prefix`` is empty), by path."""

    @abc.abstractmethod
    def delete(self, workspace_id: str, path: str) -> bool: ...

    @abc.abstractmethod
    def delete_tree(self, workspace_id: str, prefix: str) -> int:
        """Remove ``prefix`` and everything below it (everything when empty); returns the count."""
