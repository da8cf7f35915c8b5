"""MLflow's model registry of a workspace: registered models, versions and aliases.

A version's ``source`` may only name something of this workspace: ``models:/<logged-model-id>``,
``runs:/<run-id>/<path>``, or ``mlflow-artifacts:/<path>`` (through the canonicaliser). Anything else
(local paths, other schemes, query or fragment tricks) is refused, so registering a model never makes the
server read a file or contact a host (MLflow advisories CVE-2023-6909, CVE-2024-1483 and kin).
"""

from __future__ import annotations

import re
from typing import Any

from stratus.artifacts import UnsafePathError, canonicalize
from stratus.errors import NotFoundError
from stratus.server.services.artifacts import ArtifactService
from stratus.server.services.experiments import ARTIFACTS_SCHEME, decode_offset, encode_offset, invalid
from stratus.server.services.logged_models import LoggedModelService
from stratus.server.services.runs import MAX_TAG_VALUE_LENGTH, RunService, check_key
from stratus.store.access import WorkspaceRecord
from stratus.store.metadata import MetadataStore
from stratus.store.registry import ModelVersionRecord, RegisteredModelRecord
from stratus.tracking.search import parse_filter

MAX_MODEL_NAME_LENGTH = 256
_ALIAS = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")  # MLflow reserves v1, V2, ... as version references


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid("missing value for required parameter 'name': a registered model needs a name", "name")
    if len(name) > MAX_MODEL_NAME_LENGTH or "/" in name or ":" in name:
        raise invalid(
            f"invalid registered model name {name!r}: at most 256 characters, no '/' or ':'", "name"
        )
    return name


def _version(value: Any) -> int:
    try:
        version = int(value)
    except (TypeError, ValueError):
        raise invalid(f"version must be a positive integer, not {value!r}", "version") from None
    if not 1 <= version < 2**31:
        raise invalid("version must be a positive 32-bit integer", "version")
    return version


def _tags(items: Any) -> dict[str, str]:
    if items is None:
        return {}
    if not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
        raise invalid("tags must be a list of {key, value} objects", "tags")
    tags = {}
    for item in items:
        value = "" if item.get("value") is None else str(item["value"])
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise invalid(f"tag value is longer than {MAX_TAG_VALUE_LENGTH} characters", "tags")
        tags[check_key(item.get("key"), "tag")] = value
    return tags


