"""Environment builds: a spec (pip, conda, MLflow model, curated) → one build plan → a cached uv venv."""

from stratus.environments.builder import BuildStatus, BuiltEnvironment, EnvironmentCache
from stratus.environments.conda import plan_from_conda
from stratus.environments.curated import CURATED, CuratedEnvironment, resolve_curated
from stratus.environments.docker import build_image, docker_available
from stratus.environments.errors import EnvironmentBuildError
from stratus.environments.interpreters import find_interpreters, require_interpreter
from stratus.environments.mlflow_model import plan_from_mlflow_model
from stratus.environments.plan import DEFAULT_PYTHON, BuildPlan, plan_from_pip

__all__ = [
    "CURATED",
    "DEFAULT_PYTHON",
    "BuildPlan",
    "BuildStatus",
    "BuiltEnvironment",
    "CuratedEnvironment",
    "EnvironmentBuildError",
    "EnvironmentCache",
    "build_image",
    "docker_available",
    "find_interpreters",
    "plan_from_conda",
    "plan_from_mlflow_model",
    "plan_from_pip",
    "require_interpreter",
    "resolve_curated",
]
