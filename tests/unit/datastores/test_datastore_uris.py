"""azureml:// datastore URIs, the cloud URI prefixes of each datastore, and matching cloud URIs to them."""

from __future__ import annotations

from typing import Any

import pytest

from stratus.datastores import (
    DatastorePath,
    canonical_path,
    cloud_prefixes,
    format_datastore_uri,
    match_cloud_uri,
    parse_datastore_uri,
)
from stratus.errors import InvalidInputError

# -- parse_datastore_uri ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("azureml://datastores/ds/paths/a/b.csv", DatastorePath("ds", "a/b.csv")),
        ("azureml://datastores/ds/paths/a/b/", DatastorePath("ds", "a/b", is_folder=True)),
        ("azureml://datastores/ds/paths/", DatastorePath("ds", "", is_folder=True)),
        ("AzureML://Datastores/My_DS/Paths/A/B", DatastorePath("My_DS", "A/B")),
        ("azureml://datastores/ds/paths/a%20b/caf%C3%A9", DatastorePath("ds", "a b/café")),
        (
            "azureml://datastores/ds/paths/date=2024-01-01/p.parquet",
            DatastorePath("ds", "date=2024-01-01/p.parquet"),
        ),
        ("azureml://datastores/ds/paths/100%", DatastorePath("ds", "100%")),
        ("azureml://datastores/workspaceblobstore/paths/x", DatastorePath("workspaceblobstore", "x")),
        (
            "azureml://subscriptions/0000-aaaa/resourcegroups/rg-1/workspaces/ws1/datastores/ds/paths/x",
            DatastorePath("ds", "x", workspace="ws1", subscription_id="0000-aaaa", resource_group="rg-1"),
        ),
        (
            "azureml://subscriptions/s/resourceGroups/my.rg(1)/workspaces/ws/datastores/ds/paths/x/",
            DatastorePath(
                "ds", "x", is_folder=True, workspace="ws", subscription_id="s", resource_group="my.rg(1)"
            ),
        ),
    ],
)
def test_parse_datastore_uri(uri: str, expected: DatastorePath) -> None:
    assert parse_datastore_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("azureml://datastores/ds/paths/../x", "'..'"),
        ("azureml://datastores/ds/paths/a/../../x", "'..'"),
        ("azureml://datastores/ds/paths/%2e%2e/x", "'..'"),
        ("azureml://datastores/ds/paths/%2E%2E/x", "'..'"),
        ("azureml://datastores/ds/paths/%252e%252e/x", "'..'"),
        ("azureml://datastores/ds/paths/\u2025/x", "'..'"),
        ("azureml://datastores/ds/paths/a//b", "empty"),
        ("azureml://datastores/ds/paths//a", "empty"),
        ("azureml://datastores/ds/paths/a//", "empty"),
        ("azureml://datastores/ds/paths/a/./b", "'.' segment"),
        ("azureml://datastores/ds/paths/a/%2e/b", "'.' segment"),
        ("azureml://datastores/ds/paths/a%2Fb", "encoded '/'"),
        ("azureml://datastores/ds/paths/a%2f", "encoded '/'"),
        ("azureml://datastores/ds/paths/a%252Fb", "encoded '/'"),
        ("azureml://datastores/ds/paths/a\uff0fb", "look-alike"),
        ("azureml://datastores/ds/paths/a?sv=2020&sig=abc", "query string"),
        ("azureml://datastores/ds/paths/a#frag", "query string or fragment"),
        ("azureml://datastores/ds/paths/a%3Fb", "'?'"),
        ("azureml://datastores/ds/paths/~root/x", "'~'"),
        ("azureml://datastores/ds/paths/a\\b", "backslash"),
        ("azureml://datastores/ds/paths/a\x00b", "control"),
        ("azureml://datastores/ds/paths/a\n", "control"),
        (" azureml://datastores/ds/paths/a", "whitespace"),
        ("azureml://datastores/ds/paths/a:b", "':'"),
        ("azureml://datastores/ds/paths/a*", "glob"),
        ("azureml://datastores/d-s/paths/x", "datastore name"),
        ("azureml://datastores/_ds/paths/x", "datastore name"),
        ("azureml://datastores/d%73/paths/x", "datastore name"),
        ("azureml://datastores//paths/x", "datastore name"),
        ("azureml://datastores/ds/x", "not a datastore URI"),
        ("azureml://datastores/ds/paths", "not a datastore URI"),
        ("azureml://datastores/ds", "not a datastore URI"),
        ("azureml:ds:1", "not a datastore URI"),
        ("azureml://jobs/abc/outputs/artifacts/paths/x", "not a datastore URI"),
        ("azureml://workspaces/ws/datastores/ds/paths/x", "not a datastore URI"),
        (
            "azureml://subscriptions/s/resourcegroups/rg/workspaces/../datastores/ds/paths/x",
            "not a datastore",
        ),
        ("s3://bucket/x", "not a datastore URI"),
        ("azureml://datastores/ds/paths/" + "a" * 300, "longer than 255"),
        ("azureml://datastores/ds/paths/" + "/".join(["abcdefghij"] * 100), "longer than 1024"),
    ],
)
def test_parse_refuses_malformed_and_unsafe_uris(uri: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason) as caught:
        parse_datastore_uri(uri)
    assert caught.value.field == "path"


