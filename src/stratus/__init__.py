"""Stratus: a self-hosted machine-learning platform shaped like Azure Machine Learning.

The public SDK surface is pinned by a test: ``MLClient`` and the entities in ``stratus.entities``.
"""

from stratus._version import __version__
from stratus.client import MLClient
from stratus.entities import AccessToken, Experiment, Job, Model, RoleAssignment, User, Workspace
from stratus.specs import load_model

__all__ = [
    "AccessToken",
    "Experiment",
    "Job",
    "MLClient",
    "Model",
    "RoleAssignment",
    "User",
    "Workspace",
    "__version__",
    "load_model",
]
