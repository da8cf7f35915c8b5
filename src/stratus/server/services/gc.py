"""``stratus gc``: purge soft-deleted runs and experiments, with their artifacts, for good, and sweep
what killed uploads left in the workspace's artifact store.

Unlike ``mlflow gc``, files that a registered model version still points at are never removed: a run
or experiment holding them is kept and reported, so the registry never loses a model's files.

Upload leftovers older than ``uploads_older_than`` (default: a day, the multipart upload lifetime)
go: multipart uploads' staging folders, with the store's own upload behind them (an S3 multipart
upload), and writes that never finished (temporary files of the local store, S3 multipart uploads
of streamed writes). Uncommitted Azure blocks cannot be deleted; Azure drops them after 7 days.
"""

from __future__ import annotations

from datetime import timedelta

from stratus.errors import InvalidInputError
from stratus.server.services.artifacts import ArtifactService
from stratus.server.services.experiments import ARTIFACTS_SCHEME
from stratus.server.services.multipart import UPLOAD_TTL_SECONDS, sweep_uploads
from stratus.server.services.users import parse_duration
from stratus.store.access import WorkspaceRecord
from stratus.store.metadata import MetadataStore
from stratus.store.tracking import ExperimentRecord
from stratus.tracking import now_ms


def _prefix(uri: str) -> str | None:
    """The artifact-store prefix of an ``mlflow-artifacts:`` URI, else None (nothing Stratus holds)."""
    if not uri.startswith(ARTIFACTS_SCHEME):
        return None
    return uri.removeprefix(ARTIFACTS_SCHEME).strip("/")


class GarbageCollector:
    def __init__(self, store: MetadataStore, artifacts: ArtifactService) -> None:
        self.store = store
        self.artifacts = artifacts

    def collect(
        self,
        workspace: WorkspaceRecord,
        *,
        older_than: str | None,
        dry_run: bool,
        uploads_older_than: str | None = None,
    ) -> dict[str, object]:
        age = _age(older_than, "older_than") if older_than else timedelta(0)
        uploads_age = (
            _age(uploads_older_than, "uploads_older_than")
            if uploads_older_than
            else timedelta(seconds=UPLOAD_TTL_SECONDS)
        )
        cutoff = now_ms() - int(age.total_seconds() * 1000)
        protected = [p for p in map(_prefix, self.store.registry.storage_locations(workspace.id)) if p]

        def holds_model_files(prefix: str | None) -> bool:
            return prefix is not None and any(p == prefix or p.startswith(prefix + "/") for p in protected)

        kept: list[dict[str, str]] = []
        runs = []
        for run in self.store.runs.deleted(workspace.id, deleted_before=cutoff):
            if holds_model_files(_prefix(run.artifact_uri)):
                kept.append({"run_id": run.run_id, "reason": "a registered model version uses its files"})
            else:
                runs.append(run)
        experiments = []
        for experiment in self._deleted_experiments(workspace, cutoff):
            if holds_model_files(_prefix(experiment.artifact_location)):
                kept.append(
                    {
                        "experiment_id": str(experiment.experiment_id),
                        "reason": "a registered model version uses files under it",
                    }
                )
            else:
                experiments.append(experiment)
        report: dict[str, object] = {
            "workspace": workspace.name,
            "dry_run": dry_run,
            "runs": sorted(r.run_id for r in runs),
            "experiments": sorted(str(e.experiment_id) for e in experiments),
            "kept": kept,
            "artifact_objects": 0,
            "upload_leftovers": self._sweep_uploads(
                workspace, now_ms() / 1000 - uploads_age.total_seconds(), dry_run=dry_run
            ),
        }
        if dry_run:
            return report
        removed_objects = 0
        for run in runs:
            prefix = _prefix(run.artifact_uri)
            if prefix:  # files first: a crash leaves a deleted run without files, never orphan files
                removed_objects += self.artifacts.delete_tree(workspace, prefix)
        self.store.runs.purge(workspace.id, [r.run_id for r in runs])
        for experiment in experiments:
            prefix = _prefix(experiment.artifact_location)
            if prefix:
                removed_objects += self.artifacts.delete_tree(workspace, prefix)
            self.store.experiments.purge(workspace.id, experiment.experiment_id)
        report["artifact_objects"] = removed_objects
        return report

    def _sweep_uploads(self, workspace: WorkspaceRecord, before: float, *, dry_run: bool) -> dict[str, int]:
        objects = self.artifacts.objects(workspace)
        uploads = sweep_uploads(objects, before=before, dry_run=dry_run, collect_states=True)
        # Native uploads behind staging folders are the upload sweep's: live ones must stay, stale ones
        # it removed (or, in a dry run, counted) already.
        interrupted = objects.sweep_interrupted_writes(before, dry_run=dry_run, keep=uploads.states)
        return {"multipart_uploads": uploads.swept, "interrupted_writes": interrupted}

    def _deleted_experiments(self, workspace: WorkspaceRecord, cutoff: int) -> list[ExperimentRecord]:
        found: list[ExperimentRecord] = []
        offset = 0
        while True:
            page = self.store.experiments.search(
                workspace.id, stages=["deleted"], clauses=[], order_by=[], limit=500, offset=offset
            )
            found += [e for e in page if e.last_update_time < cutoff]
            if len(page) < 500:
                return found
            offset += 500


def _age(text: str, field: str) -> timedelta:
    age = parse_duration(text, field)
    if age is None:
        raise InvalidInputError(f"{field} must be a duration such as 30d, not never", field=field)
    return age
