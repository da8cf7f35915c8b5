"""Asset services in process over a real store: data lineage (the link jobs will write), environment
references in every form Azure specs use, and curated names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stratus.config import Settings
from stratus.entities.assets import Data, Environment
from stratus.errors import InvalidInputError, NotFoundError
from stratus.server.services.context import Caller
from stratus.server.state import ServerState, bootstrap

CALLER = Caller(
    user_id="admin",
    user_name="admin",
    is_server_admin=True,
    token_id=None,
    token_workspace_id=None,
    token_workspace_name=None,
)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ServerState]:
    opened = bootstrap(Settings(home=tmp_path / "home", env_cache=tmp_path / "envs"))
    yield opened
    opened.close()


def test_data_lineage_links_jobs_to_versions(state: ServerState) -> None:
    workspace = state.workspaces.get("default")
    state.artifact_objects.write(workspace, "LocalUpload/x/in.csv", b"a,b\n1,2\n")
    uri = "azureml://datastores/workspaceblobstore/paths/LocalUpload/x/in.csv"
    data = state.data.create(CALLER, workspace, Data(name="lineage", path=uri, type="uri_file"))
    assert data.sha256 and data.profile and data.profile["rows"] == 1
    state.data.record_lineage(workspace, "lineage", "1", "job-train", "input")
    state.data.record_lineage(workspace, "lineage", "1", "job-train", "input")  # recorded once
    state.data.record_lineage(workspace, "lineage", "1", "job-prep", "output")
    links = state.data.lineage(workspace, "lineage", "1")
    assert [(link.job_name, link.direction) for link in links] == [
        ("job-train", "input"),
        ("job-prep", "output"),
    ]
    with pytest.raises(InvalidInputError):
        state.data.record_lineage(workspace, "lineage", "1", "job", "sideways")
    with pytest.raises(NotFoundError):
        state.data.lineage(workspace, "lineage", "9")


def test_environment_references_resolve_in_every_form(state: ServerState) -> None:
    workspace = state.workspaces.get("default")
    state.environments.create(CALLER, workspace, Environment(name="train-env", python="3.11", pip=["six"]))
    state.environments.create(CALLER, workspace, Environment(name="train-env", python="3.11", pip=["idna"]))
    resolve = state.environments.resolve_reference
    assert resolve(workspace, "azureml:train-env:1").pip == ["six"]
    assert resolve(workspace, "azureml:train-env@latest").version == "2"
    assert resolve(workspace, "train-env:2").pip == ["idna"]
    for reference in (
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
        "azureml:AzureML-sklearn-1.5@latest",
    ):
        curated = resolve(workspace, reference)
        assert curated.name == "AzureML-sklearn-1.5" and curated.python == "3.11"
        assert any(p.startswith("scikit-learn") for p in curated.pip)
    with pytest.raises(InvalidInputError, match="version or label"):
        resolve(workspace, "azureml:train-env")
    with pytest.raises(NotFoundError):
        resolve(workspace, "azureml:train-env:7")
    with pytest.raises(InvalidInputError, match="curated"):
        state.environments.create(CALLER, workspace, Environment(name="AzureML-mine", python="3.11"))


def test_large_unindexed_data_gets_a_listing_hash_of_its_location(
    state: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stratus.server.services.data as data_service

    workspace = state.workspaces.get("default")
    objects = state.artifact_objects.objects(workspace)
    for folder in ("a", "b"):  # same names and sizes in two places, written around the index
        objects.write(f"{folder}/part.bin", b"x" * 64)
    monkeypatch.setattr(data_service, "HASH_READ_LIMIT", 10)
    first, second = (
        state.data.create(
            CALLER,
            workspace,
            Data(name=f"big-{f}", path=f"azureml://datastores/workspaceblobstore/paths/{f}/"),
        )
        for f in ("a", "b")
    )
    assert first.hash_kind == second.hash_kind == "listing"
    assert first.sha256 != second.sha256  # the location is part of a listing hash
    monkeypatch.setattr(data_service, "HASH_READ_LIMIT", 1 << 30)
    read = state.data.create(
        CALLER, workspace, Data(name="big-a", path="azureml://datastores/workspaceblobstore/paths/a/")
    )
    assert read.hash_kind == "content" and read.version == "2"


def test_a_composite_digest_is_never_taken_for_a_files_hash(
    state: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose parts the store joined (multipart on Azure or S3) is recorded with the parts'
    composite digest: a data version reads the file for its sha256 instead, or, past the read limit,
    takes a listing hash, never the composite as if it were the content's."""
    import hashlib

    import stratus.server.services.data as data_service
    from stratus.artifacts import composite_digest

    workspace = state.workspaces.get("default")
    payload = b"joined in the store"
    info = state.artifact_objects.write(workspace, "up/joined.bin", payload)
    state.store.artifact_index.record(
        workspace.id, info.path, size=info.size, sha256=composite_digest([hashlib.sha256(b"x").hexdigest()])
    )
    uri = "azureml://datastores/workspaceblobstore/paths/up/joined.bin"
    data = state.data.create(CALLER, workspace, Data(name="joined", path=uri, type="uri_file"))
    assert (data.sha256, data.hash_kind) == (hashlib.sha256(payload).hexdigest(), "content")
    monkeypatch.setattr(data_service, "HASH_READ_LIMIT", 4)
    listed = state.data.create(CALLER, workspace, Data(name="joined", path=uri, type="uri_file"))
    assert listed.hash_kind == "listing"
