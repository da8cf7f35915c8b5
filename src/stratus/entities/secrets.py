"""A key-vault secret as the API shows it: its name and history, never its value."""

from __future__ import annotations

from stratus.entities._base import CreationContext, Entity


class Secret(Entity):
    name: str
    creation_context: CreationContext | None = None
