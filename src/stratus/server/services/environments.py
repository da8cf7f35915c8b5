"""Environments: versioned specs, built with uv into the cache keyed by the spec's hash.

Every form becomes one build plan (``stratus.environments``): ``image`` + ``conda_file`` (the image is
recorded; the conda file's Python and packages are what get built, since jobs run as local processes),
a bare ``image`` (a plain Python with mlflow-skinny), the native ``python`` + ``pip`` form, and curated
names. A Docker ``build`` context is registered and built only where a Docker engine answers.

Builds run on a small pool in the background; one spec is built once (a future per hash here, the cache's
file lock across processes). The first succeeded build's lock is recorded in the database, and later
builds of the same hash, on any server sharing it, install exactly that lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stratus.artifacts import ArtifactStore
from stratus.entities import Model
from stratus.entities._base import CreationContext
from stratus.entities.assets import Environment
from stratus.entities.roles import Permission
from stratus.environments import (
    BuildPlan,
    EnvironmentBuildError,
    EnvironmentCache,
    build_image,
    docker_available,
    plan_from_conda,
    plan_from_mlflow_model,
    plan_from_pip,
    resolve_curated,
)
from stratus.environments.builder import BUILDING, FAILED, SUCCEEDED
from stratus.errors import InvalidInputError, NotFoundError, StratusError
from stratus.secrets.vault import KeyVault
from stratus.server.services.auth import AuthService
from stratus.server.services.context import Caller
from stratus.server.services.datastores import DatastoreService
from stratus.server.services.versioned import LATEST, VersionedAssets
from stratus.specs import environment_to_fields
from stratus.specs.references import parse_reference
from stratus.store.access import WorkspaceRecord
from stratus.store.assets import AssetVersionRecord
from stratus.store.metadata import MetadataStore

log = logging.getLogger(__name__)
KIND = "environment"
REGISTERED = "Registered"
NOT_BUILDABLE = "NotBuildable"
CURATED_PREFIX = "AzureML-"
BUILD_WORKERS = 2
MODEL_ENV_FILES = ("requirements.txt", "conda.yaml", "python_env.yaml")
LOG_APPEAR_SECONDS = 30.0
# A Docker build that runs longer is stopped and fails (it would hold one of the build threads).
DOCKER_BUILD_TIMEOUT = 3600.0


def plan_for(environment: Environment, origin: str) -> BuildPlan | None:
    """The build plan of a spec; ``None`` for a Docker build context (built by Docker, not uv)."""
    if environment.build is not None:
        return None
    if environment.python is not None or environment.pip:
        return plan_from_pip(environment.python, environment.pip, origin=origin, field="pip")
    if isinstance(environment.conda_file, dict):
        return plan_from_conda(environment.conda_file, origin=origin)
    if isinstance(environment.conda_file, str):
        raise InvalidInputError("conda_file must be sent inline (the SDK reads the file)", field="conda_file")
    return plan_from_pip(None, [], origin=origin)  # a bare image: Python and mlflow-skinny


class EnvironmentService(VersionedAssets[Environment]):
    def __init__(
        self,
        store: MetadataStore,
        vault: KeyVault,
        auth: AuthService,
        cache: EnvironmentCache,
        datastores: DatastoreService,
    ) -> None:
        super().__init__(store, KIND, "environment", self._entity)
        self._datastores = datastores
        self._vault = vault
        self._auth = auth
        self.cache = cache
        self._builds: dict[str, Future[Any]] = {}
        # Builds that failed before uv ran (a secret missing from the vault, say): no status file says so.
        self._failures: dict[str, str] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=BUILD_WORKERS, thread_name_prefix="env-build")
        self._docker: bool | None = None

    def close(self) -> None:
        """Stop building: queued builds are dropped and running uv processes killed (they end Failed), so a
        stopping server does not wait for them."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.cache.terminate_running()

    def docker_available(self) -> bool:
        if self._docker is None:
            self._docker = docker_available()
        return self._docker

    # -- entities --------------------------------------------------------------------------------
    def _status(self, details: dict[str, Any]) -> str:
        spec_hash = details.get("spec_hash")
        if details.get("form") == "build":
            if not self.docker_available():
                return NOT_BUILDABLE
            return str((details.get("docker") or {}).get("state") or REGISTERED)
        if not spec_hash:
            return REGISTERED
        with self._lock:
            running = spec_hash in self._builds and not self._builds[spec_hash].done()
        if running:
            return BUILDING
        status = self.cache.get_status(spec_hash)
        if status is None:
            return FAILED if spec_hash in self._failures else REGISTERED
        return status.state if status.state in (SUCCEEDED, FAILED, BUILDING) else REGISTERED

    def _entity(self, record: AssetVersionRecord) -> Environment:
        details = record.details
        fields = {k: v for k, v in record.spec.items() if k != "name"}
        spec_hash = details.get("spec_hash")
        lock = self._store.assets.get_lock(spec_hash) if spec_hash else None
        status = self._status(details)
        failure = self.cache.get_status(spec_hash) if spec_hash and status == FAILED else None
        build_error = (
            failure.error
            if failure
            else self._failures.get(spec_hash or "") or (details.get("docker") or {}).get("error")
        )
        return Environment(
            **fields,
            name=record.name,
            version=record.version,
            description=record.description,
            tags=record.tags,
            properties=record.properties,
            id=record.id,
            status=status,
            build_error=build_error if status == FAILED else None,
            spec_hash=details.get("spec_hash"),
            python_version=lock.python_version if lock else details.get("python"),
            lock_available=lock is not None,
            is_archived=record.archived,
            creation_context=CreationContext(
                created_at=record.created_at,
                created_by=record.created_by,
                last_modified_at=record.updated_at,
                last_modified_by=record.updated_by,
            ),
        )

    # -- create and read -------------------------------------------------------------------------
    def create(self, caller: Caller, workspace: WorkspaceRecord, environment: Environment) -> Environment:
        if environment.name.startswith(CURATED_PREFIX):
            raise InvalidInputError(
                f"names starting with {CURATED_PREFIX} are Azure's curated environments; choose another name",
                field="name",
            )
        return self._create(
            caller, workspace, environment, plan_for(environment, f"environment {environment.name}")
        )

    def _create(
        self, caller: Caller, workspace: WorkspaceRecord, environment: Environment, plan: BuildPlan | None
    ) -> Environment:
        if plan is not None and plan.secret_names():
            plan = dataclasses.replace(plan, scope=workspace.id)
        if environment.build is not None:
            self._check_context(workspace, environment.build.path, environment.build.dockerfile_path)
        details: dict[str, Any] = {"form": "build" if plan is None else "plan"}
        if plan is not None:
            details.update(spec_hash=plan.spec_hash, python=plan.python, plan=plan.to_dict())
        spec = environment_to_fields(environment)
        spec.pop("name", None)
        spec.pop("version", None)
        record = self._store.assets.create_version(
            workspace.id,
            KIND,
            environment.name,
            environment.version,
            spec={k: v for k, v in spec.items() if k not in ("description", "tags", "properties")},
            details=details,
            description=environment.description,
            tags=dict(environment.tags),
            properties=dict(environment.properties),
            actor=caller.user_name,
        )
        return self._entity(record)

    def create_from_model(
        self,
        caller: Caller,
        workspace: WorkspaceRecord,
        name: str,
        model: Model,
        objects: ArtifactStore,
        *,
        version: str | None = None,
    ) -> Environment:
        """An environment with the Python and packages an MLflow model was saved with (its
        ``requirements.txt``, else ``conda.yaml``; ``python_env.yaml`` for the Python version), so an old
        pickled model loads in the versions it was pickled with."""
        prefix = (model.path or "").removeprefix("mlflow-artifacts:").strip("/")
        if not (model.path or "").startswith("mlflow-artifacts:"):
            raise InvalidInputError(f"model {model.name}:{model.version} has no files here", field="model")
        with tempfile.TemporaryDirectory(prefix="stratus-model-env-") as scratch:
            folder = Path(scratch)
            for entry in objects.list(prefix):
                # The requirement files sit at the model's root; nothing else is read.
                leaf = entry.path.rsplit("/", 1)[-1]
                if not entry.is_dir and (leaf in MODEL_ENV_FILES or leaf.endswith(".txt")):
                    (folder / leaf).write_bytes(objects.read_bytes(entry.path))
            plan = plan_from_mlflow_model(folder)
        environment = Environment(
            name=name,
            version=version,
            python=plan.python,
            pip=list(plan.requirements),
            description=f"The environment of MLflow model {model.name}:{model.version}",
            tags={"stratus.from_model": f"{model.name}:{model.version}"},
        )
        return self._create(caller, workspace, environment, plan)

    def record(
        self, workspace: WorkspaceRecord, name: str, version: str | None, label: str | None = None
    ) -> AssetVersionRecord:
        """Registered versions first; an ``AzureML-<name>`` that is not registered is a curated one."""
        try:
            return super().record(workspace, name, version, label)
        except NotFoundError:
            curated = resolve_curated(name) if name.startswith(CURATED_PREFIX) else None
            if curated is None:
                raise
            if version not in (None, LATEST, "1"):
                raise NotFoundError(
                    f"curated environment {name} has version 1 here (or use label latest), not {version!r}",
                    field="version",
                ) from None
            return self._curated_record(workspace, name, curated[1])

    def _curated_record(self, workspace: WorkspaceRecord, name: str, plan: BuildPlan) -> AssetVersionRecord:
        from datetime import UTC, datetime

        epoch = datetime(2024, 1, 1, tzinfo=UTC)
        return AssetVersionRecord(
            id=f"curated:{name}",
            workspace_id=workspace.id,
            kind=KIND,
            name=name,
            version="1",
            seq=1,
            spec={"python": plan.python, "pip": list(plan.requirements)},
            details={
                "form": "plan",
                "spec_hash": plan.spec_hash,
                "python": plan.python,
                "plan": plan.to_dict(),
            },
            description=plan.origin,
            tags={"curated": "true"},
            properties={},
            archived=False,
            created_at=epoch,
            created_by="azureml",
            updated_at=epoch,
            updated_by="azureml",
        )

    def resolve_reference(self, workspace: WorkspaceRecord, reference: str) -> Environment:
        """``azureml:name:version``, ``azureml:name@latest``, ``name:version``, or a curated reference such as
        ``azureml://registries/azureml/environments/sklearn-1.5/labels/latest``."""
        curated = resolve_curated(reference)
        if curated is not None:
            return self.get(workspace, f"{CURATED_PREFIX}{curated[0]}", None, "latest")
        name, version, label = parse_reference(reference)
        return self.get(workspace, name, version, label)

    # -- builds ----------------------------------------------------------------------------------
    def start_build(
        self, caller: Caller, workspace: WorkspaceRecord, name: str, version: str
    ) -> tuple[str, Future[Any]]:
        """Start (or join) the build of a version: ``(the version, a future done when the build ends)``."""
        record = self.record(workspace, name, version)
        details = record.details
        if details.get("form") == "build":
            if not self.docker_available():
                raise InvalidInputError(
                    f"environment {name}:{record.version} is a Docker build context and no Docker engine "
                    "answers `docker info` on this server (status NotBuildable); use an image + conda_file "
                    "or a python + pip environment instead",
                    field="build",
                )
            return record.version, self._start_docker(caller, workspace, record)
        plan = BuildPlan.from_dict(details["plan"])
        if plan.secret_names():
            self._auth.authorize(caller, Permission.USE_SECRETS, workspace.name)
        return record.version, self._start(caller, workspace, plan)

    def build(
        self, caller: Caller, workspace: WorkspaceRecord, name: str, version: str, *, wait: float = 0.0
    ) -> Environment:
        """``start_build``, then wait up to ``wait`` seconds for it; the version as it then stands."""
        resolved, future = self.start_build(caller, workspace, name, version)
        with contextlib.suppress(TimeoutError):
            future.result(timeout=wait)
        return self.get(workspace, name, resolved)

    def _start(self, caller: Caller, workspace: WorkspaceRecord, plan: BuildPlan) -> Future[Any]:
        spec_hash = plan.spec_hash
        with self._lock:
            running = self._builds.get(spec_hash)
            if running is not None and not running.done():
                return running
            if self.cache.get(spec_hash) is not None:
                done: Future[Any] = Future()
                done.set_result(None)
                return done
            self._failures.pop(spec_hash, None)
            future = self._pool.submit(self._run_build, caller, workspace, plan)
            self._builds[spec_hash] = future
            return future

    def _run_build(self, caller: Caller, workspace: WorkspaceRecord, plan: BuildPlan) -> None:
        def secret(name: str) -> str:
            return self._vault.resolve(
                workspace, name, actor=caller.user_name, purpose="environment build", variable="index_url"
            )

        recorded = self._store.assets.get_lock(plan.spec_hash)
        try:
            built = self.cache.build(
                plan, resolve_secret=secret, lock_text=recorded.lock_text if recorded else None
            )
        except EnvironmentBuildError as exc:
            log.info("environment %s failed to build: %s", plan.spec_hash[:12], exc.message.splitlines()[0])
            if self.cache.get_status(plan.spec_hash) is None:
                self._failures[plan.spec_hash] = exc.message
            return
        except StratusError as exc:  # before uv ran: e.g. an index secret missing from the vault
            self._failures[plan.spec_hash] = exc.message
            return
        except Exception as exc:
            log.exception("environment %s: build crashed", plan.spec_hash[:12])
            self._failures[plan.spec_hash] = f"the build crashed: {type(exc).__name__}"
            return
        self._store.assets.record_lock(plan.spec_hash, built.python_version, built.lock_text)

    # -- Docker build contexts --------------------------------------------------------------------
    def _check_context(self, workspace: WorkspaceRecord, path: str, dockerfile: str) -> None:
        """A build context must be a folder on a datastore of this workspace holding the Dockerfile."""
        location = self._datastores.resolve(workspace, path, field="build.path")
        objects = self._datastores.open(workspace, location.name)
        inside = "/".join(p for p in (location.path, dockerfile.strip("/")) if p)
        try:
            found = not objects.info(inside).is_dir
        except (FileNotFoundError, InvalidInputError):
            found = False
        except ValueError as exc:  # an unsafe dockerfile_path
            raise InvalidInputError(
                f"dockerfile_path {dockerfile!r}: {exc}", field="build.dockerfile_path"
            ) from None
        if not found:
            raise InvalidInputError(
                f"the build context {path!r} has no {dockerfile!r}; upload the folder holding it",
                field="build.dockerfile_path",
            )

    def _docker_key(self, record: AssetVersionRecord) -> str:
        return f"docker-{record.id}"

    def _docker_log(self, record: AssetVersionRecord) -> Path:
        return self.cache.root / "docker" / f"{record.id}.log"

    def _start_docker(
        self, caller: Caller, workspace: WorkspaceRecord, record: AssetVersionRecord
    ) -> Future[Any]:
        key = self._docker_key(record)
        with self._lock:
            running = self._builds.get(key)
            if running is not None and not running.done():
                return running
            if (record.details.get("docker") or {}).get("state") == SUCCEEDED:
                done: Future[Any] = Future()
                done.set_result(None)
                return done
            self._set_docker(workspace, record, {"state": BUILDING}, caller)
            future = self._pool.submit(self._run_docker, caller, workspace, record)
            self._builds[key] = future
            return future

    def _set_docker(
        self, workspace: WorkspaceRecord, record: AssetVersionRecord, docker: dict[str, Any], caller: Caller
    ) -> None:
        self._store.assets.update_version(
            workspace.id,
            KIND,
            record.name,
            record.version,
            details={"docker": docker},
            actor=caller.user_name,
        )

    def _run_docker(self, caller: Caller, workspace: WorkspaceRecord, record: AssetVersionRecord) -> None:
        """Fetch the uploaded context from its datastore and ``docker build`` it as
        ``stratus/<workspace>/<name>:<version>``; the outcome goes into the version's details."""
        build = record.spec.get("build") or {}
        tag = f"stratus/{workspace.name}/{record.name}:{record.version}".lower()
        log_path = self._docker_log(record)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with (
                tempfile.TemporaryDirectory(prefix="stratus-docker-") as scratch,
                log_path.open("w") as log_file,
            ):
                location = self._datastores.resolve(workspace, str(build.get("path", "")), field="build.path")
                objects = self._datastores.open(workspace, location.name)
                prefix = f"{location.path}/" if location.path else ""
                for entry in objects.list(location.path, recursive=True):
                    if entry.is_dir:
                        continue
                    target = Path(scratch, *entry.path.removeprefix(prefix).split("/"))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(objects.read_bytes(entry.path))

                def write(line: str) -> None:
                    log_file.write(line + "\n")
                    log_file.flush()

                dockerfile = str(build.get("dockerfile_path") or "Dockerfile")
                build_image(Path(scratch), dockerfile, tag, write, timeout=DOCKER_BUILD_TIMEOUT)
        except Exception as exc:  # every failure is the version's Failed state, with the reason
            message = exc.message if isinstance(exc, StratusError) else f"{type(exc).__name__}: {exc}"
            self._set_docker(workspace, record, {"state": FAILED, "error": message, "image": tag}, caller)
            return
        self._set_docker(workspace, record, {"state": SUCCEEDED, "image": tag}, caller)

    def build_log(
        self, workspace: WorkspaceRecord, name: str, version: str, *, follow: bool = True
    ) -> Iterator[bytes]:
        """The build log; with ``follow``, new lines as they are written until the build ends."""
        record = self.record(workspace, name, version)
        spec_hash = record.details.get("spec_hash")
        if record.details.get("form") == "build":
            spec_hash, path = self._docker_key(record), self._docker_log(record)
        elif not spec_hash:
            raise NotFoundError(f"environment {name}:{record.version} has no build", field="version")
        else:
            path = self.cache.root / spec_hash / "build.log"
        if not path.exists() and self._status(record.details) != BUILDING:
            raise NotFoundError(
                f"environment {name}:{record.version} is not built here; run `stratus environment build`",
                field="version",
            )
        return self._follow(path, spec_hash, follow)

    def _follow(self, path: Any, spec_hash: str, follow: bool) -> Iterator[bytes]:
        deadline = time.monotonic() + LOG_APPEAR_SECONDS
        while not path.exists():
            with self._lock:
                future = self._builds.get(spec_hash)
            if future is None or future.done() or time.monotonic() > deadline:
                return  # the build runs elsewhere, or ended without writing a log here
            time.sleep(0.1)
        with path.open("rb") as handle:
            while True:
                chunk = handle.read(64 * 1024)
                if chunk:
                    yield chunk
                    continue
                with self._lock:
                    future = self._builds.get(spec_hash)
                if not follow or future is None or future.done():
                    rest = handle.read()
                    if rest:
                        yield rest
                    return
                time.sleep(0.2)

    def lock(self, workspace: WorkspaceRecord, name: str, version: str) -> str:
        record = self.record(workspace, name, version)
        spec_hash = record.details.get("spec_hash")
        recorded = self._store.assets.get_lock(spec_hash) if spec_hash else None
        if recorded is None:
            raise NotFoundError(
                f"environment {name}:{record.version} has no recorded lock yet; build it first",
                field="version",
            )
        return recorded.lock_text
