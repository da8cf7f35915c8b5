"""``stratus datastore``, ``data`` and ``environment`` against a real server process: Azure ML YAML in,
the API body out, local files uploaded and downloaded, uv builds streamed, credentials never printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from plugins.package_index import serve_index
from plugins.services import AzuriteService
from plugins.stratus_server import LiveServer, cli_invoker, start_server

IRIS_CSV = "sepal_length,sepal_width,petal_length,petal_width,species\n" + "".join(
    f"{5 + i / 10:.1f},3.{i % 10},1.{i % 7},0.{i % 3},{('setosa', 'versicolor', 'virginica')[i % 3]}\n"
    for i in range(30)
)


@pytest.fixture(scope="module")
def local_roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder under which the server lets Owners create ``type: local`` datastores."""
    return tmp_path_factory.mktemp("local-roots")


@pytest.fixture(scope="module")
def local_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's default index, so environment builds never reach PyPI: hand-written wheels named six
    (what the YAML asks for) and mlflow-skinny (what every plan adds). A CLI test needs no more."""
    for index in serve_index(tmp_path_factory.mktemp("index")):
        index.publish("1.17.0", package="six")
        index.publish("99.0.0", package="mlflow-skinny")
        yield index.url


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, local_roots: Path, local_index: str
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("asset-cli") / "home"
    live = start_server(
        home, env={"STRATUS_LOCAL_DATASTORE_ROOTS": str(local_roots), "UV_INDEX_URL": local_index}
    )
    yield live
    live.stop()


@pytest.fixture
def cli(server: LiveServer, monkeypatch: pytest.MonkeyPatch):
    return cli_invoker(server, monkeypatch)


def as_json(result) -> object:
    return json.loads(result.stdout)


def write_yaml(path: Path, body: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


# --- datastores -------------------------------------------------------------------------------------


def test_local_datastore_lifecycle_and_builtin_default(cli, local_roots: Path, tmp_path: Path) -> None:
    (local_roots / "shared").mkdir()
    spec = write_yaml(
        tmp_path / "local.yml",
        {
            "$schema": "https://azuremlschemas.azureedge.net/latest/local.schema.json",
            "name": "from_yaml",
            "type": "local",
            "path": str(local_roots / "shared"),
            "description": "a folder on the server",
        },
    )
    created = as_json(cli("datastore", "create", "--file", str(spec), "--name", "shared_folder"))
    assert created["name"] == "shared_folder" and created["type"] == "local"
    assert created["credentials_type"] == "none" and created["is_default"] is False

    listed = as_json(cli("datastore", "list", "-o", "json"))
    by_name = {d["name"]: d for d in listed}
    assert {"shared_folder", "workspaceblobstore"} <= set(by_name)
    assert by_name["workspaceblobstore"]["is_default"] is True
    table = cli("datastore", "list", "-o", "table").stdout
    assert "shared_folder" in table and "credentials_type" in table
    shown = cli("datastore", "show", "-n", "shared_folder").stdout
    assert json.loads(shown) == by_name["shared_folder"]
    assert "credentials" not in json.loads(shown)

    # The built-in default cannot go; a deleted datastore is gone (exit 3), and deleting prints nothing.
    refused = cli("datastore", "delete", "--name", "workspaceblobstore", code=2)
    assert "workspaceblobstore" in refused.stderr
    assert cli("datastore", "delete", "--name", "shared_folder").stdout == ""
    cli("datastore", "show", "--name", "shared_folder", code=3)
    cli("datastore", "delete", "--name", "shared_folder", code=3)
    # A path outside STRATUS_LOCAL_DATASTORE_ROOTS is bad input naming the field.
    outside = write_yaml(
        tmp_path / "outside.yml", {"name": "outside", "type": "local", "path": str(tmp_path)}
    )
    assert "path" in cli("datastore", "create", "-f", str(outside), code=2).stderr


@pytest.mark.azurite
def test_blob_datastore_credentials_are_never_printed(
    cli, azurite: AzuriteService, azure_container: str, tmp_path: Path
) -> None:
    spec = write_yaml(
        tmp_path / "blob.yml",
        {
            "$schema": "https://azuremlschemas.azureedge.net/latest/azureBlob.schema.json",
            "name": "azurite_blob",
            "type": "azure_blob",
            "account_name": azurite.account_name,
            "container_name": azure_container,
            "endpoint": urlparse(azurite.blob_endpoint).netloc,
            "protocol": "http",
            "credentials": {"account_key": azurite.account_key},
        },
    )
    outputs = [cli("datastore", "create", "-f", str(spec)).stdout]
    outputs.append(cli("datastore", "show", "-n", "azurite_blob", "-o", "json").stdout)
    outputs.append(cli("datastore", "show", "-n", "azurite_blob", "-o", "table").stdout)
    outputs.append(cli("datastore", "list", "-o", "json").stdout)
    assert all(azurite.account_key not in out for out in outputs)
    shown = json.loads(outputs[1])
    assert shown["credentials_type"] == "account_key" and shown.get("credentials") is None
    assert shown["container_name"] == azure_container
    cli("datastore", "delete", "-n", "azurite_blob")


# --- data -------------------------------------------------------------------------------------------


def test_data_versions_labels_archive_and_download(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir = tmp_path / "spec"
    (spec_dir / "data").mkdir(parents=True)
    (spec_dir / "data" / "iris.csv").write_text(IRIS_CSV)
    spec = write_yaml(
        spec_dir / "data.yml",
        {"name": "iris", "type": "uri_file", "path": "./data/iris.csv", "description": "flowers"},
    )
    monkeypatch.chdir(tmp_path)  # the path is relative to the YAML's folder, not to here

    first = as_json(cli("data", "create", "--file", str(spec)))
    assert first["version"] == "1" and first["type"] == "uri_file" and first["description"] == "flowers"
    assert first["path"].startswith("azureml://datastores/workspaceblobstore/paths/")
    shown = as_json(cli("data", "show", "-n", "iris", "-v", "1", "-o", "json"))
    assert shown["size"] == len(IRIS_CSV.encode())
    assert shown["profile"]["rows"] == 30 and shown["profile"]["columns"] == 5
    table = cli("data", "show", "-n", "iris", "-v", "1", "-o", "table").stdout
    assert "Profile: 30 rows, 5 columns" in table
    assert all(f["name"] in table for f in shown["profile"]["fields"]) and "distinct" in table
    assert as_json(cli("data", "show", "-n", "iris", "-v", "1", "--query", "profile.rows")) == 30

    assert as_json(cli("data", "create", "-f", str(spec)))["version"] == "2"
    assert as_json(cli("data", "show", "--name", "iris", "--label", "latest"))["version"] == "2"
    versions = as_json(cli("data", "list", "--name", "iris"))
    assert sorted(d["version"] for d in versions) == ["1", "2"]
    assert "iris" in cli("data", "list", "-o", "table").stdout

    # Archived: out of lists and of latest, still there by number, back after restore.
    archived = as_json(cli("data", "archive", "-n", "iris", "-v", "2"))
    assert archived["version"] == "2" and archived["is_archived"] is True
    assert as_json(cli("data", "show", "-n", "iris", "-l", "latest"))["version"] == "1"
    assert [d["version"] for d in as_json(cli("data", "list", "-n", "iris"))] == ["1"]
    with_archived = as_json(cli("data", "list", "-n", "iris", "--include-archived"))
    assert {d["version"]: d["is_archived"] for d in with_archived} == {"1": False, "2": True}
    assert as_json(cli("data", "show", "-n", "iris", "-v", "2"))["is_archived"] is True
    assert as_json(cli("data", "restore", "-n", "iris", "-v", "2"))["is_archived"] is False
    assert as_json(cli("data", "show", "-n", "iris", "-l", "latest"))["version"] == "2"

    report = as_json(cli("data", "download", "-n", "iris", "-l", "latest", "--download-path", "out"))
    assert report["version"] == "2" and report["files"] == ["iris.csv"]
    assert (Path(report["download_path"]) / "iris.csv").read_text() == IRIS_CSV
    assert Path(report["download_path"]).resolve() == (tmp_path / "out" / "iris").resolve()

    # Without a file: --name and --path, the path relative to the current folder.
    monkeypatch.chdir(spec_dir)
    flags = as_json(cli("data", "create", "-n", "iris-flags", "-p", "data/iris.csv", "-t", "uri_file"))
    assert flags["name"] == "iris-flags" and flags["version"] == "1"


def test_data_bad_input_exit_codes(cli, tmp_path: Path) -> None:
    (tmp_path / "iris.csv").write_text(IRIS_CSV)
    base = {"name": "checked", "type": "uri_file", "path": "iris.csv"}
    schema = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
    good = write_yaml(tmp_path / "good.yml", {"$schema": schema.format("data"), **base})
    assert as_json(cli("data", "create", "-f", str(good)))["name"] == "checked"
    # az's --set and --name change the file's fields before they are checked.
    changed = as_json(
        cli(
            "data",
            "create",
            "-f",
            str(good),
            "--name",
            "renamed",
            "--set",
            "tags.team=vision",
            "--set",
            "version=7",
        )
    )
    assert (changed["name"], changed["version"], changed["tags"]) == ("renamed", "7", {"team": "vision"})
    assert "tags is not a list" in cli("data", "create", "-f", str(good), "--set", "tags[0]=x", code=2).stderr
    assert "colour" in cli("data", "create", "-f", str(good), "--set", "colour=red", code=2).stderr
    cli("data", "create", "-n", "x", "-p", "iris.csv", "--set", "tags.a=b", code=2)  # --set needs --file

    wrong_schema = write_yaml(tmp_path / "model.yml", {"$schema": schema.format("model"), **base})
    assert "$schema" in cli("data", "create", "-f", str(wrong_schema), code=2).stderr
    unknown = write_yaml(tmp_path / "unknown.yml", {**base, "colour": "red"})
    assert "colour" in cli("data", "create", "-f", str(unknown), code=2).stderr
    folder = write_yaml(tmp_path / "folder.yml", {**base, "path": "."})
    assert "uri_file" in cli("data", "create", "-f", str(folder), code=2).stderr
    cli("data", "create", "-n", "no-path", code=2)
    cli("data", "show", "-n", "checked", code=2)  # neither --version nor --label
    cli("data", "show", "-n", "checked", "-v", "1", "-l", "latest", code=2)
    cli("data", "show", "-n", "checked", "-v", "9", code=3)
    never = cli("data", "show", "-n", "never-registered", "-l", "latest", code=3)
    assert "data asset 'never-registered' not found" in never.stderr and "archived" not in never.stderr
    # Without --version, archive and restore act on every version.
    assert [d["is_archived"] for d in as_json(cli("data", "archive", "-n", "checked"))] == [True]
    all_archived = cli("data", "show", "-n", "checked", "-l", "latest", code=3)
    assert "no version that is not archived" in " ".join(all_archived.stderr.split())
    cli("data", "restore", "-n", "checked")
    assert as_json(cli("data", "show", "-n", "checked", "-l", "latest"))["version"] == "1"


# --- environments -----------------------------------------------------------------------------------


def test_environment_build_stream_and_download(cli, tmp_path: Path) -> None:
    spec = write_yaml(
        tmp_path / "env.yml",
        {
            "$schema": "https://azuremlschemas.azureedge.net/latest/environment.schema.json",
            "name": "six-env",
            "python": "3.11",
            "pip": ["six"],
        },
    )
    created = as_json(cli("environment", "create", "--file", str(spec)))
    assert created["version"] == "1" and created["status"] == "Registered"

    built = cli("environment", "build", "-n", "six-env", "-v", "1", "--stream")
    assert built.stderr.strip(), "the build log goes to stderr"
    final = json.loads(built.stdout)  # stdout holds the entity only
    assert final["status"] == "Succeeded" and final["python_version"].startswith("3.11")
    shown = as_json(cli("environment", "show", "-n", "six-env", "--label", "latest"))
    assert shown["status"] == "Succeeded" and shown["spec_hash"] == final["spec_hash"]
    assert "Succeeded" in cli("environment", "list", "-o", "table").stdout

    report = as_json(cli("environment", "download", "-n", "six-env", "-v", "1", "-p", str(tmp_path / "dl")))
    assert report["files"] == ["environment.yml", "lock.txt"]
    folder = Path(report["download_path"])
    downloaded = yaml.safe_load((folder / "environment.yml").read_text())
    assert downloaded["name"] == "six-env" and downloaded["pip"] == ["six"]
    assert "six==1.17.0" in (folder / "lock.txt").read_text()

    # The same spec from flags is a new environment with the same build (a cache hit).
    flags = as_json(cli("environment", "create", "-n", "six-flags", "--python", "3.11", "--pip", "six"))
    assert flags["spec_hash"] == final["spec_hash"]
    assert as_json(cli("environment", "build", "-n", "six-flags", "-v", "1"))["status"] == "Succeeded"

    # --label resolves before archiving: the version it named is the one archived and shown.
    assert as_json(cli("environment", "archive", "-n", "six-env", "-l", "latest"))["is_archived"] is True
    cli("environment", "show", "-n", "six-env", "-l", "latest", code=3)
    cli("environment", "restore", "-n", "six-env", "-v", "1")
    assert as_json(cli("environment", "show", "-n", "six-env", "-l", "latest"))["version"] == "1"


def test_environment_curated_and_bad_input(cli, tmp_path: Path) -> None:
    curated = as_json(cli("environment", "show", "--name", "AzureML-sklearn-1.5", "--label", "latest"))
    assert curated["name"] == "AzureML-sklearn-1.5" and curated["python"] == "3.11"
    assert any(line.startswith("scikit-learn") for line in curated["pip"])

    float_python = tmp_path / "float.yml"
    float_python.write_text("name: floaty\npython: 3.10\npip: [six]\n")
    assert "python" in cli("environment", "create", "-f", str(float_python), code=2).stderr
    assert "image" in cli("environment", "create", "-n", "formless", code=2).stderr
    cli("environment", "create", code=2)
    cli("environment", "build", "-n", "six-env", "-v", "1", "--stream", "--no-wait", code=2)
    cli("environment", "build", "-n", "never-registered", "-v", "1", code=3)
    # A build that fails exits 1 (an error, not a usage mistake) with uv's reason printed once: in the
    # streamed log, or in the error when nothing was streamed.
    cli("environment", "create", "-n", "unsolvable", "--python", "3.11", "--pip", "six==0.0.1")
    failed = cli("environment", "build", "-n", "unsolvable", "-v", "1", "--stream", code=1)
    assert failed.stdout == "" and "six==0.0.1" in failed.stderr and "failed to build" in failed.stderr
    shown = as_json(cli("environment", "show", "-n", "unsolvable", "-v", "1"))
    assert shown["status"] == "Failed"
    reason = shown["build_error"].strip().splitlines()[-1].strip()
    assert " ".join(failed.stderr.split()).count(" ".join(reason.split())) == 1, (reason, failed.stderr)
    again = cli("environment", "build", "-n", "unsolvable", "-v", "1", code=1)
    assert " ".join(again.stderr.split()).count(" ".join(reason.split())) == 1, (reason, again.stderr)
