"""The JSON schemas of the specs, shipped beside this module (``<name>.schema.json``) for editors and for
anyone validating YAML without Stratus. They are generated from the pydantic specs, never edited by hand:
regenerate with ``python -m stratus.specs.schemas`` after changing a spec (a test fails until then)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from stratus.specs.data import DataSpec
from stratus.specs.datastore import DATASTORE_SPECS
from stratus.specs.environment import EnvironmentSpec
from stratus.specs.loader import Spec
from stratus.specs.model import ModelSpec

SPECS: tuple[type[Spec], ...] = (DataSpec, EnvironmentSpec, ModelSpec, *DATASTORE_SPECS.values())
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_document(spec: type[Spec]) -> dict[str, Any]:
    return {"$schema": JSON_SCHEMA_DIALECT, **spec.model_json_schema(by_alias=True)}


def schema_texts() -> dict[str, str]:
    """Each schema file's name and the text the specs generate for it."""
    return {spec.SCHEMA_FILE: json.dumps(schema_document(spec), indent=2) + "\n" for spec in SPECS}


def write_schema_files(folder: Path | None = None) -> list[Path]:
    """Write every schema file (by default into this package) and return their paths."""
    target = folder or Path(__file__).parent
    written = []
    for name, text in schema_texts().items():
        path = target / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def shipped_schema(name: str) -> dict[str, Any]:
    """A shipped schema file, e.g. ``shipped_schema("data.schema.json")``, read from the installed package."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
