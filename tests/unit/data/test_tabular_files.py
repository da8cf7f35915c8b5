"""Single tabular files and folders of them (uri_file / uri_folder assets) on the local filesystem."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stratus.data import count_rows, is_tabular, read_folder, read_table, table_format
from stratus.data.tabular import ColumnConversion, convert_column, infer_column
from stratus.errors import InvalidInputError


@pytest.fixture
def fs() -> Any:
    return fsspec.filesystem("file")


def put(path: Path, content: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("dir/A.CSV", "csv"),
        ("a.tsv", "tsv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.json", "json"),
        ("a.csv.gz", "csv"),
        ("a.jsonl.bz2", "jsonl"),
        ("a.parquet.gz", None),
        ("a.txt", None),
        ("MLTable", None),
        ("csv", None),
    ],
)
def test_formats_by_extension(name: str, fmt: str | None) -> None:
    assert table_format(name) == fmt
    assert is_tabular(name) is (fmt is not None)


def test_read_each_format(fs: Any, tmp_path: Path) -> None:
    expected = {"id": [1, 2], "name": ["a", "b"]}
    csv = put(tmp_path / "t.csv", "id,name\n1,a\n2,b\n")
    tsv = put(tmp_path / "t.tsv", "id\tname\n1\ta\n2\tb\n")
    gz = put(tmp_path / "t.csv.gz", gzip.compress(b"id,name\n1,a\n2,b\n"))
    jsonl = put(tmp_path / "t.jsonl", '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n')
    array = put(tmp_path / "t.json", json.dumps([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]))
    lines_json = put(tmp_path / "l.json", '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n')
    pq.write_table(pa.table(expected), tmp_path / "t.parquet")
    pq.write_table(pa.table(expected), tmp_path / "t.pq")
    for path in (csv, tsv, gz, jsonl, array, lines_json, str(tmp_path / "t.parquet"), str(tmp_path / "t.pq")):
        assert read_table(fs, path).to_dict("list") == expected, path
        assert read_table(fs, path, max_rows=1).to_dict("list") == {"id": [1], "name": ["a"]}, path


def test_read_table_errors(fs: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not a tabular file") as info:
        read_table(fs, put(tmp_path / "notes.txt", "x"))
    assert info.value.field == "path"
    with pytest.raises(InvalidInputError, match="one object per row"):
        read_table(fs, put(tmp_path / "a.json", "[1, 2]"))
    with pytest.raises(InvalidInputError, match="line 2 is not valid JSON"):
        read_table(fs, put(tmp_path / "a.jsonl", '{"a": 1}\n{oops\n'))


def test_read_folder_concatenates_in_name_order(fs: Any, tmp_path: Path) -> None:
    put(tmp_path / "b.csv", "x,y\n3,4\n")
    put(tmp_path / "a.csv", "x,y\n1,2\n")
    put(tmp_path / "sub/c.csv", "y,z\n5,6\n")  # its own header: columns matched by name
    put(tmp_path / "_SUCCESS", "")
    put(tmp_path / ".hidden.csv", "x\n9\n")
    put(tmp_path / "README.md", "# not data")
    frame = read_folder(fs, str(tmp_path))
    assert frame["x"].tolist()[:2] == [1, 3] and pd.isna(frame["x"].tolist()[2])
    assert frame["y"].tolist() == [2, 4, 5]
    assert read_folder(fs, str(tmp_path), max_rows=2)["y"].tolist() == [2, 4]


def test_read_folder_of_parquet_and_jsonl(fs: Any, tmp_path: Path) -> None:
    pq.write_table(pa.table({"v": [1, 2]}), tmp_path / "part-0.parquet")
    pq.write_table(pa.table({"v": [3]}), tmp_path / "part-1.parquet")
    assert read_folder(fs, str(tmp_path))["v"].tolist() == [1, 2, 3]
    lines = tmp_path / "lines"
    put(lines / "1.jsonl", '{"v": 1}\n')
    put(lines / "2.json", '{"v": 2}\n')  # .json in a folder reads as JSON Lines
    assert read_folder(fs, str(lines))["v"].tolist() == [1, 2]


def test_read_folder_errors(fs: Any, tmp_path: Path) -> None:
    put(tmp_path / "a.csv", "x\n1\n")
    pq.write_table(pa.table({"x": [2]}), tmp_path / "b.parquet")
    with pytest.raises(InvalidInputError, match=r"mixes tabular formats \(csv, parquet\)"):
        read_folder(fs, str(tmp_path))
    put(tmp_path / "empty/notes.txt", "x")
    with pytest.raises(InvalidInputError, match="holds no tabular files"):
        read_folder(fs, str(tmp_path / "empty"))
    with pytest.raises(InvalidInputError, match="is not a folder"):
        read_folder(fs, str(tmp_path / "missing"))


def test_count_rows(fs: Any, tmp_path: Path) -> None:
    csv = put(tmp_path / "a.csv", 'id,text\n1,"two\nlines"\n\n2,plain\n3,"with ""quotes"""')
    assert count_rows(fs, csv) == 3
    assert len(read_table(fs, csv)) == 3  # the count agrees with the reader
    assert count_rows(fs, put(tmp_path / "h.csv", "only,header\n")) == 0
    assert count_rows(fs, put(tmp_path / "a.jsonl", '{"a": 1}\n\n{"a": 2}\n')) == 2
    assert count_rows(fs, put(tmp_path / "a.json", '[{"a": 1}]')) == 1
    pq.write_table(pa.table({"v": list(range(1000))}), tmp_path / "a.parquet", row_group_size=100)
    assert count_rows(fs, str(tmp_path / "a.parquet")) == 1000
    assert count_rows(fs, put(tmp_path / "a.txt", "x")) is None


