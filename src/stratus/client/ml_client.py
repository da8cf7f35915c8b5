from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from stratus.client import profile
from stratus.client._artifacts import ArtifactTransfer
from stratus.client._http import Transport
from stratus.client.operations import (
    AuditOperations,
    ExperimentOperations,
    JobOperations,
    ModelOperations,
    RoleAssignmentOperations,
    SecretOperations,
    TokenOperations,
    UserOperations,
    WorkspaceOperations,
)
from stratus.entities import Principal
from stratus.errors import InvalidInputError

if TYPE_CHECKING:
    from stratus.client.assets import DataOperations, DatastoreOperations, EnvironmentOperations


def _token_of(credential: Any) -> str | None:
    """A token string, or an azure-identity-style object with ``get_token(...).token``."""
    if credential is None or isinstance(credential, str):
        return credential
    if hasattr(credential, "get_token"):
        return str(credential.get_token("stratus").token)
    raise InvalidInputError("credential must be a token string", field="credential")


class MLClient:
    """Entry point of the SDK, shaped like ``azure.ai.ml.MLClient``.

    ``subscription_id`` and ``resource_group_name`` are accepted so Azure code runs unchanged, and
    ignored. ``endpoint=None`` takes the server from STRATUS_URL or the ``stratus login`` profile, else the
    server running from this machine's home. ``workspace_name=None`` takes STRATUS_WORKSPACE, then the
    profile's workspace, then ``default``.
    """

    def __init__(
        self,
        credential: Any = None,
        subscription_id: str | None = None,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        *,
        endpoint: str | None = None,
        timeout: float = 60.0,
        show_progress: bool = True,
        **_azure_only: Any,
    ) -> None:
        connection = profile.resolve(endpoint, _token_of(credential), workspace_name)
        self.endpoint = connection.url
        self.workspace_name = connection.workspace or "default"
        self.subscription_id = subscription_id
        self.resource_group_name = resource_group_name
        self._transport = Transport(connection.url, connection.token, timeout=timeout)
        self.workspaces = WorkspaceOperations(self._transport, self.workspace_name)
        self.users = UserOperations(self._transport, self.workspace_name)
        self.tokens = TokenOperations(self._transport, self.workspace_name)
        self.role_assignments = RoleAssignmentOperations(self._transport, self.workspace_name)
        self.audit = AuditOperations(self._transport, self.workspace_name)
        self._files = ArtifactTransfer(self._transport, self.workspace_name, show_progress=show_progress)
        self.experiments = ExperimentOperations(self._transport, self.workspace_name)
        self.jobs = JobOperations(self._transport, self.workspace_name, self._files)
        self.models = ModelOperations(self._transport, self.workspace_name, self._files)
        self.secrets = SecretOperations(self._transport, self.workspace_name)

    # The asset groups bring the YAML specs and the environment library with them: made on first use.
    @cached_property
    def datastores(self) -> DatastoreOperations:
        from stratus.client.assets import DatastoreOperations

        return DatastoreOperations(self._transport, self.workspace_name)

    @cached_property
    def data(self) -> DataOperations:
        from stratus.client.assets import DataOperations

        return DataOperations(self._transport, self.workspace_name, self._files)

    @cached_property
    def environments(self) -> EnvironmentOperations:
        from stratus.client.assets import EnvironmentOperations

        return EnvironmentOperations(self._transport, self.workspace_name, self._files)

    @classmethod
    def from_config(
        cls,
        credential: Any = None,
        *,
        path: str | Path | None = None,
        file_name: str | None = None,
        **kwargs: Any,
    ) -> MLClient:
        """Read ``endpoint`` and ``workspace_name`` from ``.azureml/config.json`` (or ``config.json``),
        searching ``path`` (default: the current folder) and its parents, as azure-ai-ml does."""
        config_path = _find_config(Path(path or Path.cwd()), file_name)
        data = json.loads(config_path.read_text())
        return cls(
            credential,
            data.get("subscription_id"),
            data.get("resource_group"),
            data.get("workspace_name", "default"),
            endpoint=data.get("endpoint"),
            **kwargs,
        )

    @property
    def tracking_uri(self) -> str:
        """The workspace's MLflow tracking URI."""
        return f"{self.endpoint}/workspaces/{self.workspace_name}"

    def me(self) -> Principal:
        return Principal.from_response(self._transport.request("GET", "/api/v1/me"))

    def gc(
        self, *, older_than: str | None = None, dry_run: bool = False, uploads_older_than: str | None = None
    ) -> dict[str, Any]:
        """Purge the workspace's soft-deleted runs and experiments (deleted ``older_than`` ago, e.g.
        ``30d``; default all) with their artifacts. Files a registered model version uses are kept.
        What killed uploads left ``uploads_older_than`` ago (default 1d) is swept too."""
        body: dict[str, Any] = {"older_than": older_than, "dry_run": dry_run}
        if uploads_older_than is not None:
            body["uploads_older_than"] = uploads_older_than
        path = f"/api/v1/workspaces/{quote(self.workspace_name, safe='')}/gc"
        result: dict[str, Any] = self._transport.request("POST", path, json=body)
        return result

    def server_version(self) -> str:
        return str(self._transport.request("GET", "/api/v1/version")["version"])

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> MLClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MLClient(endpoint={self.endpoint!r}, workspace_name={self.workspace_name!r})"


def _find_config(start: Path, file_name: str | None) -> Path:
    if start.is_file():
        return start
    names = [file_name] if file_name else ["config.json"]
    for folder in [start, *start.parents]:
        for name in names:
            for candidate in (folder / ".azureml" / name, folder / name):
                if candidate.is_file():
                    return candidate
    raise InvalidInputError(
        f"no .azureml/config.json found in {start} or its parents; write one with 'endpoint' and "
        "'workspace_name'",
        field="path",
    )
