"""Reading an Azure ML YAML spec into a pydantic model, with errors that name the field and the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stratus.errors import InvalidInputError
from stratus.parsing import InputLimitError, load_yaml

S = TypeVar("S", bound="Spec")


class SpecError(InvalidInputError):
    """A spec that does not load: the message names the file, the field and the schema."""


class Spec(BaseModel):
    """Base of the specs: unknown fields are errors, as Azure ML's schemas make them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_: str | None = Field(default=None, alias="$schema")
    # The last path segment ``$schema`` must end with, whatever host or version folder precedes it.
    SCHEMA_FILE: ClassVar[str] = ""


def read_spec_file(path: Path, what: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A YAML file's mapping with non-None ``overrides`` applied; errors name the file (``what`` says
    which fields the mapping should hold)."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror}", field="file") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path} is not UTF-8 text", field="file") from None
    except (yaml.YAMLError, InputLimitError) as exc:
        raise SpecError(f"{path} is not valid YAML: {exc}", field="file") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path} must hold a YAML mapping of {what} fields", field="file")
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return data


def load_spec(cls: type[S], source: str | Path, overrides: dict[str, Any] | None = None) -> S:
    path = Path(source)
    return parse_spec(cls, read_spec_file(path, cls.SCHEMA_FILE, overrides), str(path))


def parse_spec(cls: type[S], data: dict[str, Any], origin: str) -> S:
    """Validate spec fields (from a file, flags or a request); ``origin`` prefixes the error messages."""
    schema = data.get("$schema")
    if schema is not None and str(schema).rstrip("/").rsplit("/", 1)[-1] != cls.SCHEMA_FILE:
        raise SpecError(
            f"{origin}: $schema {schema!r} is not a {cls.SCHEMA_FILE}; this command takes that schema",
            field="$schema",
        )
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "file"
        message = "unknown field (not in the schema)" if first["type"] == "extra_forbidden" else first["msg"]
        raise SpecError(f"{origin}: field {field!r}: {message} ({cls.SCHEMA_FILE})", field=field) from None
