"""Profiles: exact counts on small frames, strictly JSON output, and bounded reads of large tables."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stratus.data import profile_frame, profile_table
from stratus.data.profile import json_safe
from stratus.errors import InvalidInputError


@pytest.fixture
def fs() -> Any:
    return fsspec.filesystem("file")


def only_plain_json(value: Any) -> None:
    """Only the types json produces: no numpy scalars, NaN, timestamps or other objects."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            only_plain_json(item)
    elif isinstance(value, list):
        for item in value:
            only_plain_json(item)
    else:
        assert value is None or type(value) in (bool, int, float, str), repr(value)
        assert not (isinstance(value, float) and not math.isfinite(value))


def by_name(profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in profile["fields"]}


def test_profile_frame_counts_and_statistics() -> None:
    frame = pd.DataFrame(
        {
            "num": [1.5, np.nan, 3.5, 1.5, np.inf],
            "int": pd.array([1, 2, None, 2, 5], dtype="Int64"),
            "text": ["a", None, "b", "a", "a"],
            "flag": [True, False, True, True, False],
            "when": pd.to_datetime(["2024-01-01", None, "2024-03-01", "2024-02-01", "2024-01-01"]),
            "nested": [[1, 2], {"k": 1}, [1, 2], None, b"\x00\xff"],
        }
    )
    profile = profile_frame(frame, sample_rows=3)
    only_plain_json(profile)
    json.dumps(profile, allow_nan=False)  # strictly valid JSON
    assert (profile["rows"], profile["columns"], profile["rows_exact"]) == (5, 6, True)
    fields = by_name(profile)
    assert [(f["missing"], f["distinct"]) for f in profile["fields"]] == [
        (1, 3),
        (1, 3),
        (1, 2),
        (0, 2),
        (1, 3),
        (1, 3),
    ]
    assert fields["num"]["min"] == 1.5 and fields["num"]["max"] is None  # inf is not JSON
    assert fields["int"] == {
        "name": "int",
        "dtype": "Int64",
        "missing": 1,
        "distinct": 3,
        "min": 1,
        "max": 5,
        "mean": 2.5,
    }
    assert fields["flag"]["min"] is None and fields["flag"]["mean"] is None  # booleans get no statistics
    assert fields["when"]["min"] == "2024-01-01T00:00:00" and fields["when"]["max"] == "2024-03-01T00:00:00"
    assert fields["text"]["mean"] is None
    assert len(profile["sample"]) == 3
    assert profile["sample"][1] == {
        "num": None,
        "int": 2,
        "text": None,
        "flag": False,
        "when": None,
        "nested": {"k": 1},
    }


def test_profile_of_an_empty_frame() -> None:
    profile = profile_frame(pd.DataFrame({"a": pd.Series([], dtype="float64")}))
    assert profile["rows"] == 0 and profile["sample"] == []
    assert profile["fields"][0]["min"] is None


def test_json_safe_values() -> None:
    assert json_safe(np.int64(3)) == 3 and type(json_safe(np.int64(3))) is int
    assert json_safe(np.float32(0.5)) == 0.5
    assert json_safe(float("nan")) is None and json_safe(pd.NaT) is None and json_safe(pd.NA) is None
    assert json_safe(np.datetime64("NaT")) is None
    assert json_safe(pd.Timestamp("2024-01-02T03:04:05")) == "2024-01-02T03:04:05"
    assert json_safe(dt.date(2024, 1, 2)) == "2024-01-02"
    assert json_safe(pd.Timedelta(seconds=90)) == "P0DT0H1M30S"
    assert json_safe(decimal.Decimal("1.10")) == "1.10"
    assert json_safe(b"hi") == "aGk="
    assert json_safe({"a": (np.nan, np.bool_(True))}) == {"a": [None, True]}
    assert json_safe(np.array([1, 2])) == [1, 2]


def test_profile_uri_file_counts_rows_past_the_bound(fs: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("n,half\n" + "".join(f"{i},{i // 2}\n" for i in range(250)))
    profile = profile_table(fs, str(path), "uri_file", max_rows=100, sample_rows=2)
    assert profile["rows"] == 250 and profile["rows_exact"] is True
    assert profile["profiled_rows"] == 100
    assert by_name(profile)["n"]["max"] == 99
    assert (profile["kind"], profile["format"]) == ("uri_file", "csv")
    assert profile["sample"] == [{"n": 0, "half": 0}, {"n": 1, "half": 0}]

    bounded = profile_table(fs, str(path), "uri_file", max_rows=100, count_bytes=10)
    assert bounded["rows_exact"] is False and bounded["rows"] == 101  # a lower bound: rows seen

    small = profile_table(fs, str(path), "uri_file", max_rows=1000)
    assert small["rows"] == small["profiled_rows"] == 250 and small["rows_exact"] is True


def test_profile_parquet_rows_come_from_metadata(fs: Any, tmp_path: Path) -> None:
    pq.write_table(pa.table({"v": list(range(5000))}), tmp_path / "a.parquet", row_group_size=500)
    profile = profile_table(fs, str(tmp_path / "a.parquet"), "uri_file", max_rows=10, count_bytes=0)
    assert (profile["rows"], profile["rows_exact"], profile["profiled_rows"]) == (5000, True, 10)


def test_profile_uri_folder(fs: Any, tmp_path: Path) -> None:
    for index in range(3):
        (tmp_path / f"part-{index}.csv").write_text("v\n" + "".join(f"{index}\n" for _ in range(10)))
    profile = profile_table(fs, str(tmp_path), "uri_folder", max_rows=15)
    assert (profile["rows"], profile["rows_exact"], profile["profiled_rows"]) == (30, True, 15)
    assert by_name(profile)["v"]["distinct"] == 2
    assert profile["format"] == "csv"


def test_profile_mltable(fs: Any, tmp_path: Path) -> None:
    (tmp_path / "MLTable").write_text(
        "paths: [{pattern: '*.csv'}]\ntransformations:\n  - read_delimited: {}\n  - drop_columns: junk\n"
    )
    (tmp_path / "a.csv").write_text("v,junk\n" + "".join(f"{i},x\n" for i in range(30)))
    profile = profile_table(fs, str(tmp_path), "mltable", max_rows=10)
    assert (profile["rows"], profile["rows_exact"], profile["profiled_rows"]) == (11, False, 10)
    assert [f["name"] for f in profile["fields"]] == ["v"]
    whole = profile_table(fs, str(tmp_path), "mltable")
    assert (whole["rows"], whole["rows_exact"], whole["format"]) == (30, True, "mltable")


def test_profile_with_missing_values_is_json(fs: Any, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("a,b,c\n1,,x\n,2.5,\n3,NaN,z\n")
    profile = profile_table(fs, str(tmp_path / "a.csv"), "uri_file")
    only_plain_json(profile)
    json.dumps(profile, allow_nan=False)
    assert [(f["name"], f["missing"]) for f in profile["fields"]] == [("a", 1), ("b", 1), ("c", 1)]


def test_profile_unknown_kind(fs: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot profile data of type 'custom_model'") as info:
        profile_table(fs, str(tmp_path), "custom_model")
    assert info.value.field == "type"
