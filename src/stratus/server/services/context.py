from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request, as the choke point established it."""

    user_id: str
    user_name: str
    is_server_admin: bool
    token_id: str | None
    token_workspace_id: str | None
    token_workspace_name: str | None
    client_ip: str | None = None
    token_expires_at: datetime | None = None

    @property
    def is_unscoped_admin(self) -> bool:
        """The server admin with a token valid for the whole server (not scoped to one workspace)."""
        return self.is_server_admin and self.token_workspace_id is None
