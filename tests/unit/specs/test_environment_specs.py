"""The ``environment`` YAML: azureml-examples' image, image + conda and build forms; Stratus's python/pip."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.entities import BuildContext, Environment
from stratus.specs import (
    SpecError,
    environment_from_dict,
    environment_from_fields,
    environment_to_fields,
    load_environment,
)

SCHEMA = "https://azuremlschemas.azureedge.net/latest/environment.schema.json"

DOCKER_IMAGE = f"""\
$schema: {SCHEMA}
name: docker-image-example
version: 1
image: pytorch/pytorch:latest
description: Environment created from a Docker image.
"""
DOCKER_IMAGE_PLUS_CONDA = f"""\
$schema: {SCHEMA}
name: docker-image-plus-conda-example
image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
conda_file: conda-yamls/pydata.yml
description: Environment created from a Docker image plus Conda environment.
"""
PYDATA = """\
name: pydata-example
channels:
  - conda-forge
dependencies:
  - python=3.8
  - pip
  - pip:
    - numpy==1.21.2
    - pandas==1.3.0
"""
DOCKER_CONTEXT = f"""\
$schema: {SCHEMA}
name: docker-context-example
build:
  path: docker-contexts/python-and-pip
"""
INLINE_CONDA_WITH_INFERENCE = f"""\
$schema: {SCHEMA}
name: custom-container-env
version: "2.0"
image: docker.io/tensorflow/serving:latest
os_type: Linux
inference_config:
  liveness_route:
    port: 8501
    path: /v1/models/hpt
  readiness_route:
    port: 8501
    path: /v1/models/hpt
  scoring_route:
    port: 8501
    path: /v1/models/hpt:predict
conda_file:
  name: inline
  dependencies:
    - python=3.11
tags:
  framework: tensorflow
"""
NATIVE = f"""\
$schema: {SCHEMA}
name: sklearn-env
python: "3.11"
pip:
  - --index-url https://pypi.org/simple
  - --extra-index-url=https://download.pytorch.org/whl/cpu
  - -i https://pypi.org/simple
  - scikit-learn>=1.4
  - "pandas==2.2.*"
properties:
  team: ml
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """A folder laid out like azureml-examples' cli/assets/environment."""
    folder = tmp_path / "assets" / "environment"
    (folder / "conda-yamls").mkdir(parents=True)
    (folder / "conda-yamls" / "pydata.yml").write_text(PYDATA)
    context = folder / "docker-contexts" / "python-and-pip"
    context.mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY requirements.txt .\n")
    (context / "gpu.Dockerfile").write_text("FROM python:3.11\n")
    return folder


