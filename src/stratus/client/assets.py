"""``ml_client.datastores``, ``.data`` and ``.environments``, shaped like azure-ai-ml's operations.

Local files never reach the server as paths: they are uploaded to the workspace's default datastore
(``workspaceblobstore``) under ``LocalUpload/<id>/`` and the asset is registered with that URI.
"""

from __future__ import annotations

import builtins
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

from stratus.client._artifacts import CHUNK, ArtifactTransfer
from stratus.client._http import Transport
from stratus.client.operations import _Operations, _q
from stratus.entities.assets import Data, Datastore, Environment, datastore_from_response
from stratus.environments.errors import EnvironmentBuildError
from stratus.errors import InvalidInputError, StratusError
from stratus.specs.data import data_to_fields, is_remote
from stratus.specs.datastore import datastore_to_fields
from stratus.specs.environment import environment_to_fields

DEFAULT_DATASTORE = "workspaceblobstore"
A = TypeVar("A", Data, Environment)
# Bars only for uploads that are big or slow (issue: anything over 10 MB or 2 s).
UPLOAD_QUIET_BELOW = (10 * 1024 * 1024, 2.0)
# How long one build request waits on the server before the SDK polls (under the 60 s client timeout).
BUILD_WAIT_SECONDS = 30


def upload_local(files: ArtifactTransfer, local: Path) -> str:
    """Upload a file or folder to the default datastore; the ``azureml://`` URI of what was uploaded."""
    prefix = f"LocalUpload/{uuid.uuid4().hex}"
    files.upload(local, prefix, quiet_below=UPLOAD_QUIET_BELOW)
    tail = f"{prefix}/{local.name}" if local.is_file() else f"{prefix}/"
    return f"azureml://datastores/{DEFAULT_DATASTORE}/paths/{tail}"


def _local(path: str, what: str) -> Path:
    local = Path(path.removeprefix("file://").removeprefix("file:")).expanduser()
    if not local.exists():
        raise InvalidInputError(f"{what} path {local} does not exist", field="path")
    return local


class DatastoreOperations(_Operations):
    def _path(self, name: str | None = None) -> str:
        base = f"/api/v1/workspaces/{_q(self._workspace)}/datastores"
        return base if name is None else f"{base}/{_q(name)}"

    def create_or_update(self, datastore: Datastore) -> Datastore:
        body = self._transport.request("PUT", self._path(datastore.name), json=datastore_to_fields(datastore))
        return datastore_from_response(body)

    def get(self, name: str) -> Datastore:
        return datastore_from_response(self._transport.request("GET", self._path(name)))

    def get_default(self) -> Datastore:
        return self.get(DEFAULT_DATASTORE)

    def list(self) -> Iterator[Datastore]:
        for body in self._transport.paged(self._path()):
            yield datastore_from_response(body)

    def delete(self, name: str) -> None:
        self._transport.request("DELETE", self._path(name))


class _VersionedAssetOperations(_Operations, Generic[A]):
    """What data and environments share: versions read by number or ``latest``, lists, archive/restore."""

    _ENTITY: type[A]
    _COLLECTION: str  # the REST collection, e.g. "data"

    def __init__(self, transport: Transport, client_workspace: str, files: ArtifactTransfer) -> None:
        super().__init__(transport, client_workspace)
        self._files = files

    def _path(self, suffix: str = "") -> str:
        return f"/api/v1/workspaces/{_q(self._workspace)}/{self._COLLECTION}{suffix}"

    def _version_path(self, name: str, version: str | int | None, label: str | None = None) -> str:
        if (version is None) == (label is None):
            raise InvalidInputError("give exactly one of version and label (label='latest')", field="version")
        return self._path(f"/{_q(name)}/versions/{_q(str(version if version is not None else label))}")

    def get(self, name: str, version: str | int | None = None, label: str | None = None) -> A:
        return self._entity(self._ENTITY, "GET", self._version_path(name, version, label))

    def list(self, name: str | None = None, *, include_archived: bool = False) -> Iterator[A]:
        """The newest version of each asset, or every version of ``name`` (newest first)."""
        params = {"name": name, "include_archived": include_archived or None}
        return self._entities(self._ENTITY, self._path(), params)

    def _set_archived(self, action: str, name: str, version: str | int | None, label: str | None) -> None:
        if version is None and label is None:
            self._transport.request("POST", self._path(f"/{_q(name)}/{action}"))
        else:
            self._transport.request("POST", f"{self._version_path(name, version, label)}/{action}")

    def archive(
        self, name: str, version: str | int | None = None, label: str | None = None, **_: Any
    ) -> None:
        """One version, or every version of the asset when neither version nor label is given."""
        self._set_archived("archive", name, version, label)

    def restore(
        self, name: str, version: str | int | None = None, label: str | None = None, **_: Any
    ) -> None:
        self._set_archived("restore", name, version, label)


