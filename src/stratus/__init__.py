"""Stratus: a self-hosted machine-learning platform shaped like Azure Machine Learning.

The public SDK surface is pinned by a test: ``MLClient`` and the entities in ``stratus.entities``.
"""

from stratus._version import __version__
from stratus.client import MLClient
from stratus.entities import AccessToken, RoleAssignment, User, Workspace

__all__ = ["AccessToken", "MLClient", "RoleAssignment", "User", "Workspace", "__version__"]
