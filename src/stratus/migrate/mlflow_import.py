"""Copy an MLflow tracking server's experiments, runs, logged models and registry into a Stratus workspace.

Both sides go through the stock ``mlflow`` client: one ``MlflowClient`` reads the source, a second one
writes to the workspace's tracking URI, so the Stratus server never fetches anything itself. The target
makes new ids; the source's ids travel in ``stratus.import.*`` tags, which also make a rerun resume:
runs and logged models tagged complete are skipped, and one that a killed attempt left incomplete is
reused and finished (every write is idempotent there: a param with the same value, metric points keyed
by their values, tags and artifact files overwrite). Registered model versions are matched by their
``stratus.import.source_version`` tag, which is set in the same call that creates the version.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ParamSpec, TypeVar

from stratus.errors import StratusError
from stratus.migrate.mlflow_plan import (
    PARENT_RUN_TAG,
    TAG_PREFIX,
    chunks,
    copied_run_tags,
    filter_quote,
    logged_model_name,
    parents_first,
    remap_version_source,
)

try:
    from mlflow import MlflowClient
    from mlflow.entities import (
        DatasetInput,
        Experiment,
        LoggedModel,
        LoggedModelInput,
        LoggedModelOutput,
        LoggedModelStatus,
        Metric,
        Param,
        Run,
        RunTag,
        ViewType,
    )
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repo import ArtifactRepository
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.store.entities.paged_list import PagedList
except ImportError as exc:  # pragma: no cover - mlflow is a dev dependency, optional at run time
    raise ImportError(
        "importing from MLflow needs the mlflow client: pip install 'stratus-ml[mlflow]'"
    ) from exc

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

SOURCE_URI_TAG = "stratus.import.source_uri"
SOURCE_EXPERIMENT_TAG = "stratus.import.source_experiment_id"
SOURCE_RUN_TAG = "stratus.import.source_run_id"
SOURCE_MODEL_TAG = "stratus.import.source_model_id"
SOURCE_VERSION_TAG = "stratus.import.source_version"
SOURCE_MODEL_VERSION_TAG = "stratus.import.source_model_version"
COMPLETE_TAG = "stratus.import.complete"

# MLflow's log-batch limits (mlflow/utils/validation.py), which Stratus enforces too.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
PAGE_SIZE = 1000
# Answers to an artifact upload that no retry changes (a path Stratus refuses, a file over its size
# limit): that file is reported and skipped rather than stopping the import for good.
REFUSED_FOR_GOOD = (400, 413)

USER_TAG = "mlflow.user"
MODEL_VERSIONS_TAG = "mlflow.modelVersions"
PROMPT_TAG = "mlflow.prompt.is_prompt"
TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")


class MlflowImportError(StratusError):
    """The import stopped; ``summary`` says what was copied before. Rerunning resumes."""

    def __init__(self, message: str, summary: ImportSummary, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code="MLFLOW_IMPORT_FAILED")
        self.summary = summary


@dataclass(frozen=True)
class MlflowAuth:
    """Credentials for one MLflow server, as the stock client's MLFLOW_TRACKING_* variables carry them."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    plugin: str | None = None  # MLFLOW_TRACKING_AUTH: the name of an installed auth provider

    @classmethod
    def from_environment(cls) -> MlflowAuth:
        return cls(
            token=os.environ.get("MLFLOW_TRACKING_TOKEN") or None,
            username=os.environ.get("MLFLOW_TRACKING_USERNAME") or None,
            password=os.environ.get("MLFLOW_TRACKING_PASSWORD") or None,
            plugin=os.environ.get("MLFLOW_TRACKING_AUTH") or None,
        )

    def variables(self) -> dict[str, str | None]:
        return {
            "MLFLOW_TRACKING_TOKEN": self.token,
            "MLFLOW_TRACKING_USERNAME": self.username,
            "MLFLOW_TRACKING_PASSWORD": self.password,
            "MLFLOW_TRACKING_AUTH": self.plugin,
        }


@dataclass
class ImportOptions:
    include_deleted: bool = False
    """Also copy deleted experiments and runs (they arrive deleted)."""
    source_auth: MlflowAuth | None = None
    """Credentials for the source; default: the MLFLOW_TRACKING_* variables of this process, never the
    target's token."""


@dataclass(frozen=True)
class ImportProgress:
    phase: str  # "runs" or "registered models"
    completed: int
    total: int
    description: str = ""