def test_parse_names_the_callers_field_and_never_echoes_a_sas_token() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_datastore_uri("azureml://datastores/ds/paths/x?sig=TOPSECRET", field="inputs.data.path")
    assert caught.value.field == "inputs.data.path"
    assert "TOPSECRET" not in caught.value.message


# -- format_datastore_uri -----------------------------------------------------------------------------


def test_format_datastore_uri() -> None:
    assert format_datastore_uri("ds", "a b/c.csv") == "azureml://datastores/ds/paths/a%20b/c.csv"
    assert format_datastore_uri("ds", "a/b", is_folder=True) == "azureml://datastores/ds/paths/a/b/"
    assert format_datastore_uri("ds", "") == "azureml://datastores/ds/paths/"
    assert format_datastore_uri("ds", "date=1/x+y@z") == "azureml://datastores/ds/paths/date=1/x+y@z"
    assert format_datastore_uri("ds", "caf\u00e9/100%") == "azureml://datastores/ds/paths/caf%C3%A9/100%25"
    assert DatastorePath("ds", "a", is_folder=True).uri == "azureml://datastores/ds/paths/a/"


@pytest.mark.parametrize("path", ["a", "a b/c", "100%", "caf\u00e9", "x+y=z", "a,b@c", "d'e(f)!$&"])
@pytest.mark.parametrize("is_folder", [False, True])
def test_format_and_parse_round_trip(path: str, is_folder: bool) -> None:
    parsed = parse_datastore_uri(format_datastore_uri("ds", path, is_folder=is_folder))
    assert parsed == DatastorePath("ds", path, is_folder=is_folder)


