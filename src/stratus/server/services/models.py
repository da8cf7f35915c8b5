"""Model assets (Azure ML ``model`` YAML) over the MLflow model registry: one registry, two shapes.

A model asset version is an MLflow model version: ``version`` is MLflow's integer, ``path`` its
source, and what MLflow has no field for (``type``, ``stage``, ``properties``, archiving) travels in
``stratus.*`` version tags, so MLflow clients see it too.
"""

from __future__ import annotations

import contextlib
import re

from stratus.entities import CreationContext, Model
from stratus.errors import ConflictError, NotFoundError
from stratus.server.services.experiments import invalid
from stratus.server.services.registry import RegistryQueries, RegistryService
from stratus.store.access import WorkspaceRecord
from stratus.store.paging import Page
from stratus.store.registry import ModelVersionRecord, RegisteredModelRecord
from stratus.tracking import every_page, from_ms

TYPE_TAG = "stratus.type"
STAGE_TAG = "stratus.stage"
ARCHIVED_TAG = "stratus.archived"
PROPERTY_PREFIX = "stratus.property."
MODEL_TYPES = ("mlflow_model", "custom_model")
# Azure ML names a job's output folder azureml://jobs/<job>/outputs/artifacts/paths/<path>.
_JOB_OUTPUT = re.compile(r"^azureml://jobs/(?P<job>[0-9a-f]{32})/outputs/artifacts/paths/(?P<path>.+)$")


def model_entity(record: ModelVersionRecord) -> Model:
    tags = {k: v for k, v in record.tags.items() if not k.startswith("stratus.")}
    properties = {
        k.removeprefix(PROPERTY_PREFIX): v for k, v in record.tags.items() if k.startswith(PROPERTY_PREFIX)
    }
    model_type = record.tags.get(TYPE_TAG)
    if model_type not in MODEL_TYPES:
        # Versions registered through MLflow point at MLflow models (logged models or run folders).
        model_type = "mlflow_model"
    return Model(
        name=record.name,
        version=str(record.version),
        type=model_type,
        path=record.storage_location,
        description=record.description,
        tags=tags,
        properties=properties,
        stage=record.tags.get(STAGE_TAG),
        job_name=record.run_id,
        aliases=sorted(record.aliases),
        is_archived=record.tags.get(ARCHIVED_TAG) == "true",
        creation_context=CreationContext(
            created_at=from_ms(record.creation_timestamp),
            created_by=record.user_id,
            last_modified_at=from_ms(record.last_updated_timestamp),
        ),
    )