@dataclass
class ImportSummary:
    """What one call copied; ``*_skipped`` counts what an earlier call had copied completely."""

    source_uri: str
    target_uri: str
    experiments: int = 0
    experiments_created: int = 0
    runs: int = 0
    runs_resumed: int = 0
    runs_skipped: int = 0
    metric_points: int = 0
    params: int = 0
    tags: int = 0
    datasets: int = 0
    artifact_files: int = 0
    artifact_bytes: int = 0
    logged_models: int = 0
    logged_models_skipped: int = 0
    registered_models: int = 0
    registered_models_created: int = 0
    model_versions: int = 0
    model_versions_skipped: int = 0
    aliases: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressCallback = Callable[[ImportProgress], None]


# --- the two clients --------------------------------------------------------------------------------


class _Environment:
    """Variables set while inside, restored after. The stock client reads its credentials from the
    environment on every request, so each side's are put in place around each of its calls (the importer
    makes one call at a time)."""

    def __init__(self, values: Mapping[str, str | None]) -> None:
        self._values = values
        self._saved: list[dict[str, str | None]] = []

    def __enter__(self) -> None:
        self._saved.append({name: os.environ.get(name) for name in self._values})
        self._set(self._values)

    def __exit__(self, *_exc: object) -> None:
        self._set(self._saved.pop())

    @staticmethod
    def _set(values: Mapping[str, str | None]) -> None:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# For the first call, which tells whether a server answers at all: no retries, a short timeout.
