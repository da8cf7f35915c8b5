"""MLflow experiments of a workspace: the use cases behind /api/2.0/mlflow/experiments/*."""

from __future__ import annotations

import base64
import json

from stratus.artifacts import UnsafePathError, canonicalize
from stratus.errors import BadRequestError, NotFoundError
from stratus.store.access import WorkspaceRecord
from stratus.store.metadata import MetadataStore
from stratus.store.tracking import ExperimentRecord
from stratus.tracking.search import parse_filter

DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"
ARTIFACTS_SCHEME = "mlflow-artifacts:"
DEFAULT_LOCATION = ARTIFACTS_SCHEME + "/{experiment_id}"
MAX_NAME_LENGTH = 500
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 5000
MAX_SEARCH_RESULTS = 50_000
ORDERABLE = ("name", "experiment_id", "creation_time", "last_update_time")
VIEW_TYPES = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": ("active", "deleted"),
}


def invalid(message: str, field: str) -> BadRequestError:
    return BadRequestError(message, field=field, code="INVALID_PARAMETER_VALUE")


def parse_experiment_id(value: str | int | None, field: str = "experiment_id") -> int:
    if value is None or value == "":
        raise invalid(f"missing value for required parameter '{field}'", field)
    try:
        parsed = int(value)
    except (TypeError, ValueError):
        raise invalid(f"{field} must be an integer id, not {value!r}", field) from None
    if not 0 <= parsed < 2**63:
        raise invalid(f"{field} must be a non-negative 64-bit integer", field)
    return parsed


def _check_name(name: str | None, field: str = "name") -> str:
    if name is None or not name.strip():
        raise invalid(f"missing value for required parameter '{field}': an experiment needs a name", field)
    if len(name) > MAX_NAME_LENGTH:
        raise invalid(f"{field} is longer than {MAX_NAME_LENGTH} characters", field)
    return name


def check_tag(key: str | None, value: str | None) -> tuple[str, str]:
    if not key:
        raise invalid("missing value for required parameter 'key'", "key")
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise invalid(f"tag key is longer than {MAX_TAG_KEY_LENGTH} characters", "key")
    if value is None:
        raise invalid("missing value for required parameter 'value'", "value")
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise invalid(f"tag value is longer than {MAX_TAG_VALUE_LENGTH} characters", "value")
    return key, value


def _check_location(location: str | None) -> str | None:
    """Experiments store artifacts only inside this workspace's artifact store, named by
    ``mlflow-artifacts:/<path>``; local paths and other schemes are refused (no file inclusion, no SSRF)."""
    if location is None or location == "":
        return None
    if not location.startswith(ARTIFACTS_SCHEME):
        raise invalid(
            "artifact_location must be an 'mlflow-artifacts:/<path>' URI inside this workspace; "
            "leave it out to get the default",
            "artifact_location",
        )
    path = location[len(ARTIFACTS_SCHEME) :].lstrip("/")
    try:
        return ARTIFACTS_SCHEME + "/" + canonicalize(path)
    except UnsafePathError as exc:
        raise invalid(f"artifact_location: {exc}", "artifact_location") from None


def _parse_order_by(order_by: list[str] | None) -> list[tuple[str, bool]]:
    if not order_by:
        return [("creation_time", False)]
    parsed = []
    for clause in order_by:
        parts = clause.strip().split()
        column = parts[0].removeprefix("attributes.").removeprefix("attribute.") if parts else ""
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if column not in ORDERABLE or len(parts) > 2 or direction not in ("ASC", "DESC"):
            raise invalid(
                f"invalid order_by clause {clause!r}: use one of {', '.join(ORDERABLE)} with ASC or DESC",
                "order_by",
            )
        parsed.append((column, direction == "ASC"))
    return parsed


