"""Experiments, jobs and models as the Stratus API shows them: the MLflow entities in Azure ML's shape.

An MLflow run is a job whose ``name`` is the run id; a registered model version is a model asset whose
``version`` is MLflow's integer. Both sides read and write the same rows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stratus.entities._base import CreationContext, Entity

# MLflow run status -> Azure ML job status.
JOB_STATUS = {
    "SCHEDULED": "Queued",
    "RUNNING": "Running",
    "FINISHED": "Completed",
    "FAILED": "Failed",
    "KILLED": "Canceled",
}
ModelType = Literal["mlflow_model", "custom_model"]


class Experiment(Entity):
    name: str
    experiment_id: str
    artifact_location: str | None = None
    lifecycle_stage: str = "active"
    tags: dict[str, str] = Field(default_factory=dict)
    creation_context: CreationContext | None = None


class Job(Entity):
    """A job; for now every job is an MLflow run (``type: mlflow_run``); job submission comes later."""

    name: str
    display_name: str | None = None
    type: str = "mlflow_run"
    experiment_name: str | None = None
    experiment_id: str | None = None
    status: str | None = None
    start_time: int | None = None  # epoch milliseconds, as MLflow reports them
    end_time: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float | str] = Field(default_factory=dict)  # latest value of each metric
    artifact_uri: str | None = None
    lifecycle_stage: str = "active"
    creation_context: CreationContext | None = None


class Model(Entity):
    """A model asset (Azure ML ``model`` YAML), stored as an MLflow model version."""

    name: str
    version: str | None = None
    type: ModelType = "custom_model"
    path: str | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    stage: str | None = None
    job_name: str | None = None
    aliases: list[str] = Field(default_factory=list)
    is_archived: bool = False
    creation_context: CreationContext | None = None
