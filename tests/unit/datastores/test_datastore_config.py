"""Checking and normalising datastore config and credentials, and the allowed roots of local datastores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from stratus.datastores import (
    LOCAL_ROOTS_VARIABLE,
    check_local_root,
    normalize_config,
    normalize_credentials,
)
from stratus.errors import InvalidInputError

KEY = "a2V5LWJ5dGVzLWZvci10ZXN0cw=="  # base64, not a real key
SECRET = "TOPSECRET-value"


# -- config --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "expected"),
    [
        (
            "azure_blob",
            {"account_name": "acct", "container_name": "data"},
            {
                "account_name": "acct",
                "container_name": "data",
                "endpoint": "core.windows.net",
                "protocol": "https",
            },
        ),
        (
            "azure_blob",
            {"account_name": "acct", "container_name": "data", "endpoint": None, "protocol": "WASBS"},
            {
                "account_name": "acct",
                "container_name": "data",
                "endpoint": "core.windows.net",
                "protocol": "wasbs",
            },
        ),
        (
            "azure_data_lake_gen2",
            {
                "account_name": "devstoreaccount1",
                "filesystem": "raw",
                "endpoint": "127.0.0.1:10000",
                "protocol": "http",
            },
            {
                "account_name": "devstoreaccount1",
                "filesystem": "raw",
                "endpoint": "127.0.0.1:10000",
                "protocol": "http",
            },
        ),
        ("s3", {"bucket": "data", "prefix": None, "region": None}, {"bucket": "data"}),
        (
            "s3",
            {
                "bucket": "my.data-1",
                "prefix": "/team//a/",
                "endpoint_url": "http://127.0.0.1:9000/",
                "region": "EU-west-1",
            },
            {
                "bucket": "my.data-1",
                "prefix": "team/a",
                "endpoint_url": "http://127.0.0.1:9000",
                "region": "eu-west-1",
            },
        ),
        ("local", {"path": "/srv/shared/"}, {"path": "/srv/shared"}),
    ],
)
def test_normalize_config(kind: str, config: dict[str, Any], expected: dict[str, Any]) -> None:
    assert normalize_config(kind, config) == expected


BLOB = {"account_name": "acct", "container_name": "data"}


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("gcs", {}, "type"),
        ("azure_blob", {**BLOB, "acount_name": "x"}, "acount_name"),
        ("azure_blob", {"container_name": "data"}, "account_name"),
        ("azure_blob", {**BLOB, "account_name": "Acct"}, "account_name"),
        ("azure_blob", {**BLOB, "account_name": "ac"}, "account_name"),
        ("azure_blob", {**BLOB, "container_name": "Data"}, "container_name"),
        ("azure_blob", {**BLOB, "container_name": "a--b"}, "container_name"),
        ("azure_blob", {**BLOB, "container_name": "-ab"}, "container_name"),
        ("azure_blob", {**BLOB, "container_name": 7}, "container_name"),
        ("azure_blob", {**BLOB, "endpoint": "https://core.windows.net"}, "endpoint"),
        ("azure_blob", {**BLOB, "endpoint": "core.windows.net/x"}, "endpoint"),
        ("azure_blob", {**BLOB, "endpoint": "127.0.0.1:99999"}, "endpoint"),
        ("azure_blob", {**BLOB, "endpoint": "127.0.0.1:0"}, "endpoint"),
        ("azure_blob", {**BLOB, "protocol": "ftp"}, "protocol"),
        ("azure_blob", {**BLOB, "protocol": "abfss"}, "protocol"),
        (
            "azure_data_lake_gen2",
            {"account_name": "acct", "filesystem": "raw", "protocol": "wasbs"},
            "protocol",
        ),
        ("azure_data_lake_gen2", {"account_name": "acct", "container_name": "raw"}, "container_name"),
        ("s3", {}, "bucket"),
        ("s3", {"bucket": "My_Bucket"}, "bucket"),
        ("s3", {"bucket": "a..b"}, "bucket"),
        ("s3", {"bucket": "data", "prefix": "team/../x"}, "prefix"),
        ("s3", {"bucket": "data", "prefix": "%2e%2e/x"}, "prefix"),
        ("s3", {"bucket": "data", "endpoint_url": "ftp://host"}, "endpoint_url"),
        ("s3", {"bucket": "data", "endpoint_url": "http://key:secret@host"}, "endpoint_url"),
        ("s3", {"bucket": "data", "endpoint_url": "http://host/?x=1"}, "endpoint_url"),
        ("s3", {"bucket": "data", "region": "us east"}, "region"),
        ("local", {}, "path"),
        ("local", {"path": "relative/dir"}, "path"),
        ("local", {"path": "/srv/../etc"}, "path"),
        ("local", {"path": "/srv/a\x00b"}, "path"),
    ],
)
def test_normalize_config_names_the_bad_field(kind: str, config: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        normalize_config(kind, config)
    assert caught.value.field == field
    assert field in caught.value.message


def test_config_must_be_a_mapping() -> None:
    with pytest.raises(InvalidInputError) as caught:
        normalize_config("s3", ["bucket"])  # type: ignore[arg-type]
    assert caught.value.field == "config"


# -- credentials ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "credentials", "expected"),
    [
        ("azure_blob", None, None),
        ("azure_blob", {}, None),
        ("azure_blob", {"account_key": None}, None),
        ("local", {}, None),
        ("azure_blob", {"account_key": KEY}, {"account_key": KEY}),
        ("azure_blob", {"sas_token": "?sv=2020-01-01&sig=abc"}, {"sas_token": "sv=2020-01-01&sig=abc"}),
        ("azure_data_lake_gen2", {"account_key": f" {KEY} "}, {"account_key": KEY}),
        (
            "azure_data_lake_gen2",
            {"tenant_id": "t", "client_id": "c", "client_secret": "s", "authority_url": None},
            {"tenant_id": "t", "client_id": "c", "client_secret": "s"},
        ),
        (
            "azure_data_lake_gen2",
            {
                "tenant_id": "t",
                "client_id": "c",
                "client_secret": "s",
                "authority_url": "https://login.microsoftonline.com",
                "resource_url": "https://storage.azure.com/",
            },
            {
                "tenant_id": "t",
                "client_id": "c",
                "client_secret": "s",
                "authority_url": "https://login.microsoftonline.com",
                "resource_url": "https://storage.azure.com/",
            },
        ),
        (
            "s3",
            {"access_key_id": "AKIA", "secret_access_key": "s"},
            {"access_key_id": "AKIA", "secret_access_key": "s"},
        ),
    ],
)
def test_normalize_credentials(
    kind: str, credentials: dict[str, Any] | None, expected: dict[str, str] | None
) -> None:
    assert normalize_credentials(kind, credentials) == expected


@pytest.mark.parametrize(
    ("kind", "credentials", "field"),
    [
        ("azure_blob", {"account_key": KEY, "sas_token": SECRET}, "credentials"),
        ("azure_blob", {"acount_key": SECRET}, "credentials.acount_key"),
        (
            "azure_blob",
            {"tenant_id": "t", "client_id": "c", "client_secret": SECRET},
            "credentials.client_id",
        ),
        ("azure_blob", {"account_key": SECRET + "!"}, "credentials.account_key"),
        ("azure_blob", {"account_key": ""}, "credentials.account_key"),
        ("azure_blob", {"account_key": "   "}, "credentials.account_key"),
        ("azure_blob", {"account_key": 12}, "credentials.account_key"),
        ("azure_blob", {"sas_token": SECRET + ";AccountKey=x"}, "credentials.sas_token"),
        ("azure_blob", {"sas_token": SECRET + "\n"}, "credentials.sas_token"),
        ("azure_data_lake_gen2", {"sas_token": SECRET}, "credentials.sas_token"),
        ("azure_data_lake_gen2", {"tenant_id": "t", "client_id": SECRET}, "credentials"),
        ("azure_data_lake_gen2", {"account_key": KEY, "client_id": SECRET}, "credentials"),
        ("s3", {"access_key_id": SECRET}, "credentials"),
        ("s3", {"access_key_id": "a", "secret_access_key": SECRET, "token": "t"}, "credentials.token"),
        ("local", {"account_key": SECRET}, "credentials"),
        ("azure_blob", [SECRET], "credentials"),
    ],
)
def test_bad_credentials_name_the_field_and_never_the_secret(kind: str, credentials: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        normalize_credentials(kind, credentials)
    assert caught.value.field == field
    assert SECRET not in caught.value.message


# -- local roots ---------------------------------------------------------------------------------------


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """An allowed root holding the server's home (forbidden), as when the root is a whole disk."""
    allowed = tmp_path / "allowed"
    home = allowed / "home" / ".stratus"
    (allowed / "data" / "set").mkdir(parents=True)
    home.mkdir(parents=True)
    (tmp_path / "allowed2").mkdir()
    (tmp_path / "outside").mkdir()
    return allowed, home