def _write(folder: Path, text: str, name: str = "env.yml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_docker_image(spec_dir: Path) -> None:
    env = load_environment(_write(spec_dir, DOCKER_IMAGE))
    assert (env.name, env.version, env.image) == ("docker-image-example", "1", "pytorch/pytorch:latest")
    assert (env.conda_file, env.build, env.python, env.pip) == (None, None, None, [])
    assert env.os_type == "linux"


def test_conda_file_path_is_read_relative_to_the_yaml(
    spec_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = load_environment(_write(spec_dir, DOCKER_IMAGE_PLUS_CONDA))
    assert env.conda_file == {
        "name": "pydata-example",
        "channels": ["conda-forge"],
        "dependencies": ["python=3.8", "pip", {"pip": ["numpy==1.21.2", "pandas==1.3.0"]}],
    }


def test_build_context_is_made_absolute(
    spec_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = load_environment(_write(spec_dir, DOCKER_CONTEXT))
    context = spec_dir / "docker-contexts" / "python-and-pip"
    assert env.build == BuildContext(path=str(context), dockerfile_path="Dockerfile")
    other = load_environment(
        _write(spec_dir, DOCKER_CONTEXT + "  dockerfile_path: gpu.Dockerfile\n"), name="gpu-env"
    )
    assert other.build == BuildContext(path=str(context), dockerfile_path="gpu.Dockerfile")
    assert other.name == "gpu-env"


def test_remote_build_context_is_kept() -> None:
    url = "https://github.com/example/envs.git#main:docker"
    env = environment_from_dict({"name": "e", "build": {"path": url}})
    assert env.build == BuildContext(path=url)


def test_inline_conda_and_inference_config(spec_dir: Path) -> None:
    env = load_environment(_write(spec_dir, INLINE_CONDA_WITH_INFERENCE))
    assert env.version == "2.0"
    assert env.os_type == "linux"
    assert env.conda_file == {"name": "inline", "dependencies": ["python=3.11"]}
    assert env.inference_config is not None
    assert env.inference_config["scoring_route"] == {"port": 8501, "path": "/v1/models/hpt:predict"}
    assert env.tags == {"framework": "tensorflow"}


def test_native_python_and_pip(spec_dir: Path) -> None:
    env = load_environment(_write(spec_dir, NATIVE))
    assert env.python == "3.11"
    assert env.pip == [
        "--index-url https://pypi.org/simple",
        "--extra-index-url=https://download.pytorch.org/whl/cpu",
        "-i https://pypi.org/simple",
        "scikit-learn>=1.4",
        "pandas==2.2.*",
    ]
    assert env.image is None
    assert env.properties == {"team": "ml"}
    assert environment_from_fields(name="e", pip=["numpy"]).python is None
    assert environment_from_fields(name="e", python=3).python == "3"


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({}, "image", "required"),
        ({"image": "python:3.11", "build": {"path": "https://x/ctx"}}, "build", "exclusive"),
        ({"image": "python:3.11", "python": "3.11"}, "python", "exclusive"),
        ({"build": {"path": "https://x/ctx"}, "pip": ["numpy"]}, "pip", "exclusive"),
        ({"python": "3.11", "conda_file": {"dependencies": []}}, "conda_file", "needs image"),
        (
            {"build": {"path": "https://x/ctx"}, "conda_file": {"dependencies": []}},
            "conda_file",
            "needs image",
        ),
        ({"image": "i", "channels": ["conda-forge"]}, "channels", "conda file"),
        ({"image": "i", "dependencies": ["numpy"]}, "dependencies", "conda file"),
        ({"python": 3.10}, "python", "string"),
        ({"python": "three"}, "python", "Python version"),
        ({"pip": ["-r requirements.txt"]}, "pip.0", "'-r' is not taken"),
        ({"pip": ["numpy", "-e ."]}, "pip.1", "'-e' is not taken"),
        ({"pip": ["--index-url"]}, "pip.0", "needs an http(s) URL"),
        ({"pip": ["--find-links https://x/wheels"]}, "pip.0", "'--find-links' is not taken"),
        ({"pip": ["--pre"]}, "pip.0", "'--pre' is not taken"),
        ({"pip": ["-i ./wheels"]}, "pip.0", "needs an http(s) URL"),
        ({"pip": [""]}, "pip.0", "non-empty"),
        ({"pip": "numpy"}, "pip", "list"),
        ({"image": "i", "os_type": "macos"}, "os_type", "linux"),
        ({"image": "i", "build": {"path": "x", "context": "y"}}, "build.context", "unknown field"),
        (
            {"image": "i", "inference_config": {"liveness_route": {"port": 1, "path": "/"}}},
            "inference_config.readiness_route",
            "required",
        ),
        (
            {"image": "i", "inference_config": {"liveness_route": {"port": "x", "path": "/"}}},
            "inference_config.liveness_route.port",
            "integer",
        ),
        ({"image": "i", "conda_file": 5}, "conda_file", "conda mapping"),
        ({"image": "i", "conda_dependencies": "x"}, "conda_dependencies", "unknown field"),
        ({"image": "", "python": "3.11"}, "image", "at least 1"),
    ],
)
def test_bad_fields_name_field_and_schema(fields: dict[str, object], field: str, says: str) -> None:
    with pytest.raises(SpecError) as excinfo:
        environment_from_dict({"name": "e", **fields})
    assert excinfo.value.field == field
    assert says in str(excinfo.value)
    assert "environment.schema.json" in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        (DOCKER_IMAGE_PLUS_CONDA.replace("pydata.yml", "absent.yml"), "conda_file", "cannot read"),
        (DOCKER_IMAGE_PLUS_CONDA.replace("pydata.yml", "list.yml"), "conda_file", "mapping"),
        (
            DOCKER_IMAGE_PLUS_CONDA.replace("conda-yamls/pydata.yml", "https://x/conda.yml"),
            "conda_file",
            "local",
        ),
        (DOCKER_CONTEXT.replace("python-and-pip", "absent"), "build.path", "not a folder"),
        (DOCKER_CONTEXT + "  dockerfile_path: missing.Dockerfile\n", "build.dockerfile_path", "inside"),
        (
            DOCKER_CONTEXT + "  dockerfile_path: ../../../conda-yamls/pydata.yml\n",
            "build.dockerfile_path",
            "inside",
        ),
    ],
)
def test_local_file_problems_name_the_field(spec_dir: Path, text: str, field: str, says: str) -> None:
    (spec_dir / "conda-yamls" / "list.yml").write_text("- numpy\n")
    with pytest.raises(SpecError) as excinfo:
        load_environment(_write(spec_dir, text))
    assert excinfo.value.field == field
    assert says in str(excinfo.value)


