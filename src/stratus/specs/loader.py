"""Reading an Azure ML YAML spec into a pydantic model, with errors that name the field and the schema."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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


def read_spec_file(
    path: Path,
    what: str,
    overrides: dict[str, Any] | None = None,
    params_override: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A YAML file's mapping with ``params_override`` (azure-ai-ml's: ``[{"tags.team": "a"}, ...]``, the
    CLI's ``--set``) and then the non-None ``overrides`` applied, before any validation; errors name the
    file (``what`` says which fields the mapping should hold)."""
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
    for item in params_override or ():
        for key, value in item.items():
            set_path(data, key, value, str(path))
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return data


_PATH = re.compile(r"[^.\[\]]+(\[\d+\])*(\.[^.\[\]]+(\[\d+\])*)*")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def set_path(data: dict[str, Any], key: str, value: Any, origin: str) -> None:
    """``data[key] = value`` for a dotted path with list indexes (``jobs.train.inputs[0].path``), as az's
    ``--set`` does: missing mappings on the way are made; a list index must exist."""
    if not _PATH.fullmatch(key):
        raise SpecError(f"--set {key!r}: use a dotted path such as tags.team or items[0].name", field=key)
    steps: list[str | int] = [name if name else int(index) for name, index in _STEP.findall(key)]
    node: Any = data
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        where = _path_text(steps[:position]) or "the file"
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                raise SpecError(f"{origin}: --set {key!r}: {where} has no item [{step}]", field=key)
        elif not isinstance(node, dict):
            raise SpecError(f"{origin}: --set {key!r}: {where} is not a mapping", field=key)
        if last:
            node[step] = value
        elif isinstance(step, str) and step not in node:
            if isinstance(steps[position + 1], int):
                missing = _path_text(steps[: position + 1])
                raise SpecError(f"{origin}: --set {key!r}: {missing} is not a list", field=key)
            node = node.setdefault(step, {})
        else:
            node = node[step]


def _path_text(steps: Sequence[str | int]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else (f".{s}" if i else s) for i, s in enumerate(steps))


def load_spec(
    cls: type[S],
    source: str | Path,
    overrides: dict[str, Any] | None = None,
    params_override: Sequence[Mapping[str, Any]] | None = None,
) -> S:
    path = Path(source)
    return parse_spec(cls, read_spec_file(path, cls.SCHEMA_FILE, overrides, params_override), str(path))


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
