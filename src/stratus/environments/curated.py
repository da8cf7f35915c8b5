"""Curated environments: Azure ML's names, built here as uv environments.

The contents follow Azure's ``azureml-assets`` definitions (``assets/training/general/environments/<name>``
and ``assets/inference/environments/<name>``) with three changes: Python is the minor version each name
implies or 3.11 (Azure's training images use 3.10); pins without Python 3.11 wheels are moved to the
nearest release that has them (Azure's ``numpy~=1.22.0`` becomes ``numpy>=1.23.2,<2``); and Azure-only
packages (``azureml-*``, ``azure-*`` clients, the inference HTTP server) are left out: ``mlflow-skinny``,
added to every plan, is how scripts log here, and Stratus serves models itself.

Each name has one definition here, so any version or label of it resolves to that definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stratus.environments.plan import BuildPlan, plan_from_pip
from stratus.errors import InvalidInputError, NotFoundError


@dataclass(frozen=True)
class CuratedEnvironment:
    name: str
    description: str
    plan: BuildPlan


def _curated(name: str, description: str, python: str, requirements: list[str]) -> CuratedEnvironment:
    return CuratedEnvironment(
        name=name,
        description=description,
        plan=plan_from_pip(python, requirements, origin=f"curated environment {name}"),
    )


CURATED: dict[str, CuratedEnvironment] = {
    env.name: env
    for env in (
        _curated(
            "sklearn-1.5",
            "scikit-learn 1.5 with pandas 1.5 and SciPy 1.10 for training",
            "3.11",
            [
                "scikit-learn~=1.5.0",
                "pandas~=1.5.3",
                "scipy~=1.10.0",
                "numpy>=1.23.2,<2",
                "joblib~=1.2.0",
            ],
        ),
        _curated(
            # Azure's current definition of this name holds lightgbm>=4.6.0 (raised from 3.3 for security
            # fixes); the name is kept because specs refer to it.
            "lightgbm-3.3",
            "LightGBM with scikit-learn 1.5, XGBoost 1.7 and pandas 1.5 for training",
            "3.11",
            [
                "lightgbm>=4.6.0",
                "scikit-learn~=1.5.1",
                "xgboost~=1.7.6",
                "pandas~=1.5.3",
                "scipy~=1.10.0",
                "numpy>=1.23.2,<2",
            ],
        ),
        _curated(
            "minimal-py311-inference",
            "Python 3.11 with NumPy and joblib for scoring scripts",
            "3.11",
            ["numpy", "joblib"],
        ),
        _curated(
            "mlflow-py312-inference",
            "Python 3.12 with MLflow and scikit-learn for no-code MLflow model deployment",
            "3.12",
            ["mlflow", "scikit-learn", "cloudpickle", "psutil", "pandas", "numpy", "joblib"],
        ),
    )
}

_REGISTRY_REFERENCE = re.compile(
    r"^azureml://registries/azureml/environments/(?P<name>[^/@:]+)"
    r"(?:/labels/(?P<label>[^/]+)|/versions/(?P<version>[^/]+))?/?$",
    re.IGNORECASE,
)
_SHORT_REFERENCE = re.compile(
    r"^(?:azureml:)?AzureML-(?P<name>[^/@:]+)(?:@(?P<label>[^/@:]+)|:(?P<version>[^/@:]+))?$", re.IGNORECASE
)


def resolve_curated(reference: str) -> tuple[str, BuildPlan] | None:
    """``(name, plan)`` for a curated environment reference, ``None`` for any other reference.

    Accepted: ``azureml://registries/azureml/environments/<name>/labels/latest``,
    ``…/<name>/versions/<n>``, ``azureml:AzureML-<name>@latest``, ``azureml:AzureML-<name>:<n>`` and
    ``AzureML-<name>``. A reference in one of these forms to a name not in the catalog raises
    :class:`NotFoundError` listing the curated names (``AzureML-`` is Azure's reserved prefix, so it is
    never a workspace environment).
    """
    text = reference.strip()
    match = _REGISTRY_REFERENCE.match(text) or _SHORT_REFERENCE.match(text)
    if not match:
        return None
    label = match.group("label")
    if label is not None and label.lower() != "latest":
        raise InvalidInputError(
            f"environment {reference!r}: curated environments have only the label 'latest'",
            field="environment",
        )
    name = match.group("name").lower()
    curated = CURATED.get(name)
    if curated is None:
        raise NotFoundError(
            f"environment {reference!r}: {name!r} is not a curated environment here; "
            f"curated environments: {', '.join(sorted(CURATED))}",
            field="environment",
        )
    return curated.name, curated.plan