class RegistryService:
    def __init__(
        self,
        store: MetadataStore,
        runs: RunService,
        logged_models: LoggedModelService,
        artifacts: ArtifactService,
    ) -> None:
        self.store = store
        self.runs = runs
        self.logged_models = logged_models
        self.artifacts = artifacts

    def create_model(
        self, workspace: WorkspaceRecord, name: Any, *, description: Any = None, tags: Any = None
    ) -> RegisteredModelRecord:
        return self.store.registry.create_model(
            workspace.id,
            _name(name),
            description=None if description is None else str(description),
            tags=_tags(tags),
        )

    def get_model(self, workspace: WorkspaceRecord, name: Any) -> RegisteredModelRecord:
        record = self.store.registry.get_model(workspace.id, _name(name))
        if record is None:
            raise NotFoundError(
                f"registered model {name!r} not found", field="name", code="RESOURCE_DOES_NOT_EXIST"
            )
        return record

    def resolve_source(
        self, workspace: WorkspaceRecord, source: Any, run_id: Any, *, field: str = "source"
    ) -> tuple[str, str, str | None]:
        """(source, storage location, run id) for an allowed source, else 400 naming ``field`` (MLflow's
        ``source``; a model asset calls it ``path``)."""
        if not isinstance(source, str) or not source:
            raise invalid(f"missing value for required parameter '{field}'", field)
        if any(ch in source for ch in "?#;\\") or any(ord(ch) < 32 for ch in source):
            raise invalid(
                f"{field} must not carry a query, fragment, ';', backslash or control characters", field
            )
        if source.startswith("models:/"):
            model = self.logged_models.get(workspace, source.removeprefix("models:/"))
            return source, model.artifact_uri, model.source_run_id or (str(run_id) if run_id else None)
        if source.startswith("runs:/"):
            run_part, _, path = source.removeprefix("runs:/").partition("/")
            run = self.runs.get(workspace, run_part)
            location = run.artifact_uri + ("/" + self._safe(path, field) if path else "")
            return source, location, run.run_id
        if source.startswith(f"{ARTIFACTS_SCHEME}/"):
            location = (
                f"{ARTIFACTS_SCHEME}/{self._safe(source.removeprefix(ARTIFACTS_SCHEME).lstrip('/'), field)}"
            )
            return location, location, str(run_id) if run_id else None
        # The workspace's own store named by its full URI (as mlflow's artifact_uri may spell it).
        root = self.artifacts.objects(workspace).uri.rstrip("/") + "/"
        if source.startswith(root):
            location = f"{ARTIFACTS_SCHEME}/{self._safe(source.removeprefix(root), field)}"
            return location, location, str(run_id) if run_id else None
        raise invalid(
            f"{field} must be models:/<logged-model-id>, runs:/<run-id>/<path>, mlflow-artifacts:/<path> "
            "or a URI under this workspace's artifact store",
            field,
        )

    @staticmethod
    def _safe(path: str, field: str) -> str:
        try:
            return canonicalize(path)
        except UnsafePathError as exc:
            raise invalid(f"{field}: {exc}", field) from None

    def create_version(
        self,
        workspace: WorkspaceRecord,
        name: Any,
        *,
        source: Any,
        run_id: Any = None,
        model_id: Any = None,
        description: Any = None,
        tags: Any = None,
        user_id: str | None = None,
        source_field: str = "source",
    ) -> ModelVersionRecord:
        model = self.get_model(workspace, name)
        resolved, location, owner_run = self.resolve_source(workspace, source, run_id, field=source_field)
        if run_id:
            owner_run = self.runs.get(workspace, run_id).run_id  # a run_id given must be of this workspace
        if model_id:
            self.logged_models.get(workspace, str(model_id))
        elif resolved.startswith("models:/"):
            model_id = resolved.removeprefix("models:/")
        return self.store.registry.create_version(
            workspace.id,
            model.name,
            source=resolved,
            storage_location=location,
            run_id=owner_run,
            model_id=None if model_id is None else str(model_id),
            description=None if description is None else str(description),
            user_id=user_id,
            tags=_tags(tags),
        )

    def get_version(self, workspace: WorkspaceRecord, name: Any, version: Any) -> ModelVersionRecord:
        record = self.store.registry.get_version(workspace.id, _name(name), _version(version))
        if record is None:
            raise NotFoundError(
                f"model {name!r} has no version {version}", field="version", code="RESOURCE_DOES_NOT_EXIST"
            )
        return record

    def set_alias(self, workspace: WorkspaceRecord, name: Any, alias: Any, version: Any) -> None:
        if (
            not isinstance(alias, str)
            or not _ALIAS.match(alias)
            or _VERSION_ALIAS.match(alias)
            or alias == "latest"
        ):
            raise invalid(
                f"invalid alias {alias!r}: letters, digits, '_' and '-', not 'latest' or 'v<n>'", "alias"
            )
        self.store.registry.set_alias(workspace.id, _name(name), alias, _version(version))

    def get_by_alias(self, workspace: WorkspaceRecord, name: Any, alias: Any) -> ModelVersionRecord:
        """As MLflow answers an unknown alias: a bad parameter (the model service makes it "not found")."""
        version, model = self.find_by_alias(workspace, name, alias)
        if version is None:
            raise invalid(f"registered model {model.name!r} has no alias {alias!r}", "alias")
        return version

    def find_by_alias(
        self, workspace: WorkspaceRecord, name: Any, alias: Any
    ) -> tuple[ModelVersionRecord | None, RegisteredModelRecord]:
        """The version ``alias`` names (None when the model has no such alias), and the model."""
        model = self.get_model(workspace, name)
        if not isinstance(alias, str) or alias not in model.aliases:
            return None, model
        return self.get_version(workspace, model.name, model.aliases[alias]), model

    def delete_alias(self, workspace: WorkspaceRecord, name: Any, alias: Any) -> None:
        """Deleting an alias that is already gone succeeds, as in MLflow (the client retries DELETEs)."""
        model = self.get_model(workspace, name)
        self.store.registry.delete_alias(workspace.id, model.name, str(alias))


MODEL_ORDER = ("name", "timestamp", "last_updated_timestamp", "creation_timestamp")
VERSION_ORDER = ("name", "version_number", "creation_timestamp", "last_updated_timestamp")
MAX_MODEL_SEARCH = 1000
MAX_VERSION_SEARCH = 200_000


