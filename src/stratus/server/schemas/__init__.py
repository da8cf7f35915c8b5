"""Request and response bodies of the Stratus API. Requests forbid unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from stratus.entities import AccessToken, AuditEvent, RoleAssignment, User, Workspace

T = TypeVar("T")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListResponse(BaseModel, Generic[T]):
    value: list[T]
    next_link: str | None = None


class WorkspaceCreate(Request):
    name: str = Field(min_length=1, max_length=64)
    display_name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=4096)
    tags: dict[str, str] = Field(default_factory=dict)


class WorkspaceUpdate(Request):
    display_name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=4096)
    tags: dict[str, str] | None = None


class WorkspaceDeletion(BaseModel):
    workspace: str
    deleted: bool
    role_assignments: int
    tokens: int
    artifact_objects: int
    artifact_bytes: int
    artifact_uri: str


class UserCreate(Request):
    name: str = Field(min_length=1, max_length=64)
    display_name: str | None = Field(default=None, max_length=256)
    is_server_admin: bool = False


class TokenCreate(Request):
    user: str | None = Field(default=None, max_length=64, description="Defaults to the caller")
    workspace: str | None = Field(
        default=None, max_length=64, description="Scope; none means every workspace"
    )
    name: str | None = Field(default=None, max_length=256)
    expires_in: str | None = Field(
        default=None, max_length=32, description="e.g. 30d, 12h, 1w; 'never'; default 90d"
    )


class RoleAssignmentCreate(Request):
    user: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=64, description="Owner, Contributor, Data Scientist, ...")


class VersionInfo(BaseModel):
    version: str
    api_version: str = "v1"


class Session(BaseModel):
    csrf_token: str
    expires_at: str | None


__all__ = [
    "AccessToken",
    "AuditEvent",
    "ListResponse",
    "RoleAssignment",
    "RoleAssignmentCreate",
    "Session",
    "TokenCreate",
    "User",
    "UserCreate",
    "VersionInfo",
    "Workspace",
    "WorkspaceCreate",
    "WorkspaceDeletion",
    "WorkspaceUpdate",
]


class ModelCreate(Request):
    """An Azure ML ``model`` YAML as JSON (``name`` comes from the URL)."""

    path: str = Field(
        min_length=1,
        max_length=4096,
        description="Where the files are: mlflow-artifacts:/<path> (the SDK uploads local files there), "
        "runs:/<run-id>/<path>, models:/<logged-model-id> or azureml://jobs/<job>/outputs/artifacts/paths/<path>",
    )
    version: str | None = Field(default=None, max_length=10, description="Only the next integer; default: it")
    type: str = Field(default="custom_model", description="mlflow_model or custom_model")
    description: str | None = Field(default=None, max_length=5000)
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    stage: str | None = Field(default=None, max_length=64)


class GarbageCollection(Request):
    older_than: str | None = Field(
        default=None, max_length=32, description="Only what was deleted this long ago, e.g. 30d; default: all"
    )
    dry_run: bool = False
    uploads_older_than: str | None = Field(
        default=None,
        max_length=32,
        description="Sweep what killed uploads left this long ago, e.g. 1h; default 1d (uploads still "
        "under way are younger; a shorter age may remove theirs)",
    )


class UploadLeftovers(BaseModel):
    multipart_uploads: int = Field(description="Stale multipart uploads, with their parts in the store")
    interrupted_writes: int = Field(
        description="Writes that never finished: temporary files, S3 multipart uploads of streamed writes"
    )


class GarbageReport(BaseModel):
    workspace: str
    dry_run: bool
    runs: list[str]
    experiments: list[str]
    kept: list[dict[str, str]]
    artifact_objects: int
    upload_leftovers: UploadLeftovers


class SecretValue(Request):
    value: str = Field(max_length=25 * 1024, description="The secret's value; it is never returned")


class AssetUpdate(Request):
    description: str | None = Field(default=None, max_length=5000)
    tags: dict[str, str] | None = None


class LineageLink(BaseModel):
    job_name: str
    direction: str
    at: datetime


class Lineage(BaseModel):
    value: list[LineageLink]


class DataFile(BaseModel):
    path: str
    size: int


class DataFileList(BaseModel):
    value: list[DataFile]


class EnvironmentFromModel(Request):
    model: str = Field(
        min_length=1,
        max_length=600,
        description="The model: azureml:<name>:<version> or azureml:<name>@<alias|latest>",
    )
    version: str | None = Field(default=None, max_length=64, description="Default: the next integer")
