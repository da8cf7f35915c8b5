"""Choosing a backend by URI scheme, credentials from the environment, and lazy optional imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stratus.artifacts import (
    ArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    MissingExtraError,
    UnknownSchemeError,
    UnsafePathError,
    open_artifact_store,
    register_backend,
    registered_schemes,
)
from stratus.artifacts import registry as registry_module

AZURITE_STYLE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


@pytest.fixture(autouse=True)
def _no_cloud_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "STRATUS_S3_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_local_paths_and_file_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = "file://" + (tmp_path / "a").resolve().as_posix()
    for uri in (
        str(tmp_path / "a"),
        f"file://{tmp_path / 'a'}",
        f"file://localhost{tmp_path / 'a'}",
        f"{tmp_path}/a/",
    ):
        store = open_artifact_store(uri)
        assert isinstance(store, LocalArtifactStore)
        assert store.uri == expected
    monkeypatch.chdir(tmp_path)
    assert open_artifact_store("relative").uri == "file://" + (tmp_path / "relative").resolve().as_posix()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert open_artifact_store("~/arts").uri == "file://" + (tmp_path / "home" / "arts").resolve().as_posix()
    with pytest.raises(ValueError, match="file:///absolute/path"):
        open_artifact_store("file://otherhost/x")
    with pytest.raises(ValueError, match="no storage options"):
        open_artifact_store(str(tmp_path), storage_options={"anon": True})


def test_azure_uris(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", AZURITE_STYLE)
    store = open_artifact_store("az://artifacts/stratus/workspaces")
    assert isinstance(store, FsspecArtifactStore)
    assert store.uri == "az://artifacts/stratus/workspaces"
    assert store.full_uri("ws/x") == "az://artifacts/stratus/workspaces/ws/x"
    assert store.fs.connection_string == AZURITE_STYLE
    assert store.sub("ws").uri == "az://artifacts/stratus/workspaces/ws"
    assert open_artifact_store("abfs://artifacts").uri == "abfs://artifacts"
    assert open_artifact_store("abfss://artifacts/p%20q").uri == "abfss://artifacts/p q"


def test_azure_credentials_from_options_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = open_artifact_store("az://cc1/x", storage_options={"connection_string": AZURITE_STYLE})
    assert explicit.fs.connection_string == AZURITE_STYLE  # type: ignore[attr-defined]
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "acct")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "a2V5")
    from_env = open_artifact_store("az://cc2/x")
    assert (from_env.fs.account_name, from_env.fs.account_key) == ("acct", "a2V5")  # type: ignore[attr-defined]
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME")
    hosted = open_artifact_store("abfs://cc3@myacct.dfs.core.windows.net/x")
    assert hosted.uri == "abfs://cc3/x"
    assert hosted.fs.account_name == "myacct"  # type: ignore[attr-defined]


def test_s3_uris_and_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_artifact_store(
        "s3://my.bucket/prefix", storage_options={"endpoint_url": "http://127.0.0.1:1"}
    )
    assert isinstance(store, FsspecArtifactStore)
    assert store.uri == "s3://my.bucket/prefix"
    assert store.fs.endpoint_url == "http://127.0.0.1:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    assert open_artifact_store("s3://bucket").fs.endpoint_url == "http://127.0.0.1:2"  # type: ignore[attr-defined]
    monkeypatch.setenv("STRATUS_S3_ENDPOINT_URL", "http://127.0.0.1:3")  # the Stratus-specific one wins
    assert open_artifact_store("s3://bucket").fs.endpoint_url == "http://127.0.0.1:3"  # type: ignore[attr-defined]
    nested = open_artifact_store(
        "s3://bucket", storage_options={"client_kwargs": {"endpoint_url": "http://h:4"}}
    )
    assert nested.fs.endpoint_url == "http://h:4"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("uri", "error", "match"),
    [
        ("gs://bucket/x", UnknownSchemeError, "'gs'.*known schemes: abfs, abfss, az, file, s3"),
        ("az://Bad_Container/x", ValueError, "valid container"),
        ("az://ab/x", ValueError, "valid container"),
        ("s3://UPPER/x", ValueError, "valid bucket"),
        ("s3:///x", ValueError, "valid bucket"),
        ("s3://bucket/x?versionId=1", ValueError, "query or fragment"),
        ("az://container/x#frag", ValueError, "query or fragment"),
        ("s3://user@bucket/x", ValueError, "s3://bucket/prefix"),
        ("s3://bucket/../other", UnsafePathError, "'..'"),
        ("az://container/%2e%2e/x", UnsafePathError, "'..'"),
    ],
)
def test_bad_uris(uri: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        open_artifact_store(uri, storage_options={"anon": True} if uri.startswith("az") else None)


@pytest.mark.parametrize(("scheme", "extra", "module"), [("az", "azure", "adlfs"), ("s3", "s3", "s3fs")])
def test_missing_extra_names_the_install_command(
    scheme: str, extra: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(MissingExtraError) as info:
        open_artifact_store(f"{scheme}://container/x")
    assert f"pip install 'stratus-ml[{extra}]'" in str(info.value)
    assert isinstance(info.value, ImportError)
    assert info.value.name == module


def test_importing_artifacts_does_not_import_optional_backends() -> None:
    code = (
        "import sys, stratus.artifacts, stratus.testing\n"
        "heavy = ('adlfs', 's3fs', 'botocore', 'boto3', 'aiobotocore', 'azure')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_register_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(registry_module, "_BACKENDS", dict(registry_module._BACKENDS))
    seen: list[tuple[str, dict[str, Any]]] = []

    def factory(uri: str, options: dict[str, Any]) -> ArtifactStore:
        seen.append((uri, options))
        return LocalArtifactStore(tmp_path)

    register_backend("Mem", factory)
    assert "mem" in registered_schemes()
    options = {"k": 1}
    open_artifact_store("mem://x", storage_options=options)
    assert seen == [("mem://x", {"k": 1})]
    assert seen[0][1] is not options  # factories get a copy they may change
    with pytest.raises(ValueError, match="already registered"):
        register_backend("mem", factory)
    register_backend("mem", factory, replace=True)
