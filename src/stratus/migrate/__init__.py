"""Moving data into Stratus from other platforms: ``import_mlflow`` copies an MLflow tracking server.

Importing this package needs the ``mlflow`` client (``pip install 'stratus-ml[mlflow]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratus.client import profile
from stratus.entities.auth import Principal
from stratus.entities.roles import Permission, Role, permissions_of
from stratus.errors import PermissionDeniedError
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
    checker = ml_client
    if token is None:
        token = profile.resolve(ml_client.endpoint, None, ml_client.workspace_name).token
    else:
        from stratus.client import MLClient

        checker = MLClient(token, workspace_name=ml_client.workspace_name, endpoint=ml_client.endpoint)
    require_import_role(checker.me(), ml_client.workspace_name)
    return import_mlflow(source_uri, ml_client.tracking_uri, token, options=options, progress=progress)


def require_import_role(principal: Principal, workspace: str) -> None:
    """DESIGN §6 gives ``mlflow import`` to Owners and Contributors (it writes a whole server's history
    at once). Each write it makes is checked by the server as usual; this checks the role up front."""
    roles = {Role.parse(r) for r in principal.roles.get(workspace, [])}
    if principal.is_server_admin or Permission.MANAGE_DATASTORES in permissions_of(roles):
        return
    held = ", ".join(sorted(r.value for r in roles)) or "no role"
    raise PermissionDeniedError(
        f"mlflow import needs the Owner or Contributor role in workspace {workspace!r}; "
        f"{principal.user} has {held} there"
    )
