"""Jobs and experiments as the Stratus API shows them: MLflow runs and experiments in Azure ML's shape."""

from __future__ import annotations

from datetime import datetime

from stratus.entities import CreationContext, Experiment, Job
from stratus.entities.tracking import JOB_STATUS
from stratus.server.services.experiments import ExperimentService, invalid
from stratus.server.services.runs import RunService, json_number
from stratus.store.access import WorkspaceRecord
from stratus.store.paging import Page
from stratus.store.tracking import ExperimentRecord, RunRecord
from stratus.tracking import every_page, from_ms

# Azure ML job status -> MLflow run status, for --status filters.
RUN_STATUS = {job: run for run, job in JOB_STATUS.items()}


def _time(epoch_ms: int | None) -> datetime | None:
    return None if epoch_ms is None else from_ms(epoch_ms)


def experiment_entity(record: ExperimentRecord) -> Experiment:
    return Experiment(
        name=record.name,
        experiment_id=str(record.experiment_id),
        artifact_location=record.artifact_location,
        lifecycle_stage=record.lifecycle_stage,
        tags=record.tags,
        creation_context=CreationContext(
            created_at=_time(record.creation_time), last_modified_at=_time(record.last_update_time)
        ),
    )


def job_entity(record: RunRecord, experiment_name: str | None) -> Job:
    return Job(
        name=record.run_id,
        display_name=record.name,
        experiment_name=experiment_name,
        experiment_id=str(record.experiment_id),
        status=JOB_STATUS.get(record.status, record.status),
        start_time=record.start_time,
        end_time=record.end_time,
        tags=record.tags,
        params=record.params,
        metrics={key: json_number(point.value) for key, point in record.metrics.items()},
        artifact_uri=record.artifact_uri,
        lifecycle_stage=record.lifecycle_stage,
        creation_context=CreationContext(created_at=_time(record.start_time), created_by=record.user_id),
    )


class JobService:
    def __init__(self, experiments: ExperimentService, runs: RunService) -> None:
        self.experiments = experiments
        self.runs = runs

    def list_experiments(
        self, workspace: WorkspaceRecord, *, include_deleted: bool, limit: int, page_token: str | None
    ) -> Page[Experiment]:
        records, next_token = self.experiments.search(
            workspace,
            view_type="ALL" if include_deleted else "ACTIVE_ONLY",
            max_results=limit,
            order_by=["name ASC"],
            page_token=page_token,
        )
        return Page([experiment_entity(r) for r in records], next_token)

    def get_experiment(self, workspace: WorkspaceRecord, name: str) -> Experiment:
        return experiment_entity(self.experiments.get_by_name(workspace, name))

    def list_jobs(
        self,
        workspace: WorkspaceRecord,
        *,
        experiment_name: str | None,
        status: str | None,
        include_deleted: bool,
        limit: int,
        page_token: str | None,
    ) -> Page[Job]:
        if experiment_name is not None:
            experiments = [self.experiments.get_by_name(workspace, experiment_name)]
        else:
            experiments = self._all_experiments(workspace, include_deleted)
        names = {e.experiment_id: e.name for e in experiments}
        filter_string = None
        if status is not None:
            run_status = RUN_STATUS.get(status) or (status.upper() if status.upper() in JOB_STATUS else None)
            if run_status is None:
                raise invalid(f"status must be one of {', '.join(RUN_STATUS)}", "status")
            filter_string = f"attributes.status = '{run_status}'"
        if not names:
            return Page([])
        records, next_token = self.runs.search(
            workspace,
            experiment_ids=list(names),
            filter_string=filter_string,
            run_view_type="ALL" if include_deleted else "ACTIVE_ONLY",
            max_results=limit,
            order_by=None,
            page_token=page_token,
        )
        return Page([job_entity(r, names.get(r.experiment_id)) for r in records], next_token)

    def get_job(self, workspace: WorkspaceRecord, name: str) -> Job:
        record = self.runs.get(workspace, name)
        experiment = self.experiments.get(workspace, record.experiment_id)
        return job_entity(record, experiment.name)

    def _all_experiments(self, workspace: WorkspaceRecord, include_deleted: bool) -> list[ExperimentRecord]:
        view = "ALL" if include_deleted else "ACTIVE_ONLY"
        return every_page(lambda token: self.experiments.search(workspace, view_type=view, page_token=token))
