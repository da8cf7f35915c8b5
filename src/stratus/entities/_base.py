from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr


class Entity(BaseModel):
    """Base of every entity: Azure ML v2 YAML field names, snake_case; unknown response fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    _raw: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def from_response(cls, body: dict[str, Any]) -> Self:
        """Build from an API response, keeping the body as sent (``-o json`` prints it unchanged)."""
        entity = cls.model_validate(body)
        entity._raw = body
        return entity

    def as_dict(self) -> dict[str, Any]:
        """The API body this entity came from, or its JSON form when built locally."""
        return self._raw if self._raw is not None else self.model_dump(mode="json", exclude_none=True)


class CreationContext(Entity):
    created_at: datetime | None = None
    created_by: str | None = None
    last_modified_at: datetime | None = None
    last_modified_by: str | None = None
