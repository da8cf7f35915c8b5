from __future__ import annotations

from pydantic import Field

from stratus.entities._base import CreationContext, Entity


class Workspace(Entity):
    """A workspace, the hub of experiments, data, models and endpoints (Azure ML ``workspace`` YAML)."""

    name: str
    display_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    id: str | None = None
    mlflow_tracking_uri: str | None = None
    creation_context: CreationContext | None = None
