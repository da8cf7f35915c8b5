"""The Azure ML ``environment`` YAML (environment.schema.json), plus Stratus's native form.

Azure's forms: ``image`` (optionally with ``conda_file``, built on top of the image) or ``build`` (a
Docker build context). Stratus extension, for environments the server builds with uv and no Docker:
``python`` (the interpreter version, e.g. "3.11") and ``pip`` (requirement lines, which may include
``--index-url``/``-i``/``--extra-index-url`` lines with an http(s) URL).
Exactly one form per file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from stratus.entities.assets import BuildContext, Environment
from stratus.parsing import InputLimitError, load_yaml
from stratus.specs.data import AssetName, AssetVersion, is_remote, local_path
from stratus.specs.datastore import StrictModel, StringMap, field_error
from stratus.specs.loader import Spec, SpecError, load_spec, parse_spec

SCHEMA_FILE = "environment.schema.json"
# The pip options the build plan takes (stratus.environments.plan): where packages come from.
PIP_OPTIONS_WITH_VALUE = ("--index-url", "-i", "--extra-index-url")
PIP_FLAGS: tuple[str, ...] = ()


def _python_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        # YAML reads 3.10 as the number 3.1: refuse to guess.
        raise PydanticCustomError(
            "python_number",
            'write the version as a string, e.g. python: "3.11" (YAML read {value} as a number)',
            {"value": value},
        )
    return value


def _python_version(value: str) -> str:
    parts = value.split(".")
    if not (1 <= len(parts) <= 3 and all(p.isdigit() for p in parts)):
        raise PydanticCustomError(
            "python", '{value} is not a Python version such as "3.11"', {"value": repr(value)}
        )
    return value


PythonVersion = Annotated[
    str,
    BeforeValidator(_python_text),
    AfterValidator(_python_version),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+){0,2}$", "examples": ["3.11"]}),
]


def _pip_line(value: str) -> str:
    line = value.strip()
    if not line or "\n" in line:
        raise PydanticCustomError("pip", "each pip entry is one non-empty requirement line")
    if line.startswith("-"):
        option, _, argument = line.replace("=", " ", 1).partition(" ")
        if option in PIP_FLAGS and not argument.strip():
            return line
        if option in PIP_OPTIONS_WITH_VALUE:
            # Only URLs: the environment is built on the server, where the YAML's folder does not exist.
            if not argument.strip().lower().startswith(("https://", "http://")):
                raise PydanticCustomError(
                    "pip", "{option} needs an http(s) URL, e.g. {option} https://...", {"option": option}
                )
            return line
        allowed = ", ".join(PIP_OPTIONS_WITH_VALUE + PIP_FLAGS)
        raise PydanticCustomError(
            "pip",
            "option {option} is not taken in pip lines (allowed: {allowed}); list requirements themselves",
            {"option": repr(option), "allowed": allowed},
        )
    return line


PipLine = Annotated[str, AfterValidator(_pip_line)]


class BuildContextSpec(StrictModel):
    path: str = Field(min_length=1)
    dockerfile_path: str = Field(default="Dockerfile", min_length=1)


class RouteSpec(StrictModel):
    port: int = Field(ge=1, le=65535)
    path: str = Field(min_length=1)


class InferenceConfigSpec(StrictModel):
    liveness_route: RouteSpec
    readiness_route: RouteSpec
    scoring_route: RouteSpec


def _path_or_mapping(value: Any) -> Any:
    # One check instead of a ``str | dict`` union, whose errors would name each branch.
    if not isinstance(value, str | dict | None):
        raise PydanticCustomError(
            "conda_file", "give a path to a conda YAML file or the conda mapping itself"
        )
    return value


CondaFile = Annotated[
    Any,
    BeforeValidator(_path_or_mapping),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "null"}]}),
]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class EnvironmentSpec(Spec):
    SCHEMA_FILE: ClassVar[str] = SCHEMA_FILE

    name: AssetName
    version: AssetVersion | None = None
    description: str | None = None
    tags: StringMap = Field(default_factory=dict)
    properties: StringMap = Field(default_factory=dict)
    image: str | None = Field(default=None, min_length=1)
    # A path relative to the YAML, or the conda environment mapping itself.
    conda_file: CondaFile = None
    build: BuildContextSpec | None = None
    os_type: Annotated[
        Literal["linux", "windows"] | None,
        BeforeValidator(_lower),  # Azure takes any case
        WithJsonSchema({"enum": ["linux", "windows", "Linux", "Windows", None]}),
    ] = None
    inference_config: InferenceConfigSpec | None = None
    python: PythonVersion | None = Field(default=None, description="Stratus extension: the Python version")
    pip: list[PipLine] | None = Field(default=None, description="Stratus extension: pip requirement lines")


def load_environment(
    source: str | Path, *, params_override: Sequence[Mapping[str, Any]] | None = None, **overrides: Any
) -> Environment:
    """An ``environment`` YAML as an entity: a ``conda_file`` path is read (relative to the YAML's folder)
    and kept as its mapping; a local ``build.path`` is made absolute."""
    spec = load_spec(EnvironmentSpec, source, overrides, params_override)
    return _entity(spec, Path(source).resolve().parent, str(source))


def environment_from_fields(**fields: Any) -> Environment:
    """An environment from flags or SDK arguments; local paths are relative to the current folder."""
    return environment_from_dict(fields, base=Path.cwd())


def environment_from_dict(
    body: Mapping[str, Any], *, base: Path | None = None, origin: str = "environment"
) -> Environment:
    """Validate environment fields (e.g. a request's JSON) into the entity; ``None`` values count as absent.

    With ``base=None`` (the server) ``conda_file`` must be a mapping and ``build.path`` a cloud URI.
    """
    data = {k: v for k, v in body.items() if v is not None}
    for key in ("channels", "dependencies"):
        if key in data:
            raise SpecError(
                f"{origin}: field {key!r}: belongs in a conda file; put it there and set conda_file "
                f"(a path or an inline mapping) with image ({SCHEMA_FILE})",
                field=key,
            )
    return _entity(parse_spec(EnvironmentSpec, data, origin), base, origin)


def _entity(spec: EnvironmentSpec, base: Path | None, origin: str) -> Environment:
    _check_form(spec, origin)
    conda: dict[str, Any] | None = spec.conda_file
    if isinstance(spec.conda_file, str):
        conda = _read_conda_file(spec.conda_file, base, origin)
    build = None
    if spec.build is not None:
        context = spec.build.path
        if not is_remote(context):
            context = str(_local_build_context(spec.build, base, origin))
        build = BuildContext(path=context, dockerfile_path=spec.build.dockerfile_path)
    return Environment(
        name=spec.name,
        version=spec.version,
        image=spec.image,
        conda_file=conda,
        build=build,
        python=spec.python,
        pip=spec.pip or [],
        os_type=spec.os_type or "linux",
        inference_config=spec.inference_config.model_dump() if spec.inference_config else None,
        description=spec.description,
        tags=spec.tags,
        properties=spec.properties,
    )


def _check_form(spec: EnvironmentSpec, origin: str) -> None:
    """Azure's rule: ``image`` or ``build``, one of them; Stratus adds ``python``/``pip`` as a third form."""
    native = "pip" if spec.python is None and spec.pip else "python"
    given = {"image": spec.image is not None, "build": spec.build is not None}
    given[native] = spec.python is not None or bool(spec.pip)
    forms = [form for form, present in given.items() if present]
    if not forms:
        raise field_error(
            origin,
            "image",
            "required: give image (optionally with conda_file), build, or python and pip (Stratus)",
            SCHEMA_FILE,
        )
    if len(forms) > 1:
        raise field_error(
            origin,
            forms[1],
            f"{forms[0]} and {forms[1]} are exclusive: an environment is image (+ conda_file), build, "
            "or python/pip",
            SCHEMA_FILE,
        )
    if spec.conda_file is not None and spec.image is None:
        raise field_error(
            origin,
            "conda_file",
            "needs image: the conda environment is built on top of it; without an image, list "
            "requirements in pip (with python) instead",
            SCHEMA_FILE,
        )


def _read_conda_file(value: str, base: Path | None, origin: str) -> dict[str, Any]:
    if is_remote(value):
        raise field_error(origin, "conda_file", "must be a local file or an inline mapping", SCHEMA_FILE)
    path = local_path(value, base, origin, "conda_file", SCHEMA_FILE)
    try:
        conda = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise field_error(origin, "conda_file", f"cannot read {path}: {exc.strerror}", SCHEMA_FILE) from None
    except UnicodeDecodeError:
        raise field_error(origin, "conda_file", f"{path} is not UTF-8 text", SCHEMA_FILE) from None
    except (yaml.YAMLError, InputLimitError) as exc:
        raise field_error(origin, "conda_file", f"{path} is not valid YAML: {exc}", SCHEMA_FILE) from None
    if not isinstance(conda, dict):
        raise field_error(origin, "conda_file", f"{path} must hold a conda environment mapping", SCHEMA_FILE)
    return conda


def _local_build_context(build: BuildContextSpec, base: Path | None, origin: str) -> Path:
    context = local_path(build.path, base, origin, "build.path", SCHEMA_FILE)
    if not context.is_dir():
        raise field_error(origin, "build.path", f"{context} is not a folder", SCHEMA_FILE)
    dockerfile = Path(build.dockerfile_path)
    if dockerfile.is_absolute() or ".." in dockerfile.parts or not (context / dockerfile).is_file():
        raise field_error(
            origin,
            "build.dockerfile_path",
            f"{build.dockerfile_path!r} must name a file inside {context}",
            SCHEMA_FILE,
        )
    return context


def environment_to_fields(environment: Environment) -> dict[str, Any]:
    """The entity's spec fields (what an ``environment`` YAML holds), without server fields; the conda
    file stays inline."""
    fields = environment.model_dump(
        mode="json", include=set(EnvironmentSpec.model_fields) - {"schema_"}, exclude_none=True
    )
    if fields.get("os_type") == "linux":
        del fields["os_type"]
    return {k: v for k, v in fields.items() if v not in ({}, [])}
