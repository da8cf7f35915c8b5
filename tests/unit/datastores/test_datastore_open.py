"""Opening datastores as artifact stores and checking them: real Azurite, moto S3 and local folders."""

from __future__ import annotations

import socket
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from plugins.services import AzuriteService, MotoS3Service
from stratus.artifacts import FsspecArtifactStore, LocalArtifactStore, UnsafePathError
from stratus.datastores import check_reachable, open_datastore, verify_datastore
from stratus.errors import InvalidInputError

WRONG_KEY = "d3Jvbmcta2V5LWZvci1henVyaXRlLXRvdGFsbHktd3Jvbmc="


@pytest.fixture(autouse=True)
def _server_environment_is_not_the_datastores(monkeypatch: pytest.MonkeyPatch) -> None:
    """No cloud credentials or endpoints from the developer's shell, and never the EC2 metadata service."""
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/stratus-test-aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/stratus-test-aws-credentials")


def _round_trip(store: Any) -> None:
    """Write, read, list and delete through the store; unsafe paths are refused by the canonicaliser."""
    assert store.write("raw/a b.csv", b"x,y\n1,2\n").size == 8
    store.write("raw/nested/part-0.parquet", b"PAR1")
    assert store.read_bytes("raw/a%20b.csv") == b"x,y\n1,2\n"
    assert [e.path for e in store.list("raw")] == ["raw/a b.csv", "raw/nested"]
    assert [e.path for e in store.list("", recursive=True)] == ["raw/a b.csv", "raw/nested/part-0.parquet"]
    with pytest.raises(UnsafePathError):
        store.write("../escape.txt", b"no")
    with pytest.raises(UnsafePathError):
        store.read_bytes("raw/%2e%2e/%2e%2e/x")
    store.delete("raw/nested/part-0.parquet")
    assert [e.path for e in store.list("", recursive=True)] == ["raw/a b.csv"]


# -- Azure (Azurite) -----------------------------------------------------------------------------------


def _azure_config(azurite: AzuriteService, kind: str, container: str) -> dict[str, Any]:
    place = "container_name" if kind == "azure_blob" else "filesystem"
    endpoint = azurite.blob_endpoint.removeprefix("http://").rsplit("/", 1)[0]
    return {"account_name": azurite.account_name, place: container, "endpoint": endpoint, "protocol": "http"}


def _blob_names(azurite: AzuriteService, container: str) -> list[str]:
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(azurite.connection_string) as client:
        return sorted(client.get_container_client(container).list_blob_names())


@pytest.mark.azurite
@pytest.mark.parametrize("kind", ["azure_blob", "azure_data_lake_gen2"])
def test_azure_datastores_over_azurite_with_an_account_key(
    azurite: AzuriteService, azure_container: str, kind: str
) -> None:
    config = _azure_config(azurite, kind, azure_container)
    credentials = {"account_key": azurite.account_key}
    verify_datastore(kind, config, credentials)
    store = open_datastore(kind, config, credentials)
    assert isinstance(store, FsspecArtifactStore)
    assert store.uri == ("az://" if kind == "azure_blob" else "abfs://") + azure_container
    _round_trip(store)
    # Rooted at the container itself: the blob names are the datastore paths.
    assert _blob_names(azurite, azure_container) == ["raw/a b.csv"]
    check_reachable(store, kind, config)


