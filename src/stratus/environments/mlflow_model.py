"""The environment an MLflow model was saved with, so an old pickled model loads in its own versions.

MLflow writes ``requirements.txt`` (pip pins, possibly ``-r``/``-c`` files beside it), ``conda.yaml`` and
``python_env.yaml`` (``python: 3.8.10``) next to ``MLmodel``. ``requirements.txt`` is preferred: it is what
MLflow itself installs from; the Python version comes from ``python_env.yaml``, else ``conda.yaml``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from stratus.environments.conda import parse_conda_dependency, plan_from_conda, python_minor
from stratus.environments.plan import BuildPlan, normalize_python, plan_from_pip
from stratus.errors import InvalidInputError
from stratus.parsing import MAX_YAML_CHARS, InputLimitError, load_yaml

FIELD = "model"
_INCLUDE = re.compile(r"^(?P<option>-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(?P<path>\S+)$")
_MAX_INCLUDE_DEPTH = 5


def plan_from_mlflow_model(model_dir: Path) -> BuildPlan:
    model_dir = Path(model_dir)
    origin = f"MLflow model {model_dir.name}"
    conda_data = _read_yaml(model_dir / "conda.yaml", origin)
    python = _python_from_python_env(model_dir / "python_env.yaml", origin)
    if python is None and conda_data is not None:
        python = _python_from_conda(conda_data, origin)
    requirements_file = model_dir / "requirements.txt"
    if requirements_file.is_file():
        requirements: list[str] = []
        constraints: list[str] = []
        _read_requirements(requirements_file, model_dir, requirements, constraints, origin, depth=0)
        return plan_from_pip(
            python,
            requirements,
            constraints=constraints,
            origin=f"{origin} requirements.txt",
            field=FIELD,
        )
    if conda_data is not None:
        plan = plan_from_conda(conda_data, origin=f"{origin} conda.yaml")
        return dataclasses.replace(plan, python=python) if python else plan
    raise InvalidInputError(
        f"{model_dir} is not an MLflow model folder with requirements.txt or conda.yaml", field=FIELD
    )


def _read_requirements(
    path: Path,
    model_dir: Path,
    requirements: list[str],
    constraints: list[str],
    origin: str,
    *,
    depth: int,
) -> None:
    """Lines of ``path`` into ``requirements``; ``-r``/``-c`` files (inside the model folder) followed."""
    if depth > _MAX_INCLUDE_DEPTH:
        raise InvalidInputError(
            f"{origin}: -r/-c files nest more than {_MAX_INCLUDE_DEPTH} deep", field=FIELD
        )
    for line in _read_text(path, origin).splitlines():
        match = _INCLUDE.match(line.strip())
        if not match:
            requirements.append(line)
            continue
        included = (path.parent / match.group("path")).resolve()
        if not included.is_relative_to(model_dir.resolve()):
            raise InvalidInputError(
                f"{origin}: {match.group('path')!r} in {path.name} points outside the model folder",
                field=FIELD,
            )
        if match.group("option") in ("-r", "--requirement"):
            _read_requirements(included, model_dir, requirements, constraints, origin, depth=depth + 1)
        else:
            nested: list[str] = []
            _read_requirements(included, model_dir, nested, constraints, origin, depth=depth + 1)
            constraints.extend(nested)


def _python_from_python_env(path: Path, origin: str) -> str | None:
    data = _read_yaml(path, origin)
    if not data or data.get("python") in (None, ""):
        return None
    return normalize_python(str(data["python"]), field=FIELD, origin=f"{origin} python_env.yaml")


def _python_from_conda(data: dict[str, Any], origin: str) -> str | None:
    for dependency in data.get("dependencies") or []:
        if isinstance(dependency, str):
            name, specifier = parse_conda_dependency(dependency, origin=origin)
            if name == "python":
                return python_minor(specifier, origin=f"{origin} conda.yaml")
    return None


def _read_yaml(path: Path, origin: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        # Every scalar a string: "python: 3.10" must not become the float 3.1.
        data = load_yaml(_read_text(path, origin), strings=True)
    except (yaml.YAMLError, InputLimitError) as exc:
        raise InvalidInputError(f"{origin}: {path.name} is not valid YAML: {exc}", field=FIELD) from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{origin}: {path.name} must hold a YAML mapping", field=FIELD)
    return data


def _read_text(path: Path, origin: str) -> str:
    try:
        if path.stat().st_size > MAX_YAML_CHARS:  # model metadata files are a few lines
            raise InvalidInputError(
                f"{origin}: {path.name} is larger than {MAX_YAML_CHARS} bytes", field=FIELD
            )
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{origin}: {path.name} is not UTF-8 text", field=FIELD) from None
    except OSError as exc:
        raise InvalidInputError(f"{origin}: cannot read {path.name}: {exc.strerror}", field=FIELD) from None