def test_infer_column() -> None:
    def infer(*values: str, empty_as_string: bool = False) -> pd.Series:
        return infer_column(pd.Series(list(values), dtype="str"), empty_as_string=empty_as_string)

    assert infer("1", "-2", "+3").tolist() == [1, -2, 3]
    assert str(infer("1", "").dtype) == "float64"
    assert infer("1.5", "1e3").tolist() == [1.5, 1000.0]
    assert infer("True", "false").tolist() == [True, False]
    assert str(infer("true", "").dtype) == "boolean"
    assert infer("2024-01-02", "2024-01-03T04:05:06").dtype.kind == "M"
    assert infer("01/02/2024").tolist() == ["01/02/2024"]  # only ISO 8601 is read as a date
    assert infer("99999999999999999999").tolist() == ["99999999999999999999"]  # beyond int64: text
    assert infer("x", "").isna().tolist() == [False, True]
    assert infer("x", "", empty_as_string=True).tolist() == ["x", ""]
    assert infer("", "").isna().all()


def test_convert_column_edge_cases() -> None:
    def convert(column_type: str, values: list[Any], **options: Any) -> pd.Series:
        conversion = ColumnConversion(("c",), column_type, "transformations[1]", **options)  # type: ignore[arg-type]
        return convert_column(pd.Series(values), conversion, column="c")

    zoned = convert("datetime", ["2024-01-02 10:00+0200", None], formats=("%Y-%m-%d %H:%M%z", "%d/%m/%Y"))
    assert str(zoned.dtype).endswith("UTC+02:00]") and zoned.isna().tolist() == [False, True]
    with pytest.raises(InvalidInputError, match="'03/01/2024', which is not zoned like the rows before"):
        convert("datetime", ["2024-01-02 10:00+0200", "03/01/2024"], formats=("%Y-%m-%d %H:%M%z", "%d/%m/%Y"))
    assert convert("boolean", [" TRUE ", "no", 1.0]).tolist() == [True, False, True]
    assert convert("boolean", [1.0, 0.0, None]).tolist() == [True, False, pd.NA]
    assert convert("int", [" 1", None, "2"]).tolist() == [1, pd.NA, 2]
    assert convert("int", [True, False]).tolist() == [1, 0]
    assert convert("string", [1.5, None]).isna().tolist() == [False, True]
    with pytest.raises(InvalidInputError, match="'1e3', which is not an integer"):
        convert("int", ["1", "1e3"])