def test_paths_under_an_allowed_root_are_accepted(roots: tuple[Path, Path], tmp_path: Path) -> None:
    allowed, home = roots
    assert check_local_root(allowed / "data", [allowed], [home]) == (allowed / "data").resolve()
    assert (
        check_local_root(str(allowed / "data" / "set"), [allowed], [home])
        == (allowed / "data" / "set").resolve()
    )
    assert check_local_root(allowed / "not-yet", [allowed], [home]) == (allowed / "not-yet").resolve()
    assert (
        check_local_root(f"{allowed}/data/", [tmp_path / "outside", allowed], [home])
        == (allowed / "data").resolve()
    )
    # An allowed root that is itself a symlink is judged by where it leads.
    (tmp_path / "root-link").symlink_to(allowed)
    assert (
        check_local_root(allowed / "data", [tmp_path / "root-link"], [home]) == (allowed / "data").resolve()
    )


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("outside", "outside the folders"),
        ("allowed2", "outside the folders"),  # a string prefix of the root is not inside it
        ("", "outside the folders"),
        ("allowed/home/.stratus", "overlaps the server's own folder"),
        ("allowed/home/.stratus/workspaces", "overlaps the server's own folder"),
        ("allowed/home", "overlaps the server's own folder"),  # would contain the home
        ("allowed", "overlaps the server's own folder"),
    ],
)
def test_paths_outside_the_roots_or_touching_the_home_are_refused(
    roots: tuple[Path, Path], tmp_path: Path, where: str, reason: str
) -> None:
    allowed, home = roots
    with pytest.raises(InvalidInputError, match=reason) as caught:
        check_local_root(tmp_path / where, [allowed], [home])
    assert caught.value.field == "path"
    assert LOCAL_ROOTS_VARIABLE in caught.value.message


