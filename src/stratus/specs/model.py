"""The Azure ML ``model`` YAML (model.schema.json)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from stratus.entities import Model
from stratus.specs.loader import Spec, SpecError, load_spec, parse_spec

REMOTE_PREFIXES = ("mlflow-artifacts:", "runs:/", "models:/", "azureml://")


class ModelSpec(Spec):
    SCHEMA_FILE: ClassVar[str] = "model.schema.json"

    name: str = Field(min_length=1, max_length=256)
    version: str | None = None
    type: Literal["mlflow_model", "custom_model"] = "custom_model"
    path: str = Field(min_length=1)
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    stage: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("tags", "properties", mode="before")
    @classmethod
    def _string_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value


def load_model(
    source: str | Path, *, params_override: Sequence[Mapping[str, Any]] | None = None, **overrides: Any
) -> Model:
    """A ``model`` YAML as an entity; a local ``path`` is made absolute against the YAML's folder."""
    spec = load_spec(ModelSpec, source, overrides, params_override)
    return _entity(spec, Path(source).resolve().parent, str(source))


def model_from_fields(**fields: Any) -> Model:
    """A model from flags instead of a file; a local ``path`` is relative to the current folder."""
    spec = parse_spec(ModelSpec, {k: v for k, v in fields.items() if v is not None}, "model")
    return _entity(spec, Path.cwd(), "model")


def _entity(spec: ModelSpec, base: Path, origin: str) -> Model:
    path = spec.path
    if not path.startswith(REMOTE_PREFIXES):
        local = Path(path.removeprefix("file:")).expanduser()
        local = local if local.is_absolute() else base / local
        if not local.exists():
            raise SpecError(f"{origin}: field 'path': {local} does not exist", field="path")
        path = str(local)
    return Model(
        name=spec.name,
        version=spec.version,
        type=spec.type,
        path=path,
        description=spec.description,
        tags=spec.tags,
        properties=spec.properties,
        stage=spec.stage,
    )