@pytest.mark.parametrize(
    ("name", "path", "field"),
    [("bad-name", "x", "name"), ("", "x", "name"), ("ds", "../x", "path"), ("ds", "a?b", "path")],
)
def test_format_refuses_bad_names_and_paths(name: str, path: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        format_datastore_uri(name, path)
    assert caught.value.field == field


def test_canonical_path() -> None:
    assert canonical_path("a/b/") == ("a/b", True)
    assert canonical_path("a%20b") == ("a b", False)
    assert canonical_path("") == ("", True)
    with pytest.raises(InvalidInputError) as caught:
        canonical_path("a/../b", field="outputs.path")
    assert caught.value.field == "outputs.path"


# -- cloud_prefixes ------------------------------------------------------------------------------------

BLOB = {"account_name": "acct", "container_name": "data"}
LAKE = {"account_name": "lakeacct", "filesystem": "raw"}
EMULATOR = {
    "account_name": "devstoreaccount1",
    "container_name": "data",
    "endpoint": "127.0.0.1:10000",
    "protocol": "http",
}


@pytest.mark.parametrize(
    ("kind", "config", "expected"),
    [
        (
            "azure_blob",
            BLOB,
            {
                "wasbs://data@acct.blob.core.windows.net/",
                "wasb://data@acct.blob.core.windows.net/",
                "https://acct.blob.core.windows.net/data/",
                "http://acct.blob.core.windows.net/data/",
            },
        ),
        (
            "azure_blob",
            {**BLOB, "endpoint": "core.chinacloudapi.cn", "protocol": "wasbs"},
            {
                "wasbs://data@acct.blob.core.chinacloudapi.cn/",
                "wasb://data@acct.blob.core.chinacloudapi.cn/",
                "https://acct.blob.core.chinacloudapi.cn/data/",
                "http://acct.blob.core.chinacloudapi.cn/data/",
            },
        ),
        (
            "azure_data_lake_gen2",
            LAKE,
            {
                "abfss://raw@lakeacct.dfs.core.windows.net/",
                "abfs://raw@lakeacct.dfs.core.windows.net/",
                "https://lakeacct.dfs.core.windows.net/raw/",
                "http://lakeacct.dfs.core.windows.net/raw/",
                "wasbs://raw@lakeacct.blob.core.windows.net/",
                "wasb://raw@lakeacct.blob.core.windows.net/",
                "https://lakeacct.blob.core.windows.net/raw/",
                "http://lakeacct.blob.core.windows.net/raw/",
            },
        ),
        (
            "azure_blob",
            EMULATOR,
            {
                "http://127.0.0.1:10000/devstoreaccount1/data/",
                "https://127.0.0.1:10000/devstoreaccount1/data/",
            },
        ),
        (
            "azure_data_lake_gen2",
            {"account_name": "devstoreaccount1", "filesystem": "raw", "endpoint": "LOCALHOST:10000"},
            {"http://localhost:10000/devstoreaccount1/raw/", "https://localhost:10000/devstoreaccount1/raw/"},
        ),
        ("s3", {"bucket": "data"}, {"s3://data/"}),
        ("s3", {"bucket": "data", "prefix": "/team/a/", "region": "eu-west-1"}, {"s3://data/team/a/"}),
        ("local", {"path": "/srv/shared"}, {"file:///srv/shared/"}),
        ("local", {"path": "/srv/data sets/"}, {"file:///srv/data%20sets/"}),
    ],
)
def test_cloud_prefixes(kind: str, config: dict[str, Any], expected: set[str]) -> None:
    prefixes = cloud_prefixes(kind, config)
    assert set(prefixes) == expected
    assert len(prefixes) == len(expected)
    assert not any(p.startswith(("az://", "abfs://raw/", "abfss://raw/")) for p in prefixes)


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("azure_blob", {"account_name": "acct"}, "container_name"),
        ("azure_blob", {**BLOB, "acount_name": "x"}, "acount_name"),
        ("s3", {"bucket": "Bad_Bucket"}, "bucket"),
        ("local", {"path": "relative/dir"}, "path"),
        ("gcs", {"bucket": "x"}, "type"),
    ],
)
def test_cloud_prefixes_refuse_bad_config(kind: str, config: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        cloud_prefixes(kind, config)
    assert caught.value.field == field


# -- match_cloud_uri -----------------------------------------------------------------------------------

DATASTORES: list[tuple[str, str, dict[str, Any]]] = [
    ("blob", "azure_blob", BLOB),
    ("blob_team", "azure_blob", {"account_name": "acct", "container_name": "team"}),
    ("lake", "azure_data_lake_gen2", LAKE),
    ("s3data", "s3", {"bucket": "data"}),
    ("s3data2", "s3", {"bucket": "data2"}),
    ("s3team", "s3", {"bucket": "data", "prefix": "team/a"}),
    ("emu", "azure_blob", EMULATOR),
    ("local", "local", {"path": "/srv/shared"}),
    ("local_spaced", "local", {"path": "/srv/data sets"}),
]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("wasbs://data@acct.blob.core.windows.net/x/y.csv", ("blob", "x/y.csv", False)),
        ("wasb://data@acct.blob.core.windows.net/x/", ("blob", "x", True)),
        ("WASBS://data@ACCT.Blob.Core.Windows.NET/x", ("blob", "x", False)),
        ("https://acct.blob.core.windows.net/data/x/", ("blob", "x", True)),
        ("http://acct.blob.core.windows.net/data", ("blob", "", True)),
        ("https://acct.blob.core.windows.net/data/", ("blob", "", True)),
        ("https://acct.blob.core.windows.net/team/x", ("blob_team", "x", False)),
        ("https://acct.blob.core.windows.net/data/a%20b/c%C3%A9", ("blob", "a b/cé", False)),
        ("abfss://raw@lakeacct.dfs.core.windows.net/a/b.parquet", ("lake", "a/b.parquet", False)),
        ("abfs://raw@lakeacct.dfs.core.windows.net/a", ("lake", "a", False)),
        ("https://lakeacct.dfs.core.windows.net/raw/a", ("lake", "a", False)),
        ("https://lakeacct.blob.core.windows.net/raw/a", ("lake", "a", False)),
        ("wasbs://raw@lakeacct.blob.core.windows.net/a", ("lake", "a", False)),
        ("s3://data/x.csv", ("s3data", "x.csv", False)),
        ("s3://data/", ("s3data", "", True)),
        ("s3://data", ("s3data", "", True)),
        ("S3://DATA/x", ("s3data", "x", False)),
        ("s3://data2/x.csv", ("s3data2", "x.csv", False)),
        ("s3://data/team/a/x.csv", ("s3team", "x.csv", False)),
        ("s3://data/team/a", ("s3team", "", True)),
        ("s3://data/team/a/", ("s3team", "", True)),
        ("s3://data/team/ab/x", ("s3data", "team/ab/x", False)),
        ("s3://data/team/x", ("s3data", "team/x", False)),
        ("s3://data/team/A/x", ("s3data", "team/A/x", False)),
        ("http://127.0.0.1:10000/devstoreaccount1/data/m/n", ("emu", "m/n", False)),
        ("HTTP://127.0.0.1:10000/devstoreaccount1/data/m/", ("emu", "m", True)),
        ("file:///srv/shared/sub/f.txt", ("local", "sub/f.txt", False)),
        ("file://localhost/srv/shared/f", ("local", "f", False)),
        ("file:///srv/shared", ("local", "", True)),
        ("file:///srv/data%20sets/x", ("local_spaced", "x", False)),
    ],
)
def test_match_cloud_uri(uri: str, expected: tuple[str, str, bool]) -> None:
    name, path, is_folder = expected
    assert match_cloud_uri(uri, DATASTORES) == DatastorePath(name, path, is_folder=is_folder)