def decode_offset(page_token: str | None) -> int:
    """MLflow page tokens here are opaque offsets; only ones we handed out are accepted."""
    if not page_token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4)))["offset"]
    except (ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise invalid("invalid page_token; pass the next_page_token you were given", "page_token")
    return offset


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


class ExperimentService:
    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def ensure_default(self, workspace: WorkspaceRecord) -> ExperimentRecord:
        existing = self.store.experiments.get(workspace.id, DEFAULT_EXPERIMENT_ID)
        if existing is not None:
            return existing
        return self.store.experiments.create(
            workspace.id,
            DEFAULT_EXPERIMENT_NAME,
            artifact_location=None,
            default_location=DEFAULT_LOCATION,
            experiment_id=DEFAULT_EXPERIMENT_ID,
        )

    def create(
        self,
        workspace: WorkspaceRecord,
        name: str | None,
        *,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> ExperimentRecord:
        checked_tags = dict(check_tag(k, v) for k, v in (tags or {}).items())
        return self.store.experiments.create(
            workspace.id,
            _check_name(name),
            artifact_location=_check_location(artifact_location),
            default_location=DEFAULT_LOCATION,
            tags=checked_tags,
        )

    def get(self, workspace: WorkspaceRecord, experiment_id: str | int | None) -> ExperimentRecord:
        parsed = parse_experiment_id(experiment_id)
        record = self.store.experiments.get(workspace.id, parsed)
        if record is None:
            raise NotFoundError(
                f"no experiment with id {parsed} in workspace {workspace.name!r}",
                field="experiment_id",
                code="RESOURCE_DOES_NOT_EXIST",
            )
        return record

    def get_by_name(self, workspace: WorkspaceRecord, name: str | None) -> ExperimentRecord:
        record = self.store.experiments.get_by_name(workspace.id, _check_name(name, "experiment_name"))
        if record is None:
            raise NotFoundError(
                f"no experiment named {name!r} in workspace {workspace.name!r}",
                field="experiment_name",
                code="RESOURCE_DOES_NOT_EXIST",
            )
        return record

    def search(
        self,
        workspace: WorkspaceRecord,
        *,
        view_type: str | None = None,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[ExperimentRecord], str | None]:
        stages = VIEW_TYPES.get((view_type or "ACTIVE_ONLY").upper())
        if stages is None:
            raise invalid(f"view_type must be one of {', '.join(VIEW_TYPES)}", "view_type")
        limit = 1000 if max_results is None else max_results
        if not 1 <= limit <= MAX_SEARCH_RESULTS:
            raise invalid(f"max_results must be between 1 and {MAX_SEARCH_RESULTS}", "max_results")
        offset = decode_offset(page_token)
        records = self.store.experiments.search(
            workspace.id,
            stages=stages,
            clauses=parse_filter(filter_string),
            order_by=_parse_order_by(order_by),
            limit=limit + 1,
            offset=offset,
        )
        more = len(records) > limit
        return records[:limit], encode_offset(offset + limit) if more else None

    def rename(
        self, workspace: WorkspaceRecord, experiment_id: str | int | None, new_name: str | None
    ) -> None:
        record = self.get(workspace, experiment_id)
        if record.lifecycle_stage != "active":
            raise invalid("cannot rename a deleted experiment: restore it first", "experiment_id")
        self.store.experiments.update(
            workspace.id, record.experiment_id, name=_check_name(new_name, "new_name")
        )

    def delete(self, workspace: WorkspaceRecord, experiment_id: str | int | None) -> None:
        record = self.get(workspace, experiment_id)
        if record.experiment_id == DEFAULT_EXPERIMENT_ID:
            raise invalid("the Default experiment (id 0) cannot be deleted", "experiment_id")
        self.store.experiments.update(workspace.id, record.experiment_id, lifecycle_stage="deleted")

    def restore(self, workspace: WorkspaceRecord, experiment_id: str | int | None) -> None:
        record = self.get(workspace, experiment_id)
        self.store.experiments.update(workspace.id, record.experiment_id, lifecycle_stage="active")

    def set_tag(
        self, workspace: WorkspaceRecord, experiment_id: str | int | None, key: str | None, value: str | None
    ) -> None:
        record = self.get(workspace, experiment_id)
        if record.lifecycle_stage != "active":
            raise invalid("cannot tag a deleted experiment: restore it first", "experiment_id")
        self.store.experiments.set_tag(workspace.id, record.experiment_id, *check_tag(key, value))

    def delete_tag(
        self, workspace: WorkspaceRecord, experiment_id: str | int | None, key: str | None
    ) -> None:
        record = self.get(workspace, experiment_id)
        if not key:
            raise invalid("missing value for required parameter 'key'", "key")
        if not self.store.experiments.delete_tag(workspace.id, record.experiment_id, key):
            raise NotFoundError(
                f"experiment {record.experiment_id} has no tag {key!r}",
                field="key",
                code="RESOURCE_DOES_NOT_EXIST",
            )