def _order(order_by: Any, allowed: tuple[str, ...]) -> list[tuple[str, bool]]:
    parsed = []
    for clause in order_by or []:
        parts = str(clause).split()
        column = parts[0].removeprefix("attributes.").removeprefix("attribute.") if parts else ""
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if column not in allowed or direction not in ("ASC", "DESC") or len(parts) > 2:
            raise invalid(
                f"invalid order_by {clause!r}: use one of {', '.join(allowed)} with ASC or DESC", "order_by"
            )
        parsed.append((column, direction == "ASC"))
    return parsed


def _limit(value: Any, default: int, maximum: int) -> int:
    limit = default if value in (None, "") else _version(value) if str(value).isdigit() else -1
    if not 1 <= limit <= maximum:
        raise invalid(f"max_results must be between 1 and {maximum}", "max_results")
    return limit


class RegistryQueries:
    """Search, update, rename, delete and tags of registered models and versions."""

    def __init__(self, store: MetadataStore, registry: RegistryService) -> None:
        self.store = store
        self.registry = registry

    def search_models(
        self,
        workspace: WorkspaceRecord,
        *,
        filter_string: Any,
        max_results: Any,
        order_by: Any,
        page_token: Any,
    ) -> tuple[list[RegisteredModelRecord], str | None]:
        limit = _limit(max_results, 100, MAX_MODEL_SEARCH)
        offset = decode_offset(page_token)
        records = self.store.registry.search_models(
            workspace.id,
            clauses=parse_filter(filter_string),
            order_by=_order(order_by, MODEL_ORDER),
            limit=limit + 1,
            offset=offset,
        )
        return records[:limit], encode_offset(offset + limit) if len(records) > limit else None

    def search_versions(
        self,
        workspace: WorkspaceRecord,
        *,
        filter_string: Any,
        max_results: Any,
        order_by: Any,
        page_token: Any,
    ) -> tuple[list[ModelVersionRecord], str | None]:
        limit = _limit(max_results, 10_000, MAX_VERSION_SEARCH)
        offset = decode_offset(page_token)
        records = self.store.registry.search_versions(
            workspace.id,
            clauses=parse_filter(filter_string),
            order_by=_order(order_by, VERSION_ORDER),
            limit=limit + 1,
            offset=offset,
        )
        return records[:limit], encode_offset(offset + limit) if len(records) > limit else None

    def latest_versions(self, workspace: WorkspaceRecord, name: Any) -> list[ModelVersionRecord]:
        """Stratus has no stages (deprecated in MLflow): the latest version stands for stage "None"."""
        model = self.registry.get_model(workspace, name)
        if model.latest_version is None:
            return []
        return [self.registry.get_version(workspace, model.name, model.latest_version)]

    def update_model(self, workspace: WorkspaceRecord, name: Any, description: Any) -> RegisteredModelRecord:
        return self.store.registry.update_model(
            workspace.id, _name(name), description=None if description is None else str(description)
        )

    def rename_model(self, workspace: WorkspaceRecord, name: Any, new_name: Any) -> RegisteredModelRecord:
        return self.store.registry.update_model(workspace.id, _name(name), new_name=_name(new_name))

    def delete_model(self, workspace: WorkspaceRecord, name: Any) -> None:
        self.store.registry.delete_model(workspace.id, _name(name))

    def set_tag(
        self, workspace: WorkspaceRecord, name: Any, key: Any, value: Any, version: Any = None
    ) -> None:
        tags = _tags([{"key": key, "value": value}])
        number = None if version is None else _version(version)
        for tag_key, tag_value in tags.items():
            self.store.registry.set_tag(workspace.id, _name(name), tag_key, tag_value, version=number)

    def delete_tag(self, workspace: WorkspaceRecord, name: Any, key: Any, version: Any = None) -> None:
        """A tag that is already gone is no error (as in MLflow); a missing model or version is."""
        model = self.registry.get_model(workspace, name)
        number = (
            None if version is None else self.registry.get_version(workspace, model.name, version).version
        )
        self.store.registry.delete_tag(workspace.id, model.name, check_key(key, "tag"), version=number)

    def update_version(
        self, workspace: WorkspaceRecord, name: Any, version: Any, description: Any
    ) -> ModelVersionRecord:
        return self.store.registry.update_version(
            workspace.id,
            _name(name),
            _version(version),
            description=None if description is None else str(description),
        )

    def delete_version(self, workspace: WorkspaceRecord, name: Any, version: Any) -> None:
        self.store.registry.delete_version(workspace.id, _name(name), _version(version))
