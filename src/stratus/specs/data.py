"""The Azure ML ``data`` YAML (data.schema.json), and the asset name, version and path rules the
environment spec shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import unquote, urlparse

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from stratus.entities.assets import Data
from stratus.specs.datastore import DatastoreName, Matches, StringMap, field_error
from stratus.specs.loader import Spec, load_spec, parse_spec

# Cloud and workspace URIs are kept as they are; anything else is a local path.
REMOTE_PREFIXES = (
    "azureml://",
    "azureml:",
    "https://",
    "http://",
    "wasbs://",
    "wasb://",
    "abfss://",
    "abfs://",
    "adl://",
    "az://",
    "s3://",
)


def is_remote(path: str) -> bool:
    return path.lower().startswith(REMOTE_PREFIXES)


# Azure's resource name rule, plus dots, which Azure's own curated environment names use.
AssetName = Annotated[
    str,
    Matches(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$",
        "use letters, digits, '-', '_' and '.' (up to 255, starting with a letter or digit)",
    ),
]


def _version_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # YAML reads 1.10 as the number 1.1: refuse to guess which text was meant.
        raise PydanticCustomError(
            "version_number",
            'write the version as a string, e.g. "{value}" (YAML read it as a number)',
            {"value": value},
        )
    return value


def _not_latest(value: str) -> str:
    if value == "latest":
        raise PydanticCustomError("version", "'latest' is reserved: it means the newest version")
    return value


AssetVersion = Annotated[
    str,
    BeforeValidator(_version_text),
    Matches(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", "use letters, digits, '-', '_' and '.' (up to 64)"),
    AfterValidator(_not_latest),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"}, {"type": "integer"}]}
    ),
]


def local_path(value: str, base: Path | None, origin: str, field: str, schema_file: str) -> Path:
    """A local path from a spec, absolute: relative paths are relative to ``base`` (the YAML's folder).

    ``base=None`` is the server, which has no client files: a local path there is an error.
    """
    if value.lower().startswith("file://"):
        text = unquote(urlparse(value).path)
    else:
        text = value[5:] if value.lower().startswith("file:") else value
    if base is None:
        raise field_error(
            origin,
            field,
            f"{value!r} is a local path; upload local files from the client and send the uploaded URI "
            "(azureml://datastores/<name>/paths/<path>) or a cloud URI",
            schema_file,
        )
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


class DataSpec(Spec):
    SCHEMA_FILE: ClassVar[str] = "data.schema.json"

    name: AssetName
    version: AssetVersion | None = None
    description: str | None = None
    tags: StringMap = Field(default_factory=dict)
    properties: StringMap = Field(default_factory=dict)
    type: Literal["uri_file", "uri_folder", "mltable"] = "uri_folder"
    path: str = Field(min_length=1)
    # The datastore local files are uploaded to (Azure's ArtifactSchema field); only with a local path.
    datastore: DatastoreName | None = None


def load_data(
    source: str | Path, *, params_override: Sequence[Mapping[str, Any]] | None = None, **overrides: Any
) -> Data:
    """A ``data`` YAML as an entity; a local ``path`` is made absolute against the YAML's folder."""
    spec = load_spec(DataSpec, source, overrides, params_override)
    return _entity(spec, Path(source).resolve().parent, str(source))


def data_from_fields(**fields: Any) -> Data:
    """A data asset from flags or SDK arguments; a local ``path`` is relative to the current folder."""
    return data_from_dict(fields, base=Path.cwd())


def data_from_dict(body: Mapping[str, Any], *, base: Path | None = None, origin: str = "data") -> Data:
    """Validate data fields (e.g. a request's JSON) into the entity; ``None`` values count as absent.

    With ``base=None`` (the server) a local ``path`` is an error: the client uploads local files first.
    """
    spec = parse_spec(DataSpec, {k: v for k, v in body.items() if v is not None}, origin)
    return _entity(spec, base, origin)


def _entity(spec: DataSpec, base: Path | None, origin: str) -> Data:
    path = spec.path
    if is_remote(path):
        if spec.datastore is not None:
            raise field_error(
                origin,
                "datastore",
                "names where local files are uploaded; this path is in the cloud already, leave it out",
                DataSpec.SCHEMA_FILE,
            )
    else:
        local = local_path(path, base, origin, "path", DataSpec.SCHEMA_FILE)
        _check_local_data(local, spec.type, origin)
        path = str(local)
    return Data(
        name=spec.name,
        version=spec.version,
        path=path,
        type=spec.type,
        description=spec.description,
        tags=spec.tags,
        properties=spec.properties,
        datastore=spec.datastore,
    )


def _check_local_data(local: Path, kind: str, origin: str) -> None:
    def fail(message: str) -> None:
        raise field_error(origin, "path", message, DataSpec.SCHEMA_FILE)

    if not local.exists():
        fail(f"{local} does not exist")
    if kind == "uri_file" and not local.is_file():
        fail(f"type uri_file needs a file, and {local} is a folder; use type uri_folder")
    if kind == "uri_folder" and not local.is_dir():
        fail(f"type uri_folder needs a folder, and {local} is a file; use type uri_file")
    if kind == "mltable" and not (local / "MLTable").is_file():
        fail(f"type mltable needs a folder holding an MLTable file; {local} has none")


def data_to_fields(data: Data) -> dict[str, Any]:
    """The entity's spec fields (what a ``data`` YAML holds), without server fields. ``datastore`` only
    goes with a local path: on a stored version it reports where the data lives."""
    fields = data.model_dump(mode="json", include=set(DataSpec.model_fields) - {"schema_"}, exclude_none=True)
    if data.path is not None and is_remote(data.path):
        fields.pop("datastore", None)
    return {k: v for k, v in fields.items() if v != {}}
