"""Stratus: a self-hosted machine-learning platform shaped like Azure Machine Learning.

The public SDK surface is pinned by a test: ``MLClient`` and the entities in ``stratus.entities``. Each
name is imported on first use (``stratus._lazy``), so importing a submodule (the CLI, the server, the job
launcher) does not load the SDK with it.
"""

from typing import TYPE_CHECKING

from stratus._version import __version__

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

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities.assets import Data, Environment
    from stratus.entities.auth import AccessToken, RoleAssignment, User
    from stratus.entities.tracking import Experiment, Job, Model
    from stratus.entities.workspace import Workspace
    from stratus.specs import load_data, load_datastore, load_environment, load_model
else:
    from stratus._lazy import exports

    __getattr__, __dir__ = exports(
        __name__,
        {
            "stratus.client": ("MLClient",),
            "stratus.entities.assets": ("Data", "Environment"),
            "stratus.entities.auth": ("AccessToken", "RoleAssignment", "User"),
            "stratus.entities.tracking": ("Experiment", "Job", "Model"),
            "stratus.entities.workspace": ("Workspace",),
            "stratus.specs": ("load_data", "load_datastore", "load_environment", "load_model"),
        },
    )