@pytest.mark.azurite
def test_azure_sas_token(azurite: AzuriteService, azure_container: str) -> None:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(
        azurite.account_name,
        azure_container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, write=True, list=True, delete=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    config = _azure_config(azurite, "azure_blob", azure_container)
    verify_datastore("azure_blob", config, {"sas_token": "?" + sas})
    _round_trip(open_datastore("azure_blob", config, {"sas_token": sas}))


@pytest.mark.azurite
@pytest.mark.parametrize("kind", ["azure_blob", "azure_data_lake_gen2"])
def test_a_wrong_key_fails_the_check_naming_credentials(
    azurite: AzuriteService, azure_container: str, kind: str
) -> None:
    config = _azure_config(azurite, kind, azure_container)
    with pytest.raises(InvalidInputError, match="refused the datastore's credentials") as caught:
        verify_datastore(kind, config, {"account_key": WRONG_KEY})
    assert caught.value.field == "credentials"
    assert WRONG_KEY not in caught.value.message
    assert azure_container in caught.value.message


@pytest.mark.azurite
def test_a_bad_sas_token_fails_the_check_without_showing_it(
    azurite: AzuriteService, azure_container: str
) -> None:
    config = _azure_config(azurite, "azure_blob", azure_container)
    token = "sv=2021-08-06&sp=rl&sig=TOPSECRETSIGNATURE"
    with pytest.raises(InvalidInputError) as caught:
        verify_datastore("azure_blob", config, {"sas_token": token})
    assert caught.value.field == "credentials"
    assert "TOPSECRET" not in caught.value.message


@pytest.mark.azurite
def test_anonymous_access_reads_public_containers_only(azurite: AzuriteService, azure_container: str) -> None:
    from azure.storage.blob import BlobServiceClient

    config = _azure_config(azurite, "azure_blob", azure_container)
    with pytest.raises(InvalidInputError, match="anonymous") as caught:
        verify_datastore("azure_blob", config, None)
    assert caught.value.field == "credentials"

    with BlobServiceClient.from_connection_string(azurite.connection_string) as client:
        container = client.get_container_client(azure_container)
        container.set_container_access_policy(signed_identifiers={}, public_access="container")
        container.upload_blob("public/readme.txt", b"open data")
    verify_datastore("azure_blob", config, {})
    store = open_datastore("azure_blob", config, None)
    assert store.read_bytes("public/readme.txt") == b"open data"
    assert [e.path for e in store.list("public")] == ["public/readme.txt"]


@pytest.mark.azurite
def test_the_servers_azure_environment_is_never_used(
    azurite: AzuriteService, azure_container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without credentials a datastore is anonymous, even when the server's own account is configured."""
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", azurite.account_name)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", azurite.account_key)
    config = _azure_config(azurite, "azure_blob", azure_container)
    with pytest.raises(InvalidInputError) as caught:
        verify_datastore("azure_blob", config, None)
    assert caught.value.field == "credentials"
    with pytest.raises(InvalidInputError):
        verify_datastore("azure_blob", config, {"account_key": WRONG_KEY})


@pytest.mark.azurite
@pytest.mark.parametrize("kind", ["azure_blob", "azure_data_lake_gen2"])
def test_a_missing_container_fails_the_check_naming_it(azurite: AzuriteService, kind: str) -> None:
    config = _azure_config(azurite, kind, "no-such-container")
    with pytest.raises(InvalidInputError, match="does not exist") as caught:
        verify_datastore(kind, config, {"account_key": azurite.account_key})
    assert caught.value.field == ("container_name" if kind == "azure_blob" else "filesystem")
    # Writing never creates the container either.
    store = open_datastore(kind, config, {"account_key": azurite.account_key})
    from azure.core.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):
        store.write("x.txt", b"x")
    assert "no-such-container" not in [c["name"] for c in _containers(azurite)]


def _containers(azurite: AzuriteService) -> list[Any]:
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(azurite.connection_string) as client:
        return list(client.list_containers())


