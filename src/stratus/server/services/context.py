from __future__ import annotations

from dataclasses import dataclass


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
