"""The key vault's rows: sealed secrets and wrapped workspace data keys.

One small ABC per domain (DESIGN.md §3); records are plain frozen dataclasses that services turn into
API entities. Every implementation passes the behavioural tests in ``tests/conformance``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SecretRecord:
    workspace_id: str
    name: str
    # A vault-owned secret (e.g. ``datastore:<name>`` credentials) is hidden from users' lists and
    # never resolved by ``${{secrets.NAME}}``; ``None`` marks a user's secret.
    owner: str | None
    ciphertext: str
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class SecretStore(abc.ABC):
    """Encrypted secret values and each workspace's wrapped data key. The store never sees plaintext."""

    @abc.abstractmethod
    def data_key(self, workspace_id: str) -> str | None: ...

    @abc.abstractmethod
    def put_data_key(self, workspace_id: str, wrapped: str) -> str:
        """Store ``wrapped`` unless the workspace has a key already; return the one kept (first wins)."""

    @abc.abstractmethod
    def put(
        self, workspace_id: str, name: str, ciphertext: str, *, owner: str | None, actor: str | None
    ) -> SecretRecord:
        """Create or replace; ``created_*`` stays from the first write."""

    @abc.abstractmethod
    def get(self, workspace_id: str, name: str) -> SecretRecord | None: ...

    @abc.abstractmethod
    def list(self, workspace_id: str, *, owner: str | None = None) -> list[SecretRecord]:
        """The secrets with this owner (``None``: the users' own)."""

    @abc.abstractmethod
    def delete(self, workspace_id: str, name: str) -> bool: ...