@pytest.mark.parametrize(
    "uri",
    [
        "https://acct.blob.core.windows.net/Data/x",  # containers are lowercase; paths are case-sensitive
        "https://other.blob.core.windows.net/data/x",
        "wasbs://data@other.blob.core.windows.net/x",
        "wasbs://data@acct.dfs.core.windows.net/x",
        "abfss://data@acct.dfs.core.windows.net/x",  # a blob datastore has no dfs forms
        "https://acct.blob.core.windows.net:443/data/x",
        "az://data/x",  # no account: ambiguous
        "abfss://raw/x",
        "abfs://raw/a",
        "s3://dat/x",
        "s3://data3/x",
        "s3a://data/x",
        "gs://data/x",
        "http://localhost:10000/devstoreaccount1/data/m",
        "http://127.0.0.1:10001/devstoreaccount1/data/m",
        "http://127.0.0.1:10000/otheraccount/data/m",
        "file:///srv/shared2/f",
        "file:///srv/share",
        "file://otherhost/srv/shared/f",
        "file:///",
        "/srv/shared/f",  # a bare path is the client's own file
        "/srv/shared/what?.csv",
        "srv/shared/f",
        "azureml://datastores/blob/paths/x",
        "",
    ],
)
def test_uris_outside_every_datastore_match_nothing(uri: str) -> None:
    assert match_cloud_uri(uri, DATASTORES) is None


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("s3://data/x?versionId=1", "query string"),
        ("https://acct.blob.core.windows.net/data/x?sv=2020-01-01&sig=TOPSECRET", "query string"),
        ("https://acct.blob.core.windows.net/data/x?", "query string"),
        ("s3://data/x#part", "fragment"),
        ("s3://data/../data2/x", "'..'"),
        ("https://acct.blob.core.windows.net/team/../data/x", "'..'"),
        ("s3://data/a/%2e%2e/b", "'..'"),
        ("s3://data/a/%2E%2e/b", "'..'"),
        ("https://acct.blob.core.windows.net/data/%252e%252e/x", "'..'"),
        ("https://acct.blob.core.windows.net/data/..%2fteam/x", "'..'|encoded"),
        ("s3://data/team%2Fa/x", "encoded '/'"),
        ("s3://data/a//b", "empty"),
        ("s3://data//a", "empty"),
        ("s3://data/a/./b", "'.' segment"),
        ("file:////srv/shared/x", "empty"),
        ("s3://data/a\\b", "backslash"),
        ("s3://data/x\n", "control"),
        ("s3://da\tta/x", "control"),
        ("s3://data/x ", "whitespace"),
        ("s3://data/~x", "'~'"),
        ("s3://AKIAEXAMPLE:TOPSECRET@data/x", "credentials"),
        ("https://user:TOPSECRET@acct.blob.core.windows.net/data/x", "credentials"),
        ("https://user@acct.blob.core.windows.net/data/x", "credentials"),
        ("wasbs://data:TOPSECRET@acct.blob.core.windows.net/x", "credentials"),
        ("https://[::1/x", "not a valid URI"),
    ],
)
def test_match_refuses_queries_credentials_and_unsafe_paths(uri: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason) as caught:
        match_cloud_uri(uri, DATASTORES, field="inputs.training.path")
    assert caught.value.field == "inputs.training.path"
    assert "TOPSECRET" not in caught.value.message