def test_server_takes_conda_as_a_mapping_and_no_local_build_context() -> None:
    with pytest.raises(SpecError) as conda:
        environment_from_dict({"name": "e", "image": "i", "conda_file": "conda.yml"})
    assert conda.value.field == "conda_file"
    with pytest.raises(SpecError) as build:
        environment_from_dict({"name": "e", "build": {"path": "ctx"}})
    assert build.value.field == "build.path"
    env = environment_from_dict({"name": "e", "image": "i", "conda_file": {"dependencies": ["numpy"]}})
    assert env.conda_file == {"dependencies": ["numpy"]}


@pytest.mark.parametrize(
    "schema",
    [SCHEMA, "https://azuremlschemas.azureedge.net/1.0.0/environment.schema.json", "environment.schema.json"],
)
def test_schema_under_any_host_or_version(spec_dir: Path, schema: str) -> None:
    assert (
        load_environment(_write(spec_dir, DOCKER_IMAGE.replace(SCHEMA, schema))).name
        == "docker-image-example"
    )


def test_wrong_schema_fails_naming_it(spec_dir: Path) -> None:
    with pytest.raises(SpecError) as excinfo:
        load_environment(
            _write(spec_dir, DOCKER_IMAGE.replace("environment.schema.json", "data.schema.json"))
        )
    assert excinfo.value.field == "$schema"
    assert "environment.schema.json" in str(excinfo.value)


def test_sdk_entity_with_an_unread_conda_path_resolves_from_the_current_folder(
    spec_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """azure-ai-ml code passes ``conda_file="path.yml"``; the SDK reads it through the fields functions."""
    monkeypatch.chdir(spec_dir)
    user_env = Environment(name="e", image="python:3.11", conda_file="conda-yamls/pydata.yml")
    env = environment_from_fields(**environment_to_fields(user_env))
    assert isinstance(env.conda_file, dict)
    assert env.conda_file["name"] == "pydata-example"


@pytest.mark.parametrize(
    "text", [DOCKER_IMAGE, DOCKER_IMAGE_PLUS_CONDA, DOCKER_CONTEXT, INLINE_CONDA_WITH_INFERENCE, NATIVE]
)
def test_round_trip_through_spec_fields(spec_dir: Path, text: str) -> None:
    env = load_environment(_write(spec_dir, text))
    fields = environment_to_fields(env)
    assert not {"status", "spec_hash", "lock_available", "is_archived"} & set(fields)
    assert environment_from_fields(**fields) == env
    # What ``download``/``show -o yaml`` write loads back the same, with the conda file inline.
    import yaml

    again = load_environment(_write(spec_dir, yaml.safe_dump(fields), name="again.yml"))
    assert again == env


def test_stored_environment_drops_server_fields() -> None:
    stored = Environment.from_response(
        {
            "name": "e",
            "version": "4",
            "python": "3.11",
            "pip": ["numpy"],
            "status": "Succeeded",
            "spec_hash": "f" * 64,
            "python_version": "3.11.9",
            "lock_available": True,
        }
    )
    assert environment_to_fields(stored) == {"name": "e", "version": "4", "python": "3.11", "pip": ["numpy"]}