class DataOperations(_VersionedAssetOperations[Data]):
    _ENTITY = Data
    _COLLECTION = "data"

    def create_or_update(self, data: Data, **_azure_only: Any) -> Data:
        """Register a new version; a local file or folder is uploaded first (with a progress bar when it
        is big or slow)."""
        if not data.path:
            raise InvalidInputError(
                "a data asset needs a path: a local file or folder, or a URI", field="path"
            )
        fields = data_to_fields(data)
        if not is_remote(data.path):
            if data.datastore not in (None, DEFAULT_DATASTORE):
                raise InvalidInputError(
                    f"local files are uploaded to {DEFAULT_DATASTORE}; to use datastore {data.datastore!r}, "
                    "put the files there and give their azureml://datastores/... URI as the path",
                    field="datastore",
                )
            local = _local(data.path, "data")
            if data.type == "uri_file" and not local.is_file():
                raise InvalidInputError(f"type uri_file needs a file; {local} is a folder", field="path")
            if data.type != "uri_file" and not local.is_dir():
                raise InvalidInputError(f"type {data.type} needs a folder; {local} is a file", field="path")
            fields["path"] = upload_local(self._files, local)
            fields.pop("datastore", None)
        fields.pop("name", None)
        return self._entity(Data, "POST", self._path(f"/{_q(data.name)}/versions"), json=fields)

    def lineage(self, name: str, version: str | int) -> builtins.list[dict[str, Any]]:
        body = self._transport.request("GET", self._path(f"/{_q(name)}/versions/{_q(str(version))}/lineage"))
        return list(body.get("value", []))

    def download(
        self,
        name: str,
        version: str | int | None = None,
        *,
        download_path: str | os.PathLike[str] = ".",
        label: str | None = None,
    ) -> Path:
        """The version's files into ``download_path/<name>/`` (Azure's layout); returns that folder."""
        data = self.get(name, version, label if version is None else None)
        return self.download_to(data, Path(download_path) / name)

    def download_to(self, data: Data, target: Path) -> Path:
        versions = f"/{_q(data.name)}/versions/{_q(str(data.version))}"
        listing = self._transport.request("GET", self._path(f"{versions}/files"))
        target.mkdir(parents=True, exist_ok=True)
        for item in listing.get("value", []):
            relative = PurePosixPath(item["path"])
            if relative.is_absolute() or ".." in relative.parts:
                raise InvalidInputError(f"the server listed an unsafe path {item['path']!r}", field="path")
            destination = target.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial = destination.with_name(f".{destination.name}.partial")
            url = self._path(f"{versions}/files/{'/'.join(_q(p) for p in relative.parts)}")
            with self._transport.stream("GET", url) as response, partial.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
            os.replace(partial, destination)
        return target


class EnvironmentOperations(_VersionedAssetOperations[Environment]):
    _ENTITY = Environment
    _COLLECTION = "environments"

    def create_or_update(self, environment: Environment, **_azure_only: Any) -> Environment:
        """Register a new version; a local Docker build context is uploaded first."""
        fields = environment_to_fields(environment)
        build = fields.get("build")
        if build and not is_remote(str(build.get("path", ""))):
            local = _local(str(build["path"]), "build context")
            if not local.is_dir():
                raise InvalidInputError(f"build.path must be a folder; {local} is a file", field="build.path")
            fields["build"] = {**build, "path": upload_local(self._files, local)}
        if isinstance(fields.get("conda_file"), str):
            raise InvalidInputError(
                "conda_file must be read before sending; load the YAML with stratus.specs.load_environment",
                field="conda_file",
            )
        fields.pop("name", None)
        return self._entity(Environment, "POST", self._path(f"/{_q(environment.name)}/versions"), json=fields)

    def create_from_model(self, name: str, model: str, *, version: str | None = None) -> Environment:
        """Register an environment with the Python and packages of an MLflow model (``azureml:m:3``,
        ``azureml:m@champion``), so the model loads in the versions it was saved with."""
        body = {"model": model, "version": version}
        return self._entity(
            Environment,
            "POST",
            self._path(f"/{_q(name)}/versions/from-model"),
            json={k: v for k, v in body.items() if v is not None},
        )

    def build(
        self, name: str, version: str | int, *, wait: bool = True, timeout: float | None = None
    ) -> Environment:
        """Build (or find in the cache) the environment on the server. With ``wait`` it returns when the
        build has ended and raises if it failed (the message ends with uv's error lines)."""
        path = self._path(f"/{_q(name)}/versions/{_q(str(version))}")
        environment = self._entity(
            Environment, "POST", f"{path}/build", params={"wait": BUILD_WAIT_SECONDS if wait else 0}
        )
        deadline = None if timeout is None else time.monotonic() + timeout
        while wait and environment.status == "Building":
            if deadline is not None and time.monotonic() > deadline:
                raise StratusError(
                    f"environment {name}:{version} is still building after {timeout} s", code="TIMEOUT"
                )
            time.sleep(1.0)
            environment = self._entity(Environment, "GET", path)
        if wait and environment.status not in ("Succeeded", "Failed"):
            raise StratusError(
                f"environment {name}:{version} did not build (status {environment.status})", code="NOT_BUILT"
            )
        if wait and environment.status == "Failed":
            raise EnvironmentBuildError(
                f"environment {name}:{version} failed to build: "
                f"{environment.build_error or 'see the build log'}",
                spec_hash=environment.spec_hash,
            )
        return environment

    def build_log(self, name: str, version: str | int) -> Iterator[str]:
        """The build log, streamed while a build runs."""
        path = self._path(f"/{_q(name)}/versions/{_q(str(version))}/build-log")
        with self._transport.stream("GET", path, follow=True) as r:
            yield from r.iter_lines()

    def lock(self, name: str, version: str | int) -> str:
        """The resolved lock (pinned requirements with hashes) recorded by the first build."""
        with self._transport.stream("GET", self._path(f"/{_q(name)}/versions/{_q(str(version))}/lock")) as r:
            return r.read().decode()

    def download(self, name: str, version: str | int, *, download_path: str | os.PathLike[str] = ".") -> Path:
        """The spec (``environment.yml``, with the conda file inline) and, once built, ``lock.txt``, into
        ``download_path/<name>/``."""
        import yaml

        environment = self.get(name, version)
        target = Path(download_path) / name
        target.mkdir(parents=True, exist_ok=True)
        spec = {
            "$schema": "https://azuremlschemas.azureedge.net/latest/environment.schema.json",
            **environment_to_fields(environment),
        }
        (target / "environment.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
        if environment.lock_available:
            (target / "lock.txt").write_text(self.lock(name, version))
        return target