def test_longest_prefix_wins_whatever_the_order() -> None:
    for datastores in (DATASTORES, list(reversed(DATASTORES))):
        found = match_cloud_uri("s3://data/team/a/b/c", datastores)
        assert found == DatastorePath("s3team", "b/c")


def test_equal_prefixes_go_to_the_first_datastore_given() -> None:
    twins = [("reader", "s3", {"bucket": "data"}), ("writer", "s3", {"bucket": "data"})]
    assert match_cloud_uri("s3://data/x", twins) == DatastorePath("reader", "x")
    assert match_cloud_uri("s3://data/x", list(reversed(twins))) == DatastorePath("writer", "x")


def test_every_prefix_of_every_datastore_matches_back() -> None:
    for name, kind, config in DATASTORES:
        for prefix in cloud_prefixes(kind, config):
            found = match_cloud_uri(prefix + "sub/f%20g.txt", DATASTORES)
            assert found == DatastorePath(name, "sub/f g.txt"), prefix
            assert match_cloud_uri(prefix, DATASTORES) == DatastorePath(name, "", is_folder=True)


def test_a_match_gives_the_datastore_uri() -> None:
    found = match_cloud_uri("abfss://raw@lakeacct.dfs.core.windows.net/a%20b/", DATASTORES)
    assert found is not None
    assert found.uri == "azureml://datastores/lake/paths/a%20b/"
    assert parse_datastore_uri(found.uri) == found


def test_no_datastores_match_nothing() -> None:
    assert match_cloud_uri("s3://data/x", []) is None