_FAIL_FAST = _Environment({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"})


class _Side:
    def __init__(self, uri: str, auth: MlflowAuth) -> None:
        self.uri = uri
        # stdout belongs to the CLI: no "View run at" lines from the client
        self.credentials = _Environment(
            {**auth.variables(), "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
        )
        with self.credentials:
            self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        with self.credentials:
            return fn(*args, **kwargs)

    def repository(self, artifact_uri: str) -> ArtifactRepository:
        with self.credentials:
            return get_artifact_repository(artifact_uri, tracking_uri=self.uri, registry_uri=self.uri)

    def pages(self, search: Callable[..., PagedList[T]], *args: Any, **kwargs: Any) -> Iterator[T]:
        """Every item of a paged search of the stock client."""
        token: str | None = None
        while True:
            page = self.call(search, *args, max_results=PAGE_SIZE, page_token=token, **kwargs)
            yield from page
            token = page.token
            if not token:
                return


# --- the importer ---------------------------------------------------------------------------------


def import_mlflow(
    source_uri: str,
    target_uri: str,
    target_token: str | None,
    *,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Copy everything from the MLflow tracking server at ``source_uri`` into the Stratus workspace whose
    tracking URI is ``target_uri`` (``<server>/workspaces/<name>``), writing with ``target_token``.

    Raises ``StratusError`` when either side cannot be reached, and ``MlflowImportError`` (with the partial
    summary) when the copy stops half-way; running it again resumes. Not thread-safe: the stock client
    takes credentials from the process environment, which this swaps around each call.
    """
    options = options or ImportOptions()
    source_auth = options.source_auth or MlflowAuth.from_environment()
    source_hint = "check --from"
    if target_token and source_auth.token == target_token:  # never hand the Stratus token to the source
        source_auth = replace(source_auth, token=None)
        source_hint = (
            "check --from; MLFLOW_TRACKING_TOKEN holds your Stratus token, which is never sent to the "
            "source: if the source needs a token, set MLFLOW_TRACKING_TOKEN to that server's own token "
            "(the Stratus side takes STRATUS_TOKEN or your 'stratus login')"
        )
    importer = _Importer(
        _Side(source_uri, source_auth),
        _Side(target_uri, MlflowAuth(token=target_token)),
        options,
        progress or (lambda _event: None),
        source_hint=source_hint,
    )
    return importer.run()


class _Importer:
    def __init__(
        self,
        source: _Side,
        target: _Side,
        options: ImportOptions,
        progress: ProgressCallback,
        *,
        source_hint: str = "check --from",
    ) -> None:
        self.src = source
        self.dst = target
        self.source_hint = source_hint  # what to say when the source cannot be read
        self.options = options
        self.progress = progress
        self.summary = ImportSummary(source_uri=source.uri, target_uri=target.uri)
        self.view = ViewType.ALL if options.include_deleted else ViewType.ACTIVE_ONLY
        self.experiment_ids: dict[str, str] = {}  # source experiment id -> target
        self.run_ids: dict[str, str] = {}
        self.model_ids: dict[str, str] = {}  # source logged model id -> target
        self.run_artifact_uris: dict[str, str] = {}  # source run id -> its source artifact URI
        self.model_artifact_uris: dict[str, str] = {}
        self.target_runs: dict[str, list[Run]] = {}  # source run id -> target runs carrying it
        self.target_models: dict[str, LoggedModel] = {}  # source model id or "name/version" -> target
        self.source_models: dict[str, list[LoggedModel]] = {}  # source run id ("" none) -> its models
        self.inputs_refused = False
        self.versions_by_model: dict[str, list[dict[str, str]]] = {}  # target model id -> its versions

    def run(self) -> ImportSummary:
        self._check_reachable()
        try:
            experiments = self._experiments()
            runs = self._source_runs(experiments)
            self._copy_runs(runs)
            self._copy_models_without_run()
            self._copy_registry()
            self._delete_like_source(experiments)
        except (MlflowException, OSError) as exc:
            reason = exc.message if isinstance(exc, MlflowException) else str(exc)
            raise MlflowImportError(
                f"the import stopped: {reason}. Run the same command again to resume; what was "
                "copied completely is kept and skipped.",
                self.summary,
            ) from exc
        return self.summary

    def _check_reachable(self) -> None:
        self._check(
            self.src, "the MLflow server to import from", self.source_hint, "SOURCE_UNAVAILABLE", "from"
        )
        hint = "check the server URL, workspace and token"
        self._check(self.dst, "the Stratus workspace", hint, "TARGET_UNAVAILABLE", "workspace")

    @staticmethod
    def _check(side: _Side, what: str, hint: str, code: str, field: str) -> None:
        try:
            with _FAIL_FAST:
                side.call(side.client.search_experiments, max_results=1)
        except MlflowException as exc:
            message = f"cannot read {what} at {side.uri}: {exc.message} ({hint})"
            raise StratusError(message, field=field, code=code) from None

    # -- experiments ---------------------------------------------------------------------------------

    def _experiments(self) -> list[Experiment]:
        experiments: list[Experiment] = list(
            self.src.pages(self.src.client.search_experiments, view_type=self.view)
        )
        for experiment in experiments:
            target_id = self._target_experiment(experiment)
            self.experiment_ids[experiment.experiment_id] = target_id
            for key, value in experiment.tags.items():
                if not key.startswith(TAG_PREFIX):
                    self.dst.call(self.dst.client.set_experiment_tag, target_id, key, value)
        self.summary.experiments = len(experiments)
        for target_id in {"0", *self.experiment_ids.values()}:
            self._index_target(target_id)
        return experiments

    def _target_experiment(self, experiment: Experiment) -> str:
        if experiment.experiment_id == "0":
            return "0"  # every workspace has its own Default experiment
        existing = self.dst.call(self.dst.client.get_experiment_by_name, experiment.name)
        if existing is None:
            self.summary.experiments_created += 1
            created: str = self.dst.call(
                self.dst.client.create_experiment,
                experiment.name,
                tags={
                    SOURCE_URI_TAG: self.src.uri,
                    SOURCE_EXPERIMENT_TAG: experiment.experiment_id,
                },
            )
            return created
        if existing.lifecycle_stage == "deleted":  # it must be active to take runs
            self.dst.call(self.dst.client.restore_experiment, existing.experiment_id)
            if experiment.lifecycle_stage != "deleted":
                self.summary.warnings.append(
                    f"experiment {experiment.name!r} was deleted in the workspace; restored it to import"
                )
        return str(existing.experiment_id)

    def _index_target(self, experiment_id: str) -> None:
        """What an earlier attempt already wrote to this target experiment."""
        run: Run
        for run in self.dst.pages(self.dst.client.search_runs, [experiment_id], run_view_type=ViewType.ALL):
            source_id = run.data.tags.get(SOURCE_RUN_TAG)
            if source_id:
                self.target_runs.setdefault(source_id, []).append(run)
        model: LoggedModel
        for model in self.dst.pages(self.dst.client.search_logged_models, [experiment_id]):
            key = model.tags.get(SOURCE_MODEL_TAG) or model.tags.get(SOURCE_MODEL_VERSION_TAG)
            if key and (key not in self.target_models or model.tags.get(COMPLETE_TAG) == "true"):
                self.target_models[key] = model

    def _delete_like_source(self, experiments: Sequence[Experiment]) -> None:
        """Deleted source experiments end deleted, when this import created them."""
        for experiment in experiments:
            if experiment.lifecycle_stage != "deleted" or experiment.experiment_id == "0":
                continue
            target = self.dst.call(
                self.dst.client.get_experiment, self.experiment_ids[experiment.experiment_id]
            )
            if target.lifecycle_stage == "active" and target.tags.get(SOURCE_EXPERIMENT_TAG) == (
                experiment.experiment_id
            ):
                self.dst.call(self.dst.client.delete_experiment, target.experiment_id)

    # -- runs ----------------------------------------------------------------------------------------

    def _source_runs(self, experiments: Sequence[Experiment]) -> list[Run]:
        runs: list[Run] = []
        model: LoggedModel
        for experiment in experiments:
            ids = [experiment.experiment_id]
            runs.extend(self.src.pages(self.src.client.search_runs, ids, run_view_type=self.view))
            for model in self.src.pages(self.src.client.search_logged_models, ids):
                self.source_models.setdefault(model.source_run_id or "", []).append(model)
                self.model_artifact_uris[model.model_id] = model.artifact_location
        for run in runs:
            self.run_artifact_uris[run.info.run_id] = run.info.artifact_uri
        return parents_first(runs)

    def _copy_runs(self, runs: Sequence[Run]) -> None:
        copied_ids = {r.info.run_id for r in runs}
        left_out = [
            model  # models of runs left out (deleted) are copied without a run
            for run_id, models in self.source_models.items()
            if run_id and run_id not in copied_ids
            for model in models
        ]
        self.source_models.setdefault("", []).extend(left_out)
        for done, run in enumerate(runs):
            self.progress(ImportProgress("runs", done, len(runs), run.info.run_name or run.info.run_id))
            self._copy_run(run)
        self.progress(ImportProgress("runs", len(runs), len(runs)))

    def _copy_run(self, run: Run) -> None:
        source_id = run.info.run_id
        # Complete first, then active: an earlier attempt deletes only spare copies.
        existing = sorted(
            self.target_runs.get(source_id, []),
            key=lambda r: (r.data.tags.get(COMPLETE_TAG) != "true", r.info.lifecycle_stage != "active"),
        )
        for spare in existing[1:]:  # a create the client retried: never leave a second copy
            if spare.info.lifecycle_stage == "active":
                self.dst.call(self.dst.client.delete_run, spare.info.run_id)
        if existing and existing[0].data.tags.get(COMPLETE_TAG) == "true":
            done = existing[0]
            self.run_ids[source_id] = done.info.run_id
            self.summary.runs_skipped += 1
            for model in self.source_models.get(source_id, []):
                self._copy_logged_model(model, done.info.experiment_id, done.info.run_id)
            if run.info.lifecycle_stage == "deleted" and done.info.lifecycle_stage != "deleted":
                self.dst.call(self.dst.client.delete_run, done.info.run_id)  # the delete may not have run
            return
        if existing:
            target = existing[0]
            self.summary.runs_resumed += 1
            if target.info.lifecycle_stage == "deleted":
                self.dst.call(self.dst.client.restore_run, target.info.run_id)
        else:
            target = self._create_run(run)
        target_id = target.info.run_id
        self.run_ids[source_id] = target_id
        for model in self.source_models.get(source_id, []):
            self._copy_logged_model(model, target.info.experiment_id, target_id)
        self._copy_data(run, target_id)
        self._copy_io(run, target_id)
        self._copy_artifacts(
            self.src.repository(run.info.artifact_uri),
            self.dst.repository(target.info.artifact_uri),
            resumed=bool(existing),
        )
        self._finish(run, target_id)
        self.dst.call(self.dst.client.set_tag, target_id, COMPLETE_TAG, "true")
        self.summary.runs += 1
        if run.info.lifecycle_stage == "deleted":
            self.dst.call(self.dst.client.delete_run, target_id)

    def _create_run(self, run: Run) -> Run:
        tags = {
            SOURCE_URI_TAG: self.src.uri,
            SOURCE_EXPERIMENT_TAG: run.info.experiment_id,
            SOURCE_RUN_TAG: run.info.run_id,
        }
        if USER_TAG in run.data.tags:  # the client takes the run's user from this tag
            tags[USER_TAG] = run.data.tags[USER_TAG]
        return self.dst.call(
            self.dst.client.create_run,
            self.experiment_ids[run.info.experiment_id],
            start_time=run.info.start_time,
            tags=tags,
            run_name=run.info.run_name,
        )

    def _copy_data(self, run: Run, target_id: str) -> None:
        params = [Param(k, v) for k, v in sorted(run.data.params.items())]
        for param_batch in chunks(params, MAX_PARAMS_PER_BATCH):
            self.dst.call(self.dst.client.log_batch, target_id, params=param_batch)
        self.summary.params += len(params)
        tags = copied_run_tags(run.data.tags, run.info.run_id, self.run_ids)
        if PARENT_RUN_TAG in run.data.tags and PARENT_RUN_TAG not in tags:
            self.summary.warnings.append(
                f"run {run.info.run_id}: its parent run was not copied, so it arrives without a parent"
            )
        tag_list = [RunTag(k, v) for k, v in sorted(tags.items())]
        for tag_batch in chunks(tag_list, MAX_TAGS_PER_BATCH):
            self.dst.call(self.dst.client.log_batch, target_id, tags=tag_batch)
        self.summary.tags += len(tag_list)
        for key in sorted(run.data.metrics):
            history = self.src.call(self.src.client.get_metric_history, run.info.run_id, key)
            points = [
                Metric(
                    m.key,
                    m.value,
                    m.timestamp,
                    m.step,
                    model_id=self.model_ids.get(m.model_id or ""),
                    dataset_name=m.dataset_name,
                    dataset_digest=m.dataset_digest,
                )
                for m in history
            ]
            for batch in chunks(points, MAX_METRICS_PER_BATCH):
                self.dst.call(self.dst.client.log_batch, target_id, metrics=batch)
            self.summary.metric_points += len(points)

    def _copy_io(self, run: Run, target_id: str) -> None:
        """Dataset inputs, and the links to logged models the run used or produced."""
        datasets: list[DatasetInput] = list(run.inputs.dataset_inputs) if run.inputs else []
        model_inputs = [
            LoggedModelInput(self.model_ids[m.model_id])
            for m in (run.inputs.model_inputs if run.inputs else None) or []
            if m.model_id in self.model_ids
        ]
        if (datasets or model_inputs) and not self.inputs_refused:
            try:
                self.dst.call(self.dst.client.log_inputs, target_id, datasets=datasets, models=model_inputs)
                self.summary.datasets += len(datasets)
            except MlflowException as exc:
                if exc.error_code != "ENDPOINT_NOT_FOUND":
                    raise
                self.inputs_refused = True
        if self.inputs_refused and (datasets or model_inputs):
            self.summary.warnings.append(
                f"run {run.info.run_id}: {len(datasets)} dataset and {len(model_inputs)} model input(s) not "
                "copied: this Stratus server does not serve runs/log-inputs"
            )
        outputs = [
            LoggedModelOutput(self.model_ids[m.model_id], m.step)
            for m in (run.outputs.model_outputs if run.outputs else None) or []
            if m.model_id in self.model_ids
        ]
        if outputs:
            self.dst.call(self.dst.client.log_outputs, target_id, outputs)

    def _finish(self, run: Run, target_id: str) -> None:
        status = run.info.status
        if status in TERMINAL_STATUSES:
            self.dst.call(self.dst.client.set_terminated, target_id, status, run.info.end_time)
        elif status != "RUNNING":
            self.dst.call(self.dst.client.update_run, target_id, status)

    # -- artifacts -----------------------------------------------------------------------------------

    def _walk(self, side: _Side, repo: ArtifactRepository) -> Iterator[tuple[str, int | None]]:
        folders: list[str | None] = [None]
        while folders:
            folder = folders.pop()
            for info in side.call(repo.list_artifacts, folder):
                if info.is_dir:
                    folders.append(info.path)
                else:
                    yield info.path, info.file_size

    def _copy_artifacts(
        self, source: ArtifactRepository, target: ArtifactRepository, *, resumed: bool
    ) -> None:
        """File by file through a temporary folder, so a huge run never needs its full size on disk.
        On a resumed copy, files already there with the source's size are kept (uploads are atomic)."""
        present = dict(self._walk(self.dst, target)) if resumed else {}
        for path, size in self._walk(self.src, source):
            if size is not None and present.get(path) == size:
                continue
            with tempfile.TemporaryDirectory(prefix="stratus-import-") as scratch:
                local = self.src.call(source.download_artifacts, path, scratch)
                try:
                    self.dst.call(target.log_artifact, local, posixpath.dirname(path) or None)
                except OSError as exc:  # what the client's HTTP errors are
                    status = getattr(getattr(exc, "response", None), "status_code", None)
                    if status not in REFUSED_FOR_GOOD:
                        raise
                    self.summary.warnings.append(
                        f"artifact {path!r} not copied: the workspace refused it: {exc}"
                    )
                    continue
                self.summary.artifact_files += 1
                self.summary.artifact_bytes += os.path.getsize(local)

    # -- logged models (MLflow 3) --------------------------------------------------------------------

    def _copy_logged_model(self, model: LoggedModel, experiment_id: str, run_id: str | None) -> str:
        existing = self.target_models.get(model.model_id)
        if existing is not None and existing.tags.get(COMPLETE_TAG) == "true":
            self.model_ids[model.model_id] = existing.model_id
            self.summary.logged_models_skipped += 1
            return str(existing.model_id)
        tags = {
            k: v for k, v in model.tags.items() if not k.startswith(TAG_PREFIX) and k != MODEL_VERSIONS_TAG
        }
        tags.update({SOURCE_URI_TAG: self.src.uri, SOURCE_MODEL_TAG: model.model_id})
        params = dict(model.params)
        if existing is None:
            target = self.dst.call(
                self.dst.client.create_logged_model,
                experiment_id,
                name=model.name,
                source_run_id=run_id,
                tags=tags,
                params=params,
                model_type=model.model_type or None,
            )
        else:  # the create may have been cut off after its first 100 params; both calls are idempotent
            target = existing
            self.dst.call(self.dst.client.set_logged_model_tags, target.model_id, tags)
            if params:
                self.dst.call(self.dst.client.log_model_params, target.model_id, params)
        self.model_ids[model.model_id] = target.model_id
        self._copy_artifacts(
            self.src.repository(model.artifact_location),
            self.dst.repository(target.artifact_location),
            resumed=existing is not None,
        )
        self._finalize(target.model_id, model.status)
        self.summary.logged_models += 1
        return str(target.model_id)

    def _finalize(self, model_id: str, status: LoggedModelStatus | None) -> None:
        if status in (LoggedModelStatus.READY, LoggedModelStatus.FAILED):
            self.dst.call(self.dst.client.finalize_logged_model, model_id, status)
        self.dst.call(self.dst.client.set_logged_model_tags, model_id, {COMPLETE_TAG: "true"})

    def _copy_models_without_run(self) -> None:
        for model in self.source_models.get("", []):
            if model.model_id not in self.model_ids and model.experiment_id in self.experiment_ids:
                self._copy_logged_model(model, self.experiment_ids[model.experiment_id], None)

    # -- registry ------------------------------------------------------------------------------------

    def _copy_registry(self) -> None:
        models: list[RegisteredModel] = list(self.src.pages(self.src.client.search_registered_models))
        for done, model in enumerate(models):
            self.progress(ImportProgress("registered models", done, len(models), model.name))
            if str(model.tags.get(PROMPT_TAG, "")).lower() == "true":
                self.summary.warnings.append(f"prompt {model.name!r} not copied: prompts are not supported")
                continue
            self._copy_registered_model(model)
        self.progress(ImportProgress("registered models", len(models), len(models)))
        self._tag_model_versions()

    def _copy_registered_model(self, model: RegisteredModel) -> None:
        name = model.name
        tags = {k: v for k, v in model.tags.items() if not k.startswith(TAG_PREFIX)}
        try:
            self.dst.call(self.dst.client.get_registered_model, name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            self.dst.call(
                self.dst.client.create_registered_model,
                name,
                tags={**tags, SOURCE_URI_TAG: self.src.uri},
                description=model.description or None,
            )
            self.summary.registered_models_created += 1
        else:
            for key, value in tags.items():
                self.dst.call(self.dst.client.set_registered_model_tag, name, key, value)
        self.summary.registered_models += 1
        earlier = [v for v in self._versions(self.dst, name) if SOURCE_VERSION_TAG in v.tags]
        done = {v.tags[SOURCE_VERSION_TAG]: v.version for v in earlier}  # source -> target version
        for version in sorted(self._versions(self.src, name), key=lambda v: int(v.version)):
            if str(version.version) in done:
                self.summary.model_versions_skipped += 1
                continue
            created = self._copy_version(version)
            if created is not None:
                done[str(version.version)] = created.version
                earlier.append(created)
        for target_version in earlier:
            source = target_version.source or ""
            if source.startswith("models:/"):
                self.versions_by_model.setdefault(source.removeprefix("models:/"), []).append(
                    {"name": name, "version": str(target_version.version)}
                )
        for alias, version_number in model.aliases.items():
            if str(version_number) in done:
                self.dst.call(
                    self.dst.client.set_registered_model_alias, name, alias, str(done[str(version_number)])
                )
                self.summary.aliases += 1
            else:
                self.summary.warnings.append(
                    f"alias {alias!r} of {name!r} not set: version {version_number} was not copied"
                )

    def _versions(self, side: _Side, name: str) -> list[ModelVersion]:
        return list(side.pages(side.client.search_model_versions, f"name = {filter_quote(name)}"))

    def _copy_version(self, version: ModelVersion) -> ModelVersion | None:
        source = remap_version_source(
            version.source or "",
            run_ids=self.run_ids,
            run_artifact_uris=self.run_artifact_uris,
            model_ids=self.model_ids,
            model_artifact_uris=self.model_artifact_uris,
        )
        run_id = self.run_ids.get(version.run_id or "")
        if source is None:
            source = self._version_as_logged_model(version, run_id)
            if source is None:
                return None
        tags = {k: v for k, v in version.tags.items() if not k.startswith(TAG_PREFIX)}
        created = self.dst.call(
            self.dst.client.create_model_version,
            version.name,
            source,
            run_id=run_id,
            tags={**tags, SOURCE_URI_TAG: self.src.uri, SOURCE_VERSION_TAG: str(version.version)},
            description=version.description or None,
            await_creation_for=0,  # the version is usable at once; nothing here waits on it
            model_id=source.removeprefix("models:/") if source.startswith("models:/") else None,
        )
        self.summary.model_versions += 1
        if str(created.version) != str(version.version):
            self.summary.warnings.append(
                f"{version.name!r} version {version.version} arrived as version {created.version}"
            )
        return created

    def _version_as_logged_model(self, version: ModelVersion, run_id: str | None) -> str | None:
        """A version whose source is nothing copied (another store, a deleted run): its files become a
        logged model of the target, and the version points at that."""
        key = f"{version.name}/{version.version}"
        existing = self.target_models.get(key)
        if existing is not None and existing.tags.get(COMPLETE_TAG) == "true":
            return f"models:/{existing.model_id}"
        try:
            location = self.src.call(
                self.src.client.get_model_version_download_uri, version.name, version.version
            )
            source_repo = self.src.repository(location)
            self.src.call(source_repo.list_artifacts, None)
        except (MlflowException, OSError) as exc:
            self.summary.warnings.append(
                f"{version.name!r} version {version.version} not copied: its files at {version.source} "
                f"cannot be read ({exc})"
            )
            return None
        experiment_id = "0"
        if run_id is not None:
            experiment_id = self.dst.call(self.dst.client.get_run, run_id).info.experiment_id
        target = existing or self.dst.call(
            self.dst.client.create_logged_model,
            experiment_id,
            name=logged_model_name(version.name),
            source_run_id=run_id,
            tags={SOURCE_URI_TAG: self.src.uri, SOURCE_MODEL_VERSION_TAG: key},
        )
        self._copy_artifacts(
            source_repo, self.dst.repository(target.artifact_location), resumed=existing is not None
        )
        self._finalize(target.model_id, LoggedModelStatus.READY)
        return f"models:/{target.model_id}"

    def _tag_model_versions(self) -> None:
        """``mlflow.modelVersions`` on a logged model lists the versions made from it, as the client writes
        it when registering; rebuilt from the target's versions so that a resumed import agrees."""
        for model_id, listed in sorted(self.versions_by_model.items()):
            self.dst.call(
                self.dst.client.set_logged_model_tags, model_id, {MODEL_VERSIONS_TAG: json.dumps(listed)}
            )