class _DroppingEndpoint:
    """A 127.0.0.1 port that accepts each connection and closes it at once, counting them: how many
    attempts a check makes is the evidence that it gives up quickly (SDK defaults retry for minutes)."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.attempts = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed
            self.attempts += 1
            connection.close()

    def __enter__(self) -> _DroppingEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._socket.close()


# A check retries once; each try may be repeated once by the HTTP stack on a dropped connection. With the
# SDKs' defaults the same check makes 8 (Azure) or 20 (S3) attempts over 15-80 s.
FAIL_FAST_ATTEMPTS = 4


@pytest.mark.timeout(60)  # a check that retried like the SDK defaults would take longer than this
def test_an_unreachable_azure_endpoint_fails_fast_naming_endpoint() -> None:
    with _DroppingEndpoint() as endpoint:
        config = {
            "account_name": "devstoreaccount1",
            "container_name": "data",
            "endpoint": f"127.0.0.1:{endpoint.port}",
            "protocol": "http",
        }
        with pytest.raises(InvalidInputError, match="could not reach") as caught:
            verify_datastore("azure_blob", config, {"account_key": WRONG_KEY})
    assert caught.value.field == "endpoint"
    assert f"127.0.0.1:{endpoint.port}" in caught.value.message
    assert 1 <= endpoint.attempts <= FAIL_FAST_ATTEMPTS


def test_a_service_principal_needs_https() -> None:
    config = {
        "account_name": "devstoreaccount1",
        "filesystem": "raw",
        "endpoint": "127.0.0.1:10000",
        "protocol": "http",
    }
    principal = {
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "client_id": "app",
        "client_secret": "s",
    }
    with pytest.raises(InvalidInputError, match="https") as caught:
        open_datastore("azure_data_lake_gen2", config, principal)
    assert caught.value.field == "protocol"


def test_a_service_principal_store_opens_without_contacting_azure() -> None:
    principal = {
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "client_id": "app",
        "client_secret": "s",
        "authority_url": "https://login.microsoftonline.com",
        "resource_url": "https://storage.azure.com/",
    }
    store = open_datastore("azure_data_lake_gen2", {"account_name": "acct", "filesystem": "raw"}, principal)
    assert isinstance(store, FsspecArtifactStore)
    assert store.uri == "abfs://raw"
    assert store.fs.account_url == "https://acct.blob.core.windows.net"
    assert store.fs.account_key is None


# -- S3 (moto) -----------------------------------------------------------------------------------------


def _s3_config(moto_s3: MotoS3Service, bucket: str, **extra: str) -> dict[str, Any]:
    return {"bucket": bucket, "endpoint_url": moto_s3.endpoint_url, "region": moto_s3.region, **extra}


def _s3_credentials(moto_s3: MotoS3Service) -> dict[str, str]:
    return {"access_key_id": moto_s3.access_key_id, "secret_access_key": moto_s3.secret_access_key}


def _keys(moto_s3: MotoS3Service, bucket: str) -> list[str]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=moto_s3.endpoint_url,
        aws_access_key_id=moto_s3.access_key_id,
        aws_secret_access_key=moto_s3.secret_access_key,
        region_name=moto_s3.region,
    )
    try:
        return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))
    finally:
        client.close()


@pytest.mark.s3
@pytest.mark.parametrize("prefix", ["", "team/a"])
def test_s3_datastore_over_moto(moto_s3: MotoS3Service, s3_bucket: str, prefix: str) -> None:
    config = _s3_config(moto_s3, s3_bucket, prefix=prefix)
    verify_datastore("s3", config, _s3_credentials(moto_s3))
    store = open_datastore("s3", config, _s3_credentials(moto_s3))
    assert store.uri == f"s3://{s3_bucket}" + (f"/{prefix}" if prefix else "")
    _round_trip(store)
    assert _keys(moto_s3, s3_bucket) == [f"{prefix}/raw/a b.csv" if prefix else "raw/a b.csv"]


@pytest.mark.s3
def test_s3_prefixes_are_separate(moto_s3: MotoS3Service, s3_bucket: str) -> None:
    credentials = _s3_credentials(moto_s3)
    team = open_datastore("s3", _s3_config(moto_s3, s3_bucket, prefix="team"), credentials)
    team2 = open_datastore("s3", _s3_config(moto_s3, s3_bucket, prefix="team2"), credentials)
    team.write("x.txt", b"1")
    team2.write("y.txt", b"2")
    assert [e.path for e in team.list("", recursive=True)] == ["x.txt"]
    assert [e.path for e in team2.list("", recursive=True)] == ["y.txt"]


@pytest.mark.s3
def test_s3_without_credentials_is_anonymous_not_the_servers_identity(
    moto_s3: MotoS3Service, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's own AWS identity may reach buckets a datastore creator must not (the artifact store's).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "server-own-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "server-own-secret")
    config = _s3_config(moto_s3, s3_bucket)
    store = open_datastore("s3", config, None)
    fs, _ = store.filesystem()
    assert fs.anon is True and not fs.key and not fs.secret
    verify_datastore("s3", config, None)  # moto serves unsigned requests, as a public bucket would
    signed, _ = open_datastore("s3", config, _s3_credentials(moto_s3)).filesystem()
    assert signed.anon is False and signed.key == moto_s3.access_key_id


@pytest.mark.s3
def test_a_missing_bucket_fails_the_check_naming_bucket(moto_s3: MotoS3Service) -> None:
    with pytest.raises(InvalidInputError, match="does not exist") as caught:
        verify_datastore("s3", _s3_config(moto_s3, "no-such-bucket-here"), _s3_credentials(moto_s3))
    assert caught.value.field == "bucket"


@pytest.mark.timeout(60)  # a check that retried like the SDK defaults would take longer than this
def test_an_unreachable_s3_endpoint_fails_fast_naming_endpoint_url() -> None:
    with _DroppingEndpoint() as endpoint:
        config = {
            "bucket": "data",
            "endpoint_url": f"http://127.0.0.1:{endpoint.port}",
            "region": "us-east-1",
        }
        with pytest.raises(InvalidInputError, match="could not reach") as caught:
            verify_datastore("s3", config, {"access_key_id": "a", "secret_access_key": "TOPSECRET"})
    assert caught.value.field == "endpoint_url"
    assert f"http://127.0.0.1:{endpoint.port}" in caught.value.message
    assert "TOPSECRET" not in caught.value.message
    assert 1 <= endpoint.attempts <= FAIL_FAST_ATTEMPTS


def test_a_missing_s3_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # makes `import s3fs` raise ImportError
    with pytest.raises(InvalidInputError, match=r"'s3fs' package.*stratus-ml\[s3\]") as caught:
        open_datastore("s3", {"bucket": "data"}, None)
    assert caught.value.field == "type"


# -- local ---------------------------------------------------------------------------------------------


@pytest.fixture
def local_roots(tmp_path: Path) -> tuple[Path, Path]:
    allowed = tmp_path / "shared"
    home = tmp_path / "shared" / "stratus-home"
    (allowed / "team").mkdir(parents=True)
    home.mkdir()
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "secret.txt").write_text("no")
    return allowed, home


def test_local_datastore(local_roots: tuple[Path, Path]) -> None:
    allowed, home = local_roots
    config = {"path": str(allowed / "team")}
    verify_datastore("local", config, None, allowed_local_roots=[allowed], forbidden_local_paths=[home])
    store = open_datastore("local", config, None, allowed_local_roots=[allowed], forbidden_local_paths=[home])
    assert isinstance(store, LocalArtifactStore)
    assert store.root_path == (allowed / "team").resolve()
    _round_trip(store)
    assert (allowed / "team" / "raw" / "a b.csv").read_bytes() == b"x,y\n1,2\n"


def test_local_datastores_are_refused_outside_the_roots(
    local_roots: tuple[Path, Path], tmp_path: Path
) -> None:
    allowed, home = local_roots
    (allowed / "link-out").symlink_to(tmp_path / "private")
    for path, reason in [
        (tmp_path / "private", "outside the folders"),
        (allowed / "link-out", "outside the folders"),
        (home, "server's own folder"),
        (allowed, "server's own folder"),
    ]:
        with pytest.raises(InvalidInputError, match=reason) as caught:
            open_datastore(
                "local",
                {"path": str(path)},
                None,
                allowed_local_roots=[allowed],
                forbidden_local_paths=[home],
            )
        assert caught.value.field == "path"


def test_a_symlink_inside_a_local_datastore_cannot_lead_out(
    local_roots: tuple[Path, Path], tmp_path: Path
) -> None:
    allowed, home = local_roots
    store = open_datastore(
        "local",
        {"path": str(allowed / "team")},
        None,
        allowed_local_roots=[allowed],
        forbidden_local_paths=[home],
    )
    (allowed / "team" / "leak").symlink_to(tmp_path / "private")
    with pytest.raises(UnsafePathError, match="symlink"):
        store.read_bytes("leak/secret.txt")
    with pytest.raises(UnsafePathError, match="symlink"):
        store.write("leak/new.txt", b"x")
    assert not (tmp_path / "private" / "new.txt").exists()


def test_a_local_datastore_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not an existing folder") as caught:
        open_datastore("local", {"path": str(tmp_path / "typo")}, None)
    assert caught.value.field == "path"
    assert not (tmp_path / "typo").exists()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="not an existing folder"):
        open_datastore("local", {"path": str(tmp_path / "file.txt")}, None)


def test_local_datastores_take_no_credentials(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as caught:
        open_datastore("local", {"path": str(tmp_path)}, {"account_key": "a2V5"})
    assert caught.value.field == "credentials"


def test_a_local_folder_removed_after_opening_fails_the_check(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    store = open_datastore("local", {"path": str(folder)}, None)
    check_reachable(store, "local", {"path": str(folder)})
    folder.rmdir()
    with pytest.raises(InvalidInputError, match="cannot list") as caught:
        check_reachable(store, "local", {"path": str(folder)})
    assert caught.value.field == "path"


def test_unknown_types_are_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        open_datastore("gcs", {"bucket": "x"}, None)
    assert caught.value.field == "type"
