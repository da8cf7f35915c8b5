"""Curated environments: Azure's reference forms resolve to the catalog; every entry resolves to wheels."""

from __future__ import annotations

import os
import subprocess

import pytest
import uv

from stratus.environments import CURATED, require_interpreter, resolve_curated
from stratus.errors import InvalidInputError, NotFoundError


@pytest.mark.parametrize(
    "reference",
    [
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
        "azureml://registries/azureml/environments/sklearn-1.5/versions/25",
        "azureml:AzureML-sklearn-1.5@latest",
        "azureml:AzureML-sklearn-1.5:3",
        "AzureML-sklearn-1.5",
        " azureml:azureml-SKLEARN-1.5@latest ",
    ],
)
def test_azure_reference_forms_resolve(reference: str) -> None:
    resolved = resolve_curated(reference)
    assert resolved is not None
    name, plan = resolved
    assert name == "sklearn-1.5"
    assert plan is CURATED["sklearn-1.5"].plan
    assert plan.python == "3.11"
    assert "scikit-learn~=1.5.0" in plan.requirements
    assert "pandas~=1.5.3" in plan.requirements
    assert "numpy<2,>=1.23.2" in plan.requirements
    assert "mlflow-skinny" in plan.requirements


@pytest.mark.parametrize(
    "reference",
    [
        "azureml:my-env:1",
        "azureml:my-env@latest",
        "my-env",
        "azureml://registries/other/environments/sklearn-1.5/labels/latest",
    ],
)
def test_other_references_are_not_curated(reference: str) -> None:
    assert resolve_curated(reference) is None


def test_unknown_curated_name_lists_the_catalog() -> None:
    with pytest.raises(NotFoundError, match=r"sklearn-1\.5") as caught:
        resolve_curated("azureml:AzureML-tensorflow-9.9@latest")
    assert caught.value.field == "environment"


def test_only_the_latest_label_exists() -> None:
    with pytest.raises(InvalidInputError, match="latest"):
        resolve_curated("azureml:AzureML-sklearn-1.5@stable")


@pytest.mark.network  # the catalog's promise is about PyPI's wheels, so PyPI it must be
@pytest.mark.parametrize("name", sorted(CURATED))
def test_every_curated_environment_resolves_to_wheels(name: str) -> None:
    """A catalog entry must install without compiling anything on its pinned Python."""
    plan = CURATED[name].plan
    result = subprocess.run(
        [
            uv.find_uv_bin(), "pip", "compile", "-", "--python", str(require_interpreter(plan.python).path),
            "--only-binary", ":all:", "--no-header", "--no-annotate",
        ],
        input="\n".join(plan.requirements),
        capture_output=True,
        text=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1"},
        timeout=240,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