def test_symlinks_are_resolved_before_judging(roots: tuple[Path, Path], tmp_path: Path) -> None:
    allowed, home = roots
    (allowed / "escape").symlink_to(tmp_path / "outside")
    (allowed / "to-home").symlink_to(home)
    (allowed / "inside").symlink_to(allowed / "data")
    with pytest.raises(InvalidInputError, match="outside the folders"):
        check_local_root(allowed / "escape", [allowed], [home])
    with pytest.raises(InvalidInputError, match="outside the folders"):
        check_local_root(allowed / "escape" / "deeper", [allowed], [home])
    with pytest.raises(InvalidInputError, match="server's own folder"):
        check_local_root(allowed / "to-home", [allowed], [home])
    assert check_local_root(allowed / "inside", [allowed], [home]) == (allowed / "data").resolve()


def test_no_allowed_roots_means_local_datastores_are_off(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=f"disabled.*{LOCAL_ROOTS_VARIABLE}") as caught:
        check_local_root(tmp_path, [], [])
    assert caught.value.field == "path"


@pytest.mark.parametrize("path", ["relative/dir", "", "/srv/../etc"])
def test_local_paths_must_be_plain_absolute_paths(path: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_local_root(path, [Path(os.sep)], [])
    assert caught.value.field == "path"


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("s3", {"bucket": "data", "endpoint_url": "http://169.254.169.254/latest"}, "endpoint_url"),
        ("s3", {"bucket": "data", "endpoint_url": "http://[fe80::1]:9000"}, "endpoint_url"),
        ("s3", {"bucket": "data", "endpoint_url": "http://metadata.google.internal"}, "endpoint_url"),
        (
            "azure_blob",
            {
                "account_name": "acct",
                "container_name": "c1x",
                "endpoint": "169.254.169.254:80",
                "protocol": "http",
            },
            "endpoint",
        ),
    ],
)
def test_metadata_and_link_local_endpoints_are_refused(kind: str, config: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInputError, match="link-local or cloud metadata") as caught:
        normalize_config(kind, config)
    assert caught.value.field == field