class ModelAssetService:
    def __init__(self, registry: RegistryService, queries: RegistryQueries) -> None:
        self.registry = registry
        self.queries = queries

    def create(
        self,
        workspace: WorkspaceRecord,
        name: str,
        *,
        path: str,
        version: str | None,
        model_type: str,
        description: str | None,
        tags: dict[str, str],
        properties: dict[str, str],
        stage: str | None,
        user_id: str | None,
    ) -> Model:
        if model_type not in MODEL_TYPES:
            raise invalid(f"type must be one of {', '.join(MODEL_TYPES)}, not {model_type!r}", "type")
        if any(key.startswith("stratus.") for key in tags):
            raise invalid("tags starting with 'stratus.' are reserved", "tags")
        source = path
        match = _JOB_OUTPUT.match(path)
        if match:
            source = f"runs:/{match['job']}/{match['path']}"
        self._ensure_registered(workspace, name)
        if version is not None:
            self._check_next(workspace, name, version)
        version_tags = {**tags, TYPE_TAG: model_type}
        version_tags.update({PROPERTY_PREFIX + k: v for k, v in properties.items()})
        if stage:
            version_tags[STAGE_TAG] = stage
        record = self.registry.create_version(
            workspace,
            name,
            source=source,
            description=description,
            tags=[{"key": k, "value": v} for k, v in version_tags.items()],
            user_id=user_id,
            source_field="path",  # MLflow's source is a model asset's path
        )
        return model_entity(record)

    def _ensure_registered(self, workspace: WorkspaceRecord, name: str) -> None:
        with contextlib.suppress(ConflictError):  # versions of an existing model
            self.registry.create_model(workspace, name)

    def _check_next(self, workspace: WorkspaceRecord, name: str, version: str) -> None:
        """Versions are MLflow's integers, given in order; a version asked for must be the next one."""
        if not version.isdigit():
            raise invalid(f"version must be an integer (MLflow numbers versions), not {version!r}", "version")
        latest = self.registry.get_model(workspace, name).latest_version or 0
        if int(version) <= latest:
            raise ConflictError(
                f"model {name!r} already has version {version}; omit 'version' to get {latest + 1}",
                field="version",
                code="RESOURCE_ALREADY_EXISTS",
            )
        if int(version) != latest + 1:
            raise invalid(
                f"model {name!r} is at version {latest}: the next version is {latest + 1}; omit 'version' "
                "to number it automatically",
                "version",
            )

    def get(self, workspace: WorkspaceRecord, name: str, version: str | None, label: str | None) -> Model:
        return model_entity(self._version(workspace, name, version, label))

    def _version(
        self, workspace: WorkspaceRecord, name: str, version: str | None, label: str | None
    ) -> ModelVersionRecord:
        if (version is None) == (label is None):
            raise invalid("give either version or label (e.g. label=latest)", "version")
        if version is not None:
            if not version.isdigit():
                raise invalid(f"version must be an integer, not {version!r}", "version")
            return self.registry.get_version(workspace, name, int(version))
        if label == "latest":
            versions = self._versions(workspace, name, include_archived=False)
            if not versions:
                raise invalid(f"model {name!r} has no version that is not archived", "label")
            return versions[0]
        found, model = self.registry.find_by_alias(workspace, name, label)
        if found is None:
            known = ", ".join(sorted(model.aliases)) or "none"
            raise NotFoundError(
                f"model {model.name!r} has no alias {label!r} (its aliases: {known}; or use label=latest)",
                field="label",
            )
        return found

    def _versions(
        self, workspace: WorkspaceRecord, name: str, *, include_archived: bool
    ) -> list[ModelVersionRecord]:
        model = self.registry.get_model(workspace, name)
        escaped = model.name.replace("'", "\\'")
        versions = every_page(
            lambda token: self.queries.search_versions(
                workspace,
                filter_string=f"name = '{escaped}'",
                max_results=None,
                order_by=["version_number DESC"],
                page_token=token,
            )
        )
        return [v for v in versions if include_archived or v.tags.get(ARCHIVED_TAG) != "true"]

    def list_models(
        self,
        workspace: WorkspaceRecord,
        *,
        name: str | None,
        include_archived: bool,
        limit: int,
        page_token: str | None,
    ) -> Page[Model]:
        """Every version of ``name`` (newest first), or else the newest version of each model."""
        if name is not None:
            versions = self._versions(workspace, name, include_archived=include_archived)
            return Page([model_entity(v) for v in versions])
        models, next_token = self.queries.search_models(
            workspace, filter_string=None, max_results=limit, order_by=["name ASC"], page_token=page_token
        )
        return Page(self._newest(workspace, models, include_archived), next_token)

    def _newest(
        self, workspace: WorkspaceRecord, models: list[RegisteredModelRecord], include_archived: bool
    ) -> list[Model]:
        newest = []
        for model in models:
            versions = self._versions(workspace, model.name, include_archived=include_archived)
            if versions:
                newest.append(model_entity(versions[0]))
        return newest

    def set_archived(self, workspace: WorkspaceRecord, name: str, version: str, archived: bool) -> Model:
        record = self._version(workspace, name, version, None)
        if archived:
            self.queries.set_tag(workspace, record.name, ARCHIVED_TAG, "true", version=record.version)
        elif record.tags.get(ARCHIVED_TAG) == "true":
            self.queries.delete_tag(workspace, record.name, ARCHIVED_TAG, version=record.version)
        return model_entity(self.registry.get_version(workspace, record.name, record.version))
