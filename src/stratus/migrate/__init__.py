"""Moving data into Stratus from other platforms: ``import_mlflow`` copies an MLflow tracking server.

Importing this package needs the ``mlflow`` client (``pip install 'stratus-ml[mlflow]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratus.client import profile
from stratus.migrate.mlflow_import import (
    ImportOptions,
    ImportProgress,
    ImportSummary,
    MlflowAuth,
    MlflowImportError,
    ProgressCallback,
    import_mlflow,
)

if TYPE_CHECKING:
    from stratus.client import MLClient

__all__ = [
    "ImportOptions",
    "ImportProgress",
    "ImportSummary",
    "MlflowAuth",
    "MlflowImportError",
    "import_mlflow",
    "import_mlflow_into",
]


def import_mlflow_into(
    ml_client: MLClient,
    source_uri: str,
    *,
    token: str | None = None,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Copy the MLflow tracking server at ``source_uri`` into ``ml_client``'s workspace.

    ``token`` defaults to the one the client found the usual way (STRATUS_TOKEN, the ``stratus login``
    profile, the local server's admin token); pass it when the client was given a credential explicitly.
    """
    if token is None:
        token = profile.resolve(ml_client.endpoint, None, ml_client.workspace_name).token
    return import_mlflow(source_uri, ml_client.tracking_uri, token, options=options, progress=progress)
