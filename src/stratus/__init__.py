"""Stratus: a self-hosted machine-learning platform shaped like Azure Machine Learning.

The public SDK surface is pinned by a test: ``MLClient`` and the entities in ``stratus.entities``.
"""

from stratus._version import __version__
from stratus.client import MLClient
from stratus.entities import AccessToken, Experiment, Job, Model, RoleAssignment, User, Workspace
from stratus.entities.assets import Data, Environment
from stratus.specs import load_data, load_datastore, load_environment, load_model

__all__ = [
    "AccessToken",
    "Data",
    "Environment",
    "Experiment",
    "Job",
    "MLClient",
    "Model",
    "RoleAssignment",
    "User",
    "Workspace",
    "__version__",
    "load_data",
    "load_datastore",
    "load_environment",
    "load_model",
]
