"""MLTable files on the local filesystem: parsing and its errors, paths and globs, every transformation,
header modes, type conversion, row budgets and the folder boundary."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stratus.data import MLTable, load_mltable, read_mltable
from stratus.errors import InvalidInputError


@pytest.fixture
def fs() -> Any:
    return fsspec.filesystem("file")


def put(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def table(root: Path, yaml_text: str) -> Path:
    put(root, "MLTable", textwrap.dedent(yaml_text))
    return root


def load(fs: Any, root: Path, **kwargs: Any) -> pd.DataFrame:
    return load_mltable(fs, str(root), **kwargs)


def parse_error(text: str) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        MLTable.parse(textwrap.dedent(text), origin="t/MLTable")
    return info.value


CSV_READ = """\
paths:
  - pattern: ./*.csv
transformations:
  - read_delimited:
      delimiter: ','
"""


# -- parsing ----------------------------------------------------------------------------------------


def test_parse_reads_the_documented_fields() -> None:
    parsed = MLTable.parse(
        textwrap.dedent(
            """\
            $schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json
            type: mltable
            paths:
              - file: ./a.csv
              - folder: ./more
              - pattern: '**/*.csv'
            transformations:
              - read_delimited:
                  delimiter: ';'
                  header: from_first_file
                  encoding: latin1
                  empty_as_string: true
                  include_path_column: true
                  infer_column_types: false
                  support_multi_line: true
              - take: 5
              - skip: 1
              - take_random_sample: {probability: 0.5, seed: 7}
              - drop_columns: x
              - keep_columns: [a, b]
              - convert_column_types:
                  - columns: a
                    column_type: int
            traits:
              index_columns: [a]
            metadata: {owner: me}
            """
        ),
        origin="t/MLTable",
    )
    assert [(p.kind, p.value) for p in parsed.paths] == [
        ("file", "./a.csv"),
        ("folder", "./more"),
        ("pattern", "**/*.csv"),
    ]
    assert parsed.read is not None and parsed.read.include_path_column
    assert [type(s).__name__ for s in parsed.steps] == [
        "Take",
        "Skip",
        "TakeRandomSample",
        "DropColumns",
        "KeepColumns",
        "ConvertColumnTypes",
    ]
    assert parsed.traits == {"index_columns": ["a"]}
    assert parsed.metadata == {"owner": "me"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("paths: [{file: a.csv}]\nfoo: 1\n", "foo"),
        ("paths: [{file: a.csv}]\ntransformations: [{pivot: {}}]\n", "transformations[0].pivot"),
        ("paths: [{file: a.csv}]\ntransformations: [{read_delimited: {sep: ','}}]\n", "read_delimited.sep"),
        ("paths: [{file: a.csv}]\ntransformations: [{read_delimited: {header: yes}}]\n", "header"),
        ("paths: [{file: a.csv}]\ntransformations: [{read_delimited: {encoding: utf7}}]\n", "encoding"),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_json_lines: {invalid_lines: skip}}]\n",
            "invalid_lines",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_parquet: {include_path_column: 1}}]\n",
            "include_path",
        ),
        ("paths: [{file: a.csv}]\ntransformations: [{take: -1}]\n", "transformations[0].take"),
        ("paths: [{file: a.csv}]\ntransformations: [{skip: true}]\n", "transformations[0].skip"),
        (
            "paths: [{file: a.csv}]\ntransformations: [{take_random_sample: {probability: 2}}]\n",
            "probability",
        ),
        ("paths: [{file: a.csv}]\ntransformations: [{take_random_sample: {probability: 0.1, n: 1}}]\n", ".n"),
        (
            "paths: [{file: a.csv}]\ntransformations: [{filter: 'col(\"a\") > 1'}]\n",
            "transformations[0].filter",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_delta_lake: {version_as_of: 1}}]\n",
            "read_delta_lake",
        ),
        ("paths: [{file: a.csv}]\ntransformations: [{take: 1}, {read_parquet: {}}]\n", "[1].read_parquet"),
        ("paths: [{file: a.csv}]\ntransformations: [{drop_columns: []}]\n", "drop_columns"),
        (
            "paths: [{file: a.csv}]\ntransformations:\n"
            "  - convert_column_types: [{columns: a, column_type: decimal}]\n",
            "convert_column_types[0].column_type",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{convert_column_types: [{columns: a}]}]\n",
            "convert_column_types[0]",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations:\n- convert_column_types:\n  - columns: a\n"
            "    column_type: {boolean: {true_values: ['y']}}\n",
            "column_type.boolean",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations:\n- convert_column_types:\n  - columns: a\n"
            "    column_type: {datetime: {formats: ['%Y'], zone: x}}\n",
            "column_type.datetime.zone",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{extract_columns_from_partition_format: 'x/y'}]\n",
            "extract",
        ),
        ("paths: []\n", "paths"),
        ("paths: [{url: a.csv}]\n", "paths[0].url"),
        ("paths: [{file: ''}]\n", "paths[0].file"),
        ("type: uri_file\npaths: [{file: a.csv}]\n", "type"),
        ("$schema: https://x/commandJob.schema.json\npaths: [{file: a.csv}]\n", "$schema"),
        ("traits: {color: red}\npaths: [{file: a.csv}]\n", "traits.color"),
    ],
)
def test_parse_errors_name_the_field(text: str, field: str) -> None:
    error = parse_error(text)
    assert error.field is not None and field in error.field
    assert field in error.message
    assert error.message.startswith("t/MLTable: ")


def test_parse_refuses_what_is_not_an_mltable_mapping() -> None:
    assert parse_error("paths: [unclosed\n").field == "MLTable"
    assert parse_error("- just a list\n").field == "MLTable"


def test_refused_transformations_say_why() -> None:
    assert "not supported" in parse_error("paths: [{file: a}]\ntransformations: [{filter: x}]\n").message
    assert "Parquet" in parse_error("paths: [{file: a}]\ntransformations: [{read_delta_lake: {}}]\n").message


# -- paths and globs --------------------------------------------------------------------------------


def test_glob_patterns_and_folders(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.csv", "n\n1\n")
    put(tmp_path, "b.csv", "n\n2\n")
    put(tmp_path, "notes.txt", "not data")
    put(tmp_path, "deep/c.csv", "n\n3\n")
    put(tmp_path, "deep/deeper/d.csv", "n\n4\n")
    put(tmp_path, "deep/_SUCCESS", "")
    put(tmp_path, "parts/part-1.csv", "n\n5\n")
    put(tmp_path, "parts/part-x.csv", "n\n6\n")

    def values(paths: str) -> list[int]:
        table(tmp_path, f"paths:\n{paths}transformations:\n  - read_delimited: {{}}\n")
        return load(fs, tmp_path)["n"].tolist()

    assert values("  - pattern: ./*.csv\n") == [1, 2]
    assert values("  - pattern: '**/*.csv'\n") == [1, 2, 3, 4, 5, 6]
    assert values("  - pattern: deep/**/*.csv\n") == [3, 4]
    assert values("  - pattern: parts/part-[0-9].csv\n") == [5]
    assert values("  - folder: ./deep\n") == [3, 4]  # recursive, _SUCCESS skipped
    assert values("  - file: b.csv\n  - file: ./a.csv\n") == [2, 1]  # entries in the order written
    assert read_mltable(fs, str(tmp_path)).files(fs, str(tmp_path)) == [
        str(tmp_path / "b.csv"),
        str(tmp_path / "a.csv"),
    ]


def test_absolute_file_uri_inside_the_folder_is_read(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.csv", "n\n1\n")
    table(tmp_path, f"paths:\n  - file: file://{tmp_path}/a.csv\ntransformations: [read_delimited]\n")
    assert load(fs, tmp_path)["n"].tolist() == [1]


def test_path_errors_name_the_entry(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "sub/a.csv", "n\n1\n")
    cases = {
        "  - file: missing.csv\n": "no such file",
        "  - file: sub\n": "is a folder",
        "  - folder: nowhere\n": "no such folder",
        "  - pattern: '*.parquet'\n": "matched no files",
    }
    for entry, message in cases.items():
        table(tmp_path, f"paths:\n{entry}transformations: [read_delimited]\n")
        with pytest.raises(InvalidInputError, match=message) as info:
            load(fs, tmp_path)
        assert info.value.field == "paths[0]." + entry.split(":")[0].strip(" -")


@pytest.mark.parametrize(
    "entry",
    [
        "file: ../outside.csv",
        "file: sub/../../outside.csv",
        "pattern: ../*.csv",
        "pattern: '*/../../*.csv'",
        "folder: ..",
    ],
)
def test_parent_escapes_are_refused(fs: Any, tmp_path: Path, entry: str) -> None:
    put(tmp_path, "outside.csv", "secret\n1\n")
    root = tmp_path / "asset"
    put(root, "sub/a.csv", "n\n1\n")
    table(root, f"paths:\n  - {entry}\ntransformations: [read_delimited]\n")
    with pytest.raises(InvalidInputError, match=r"leaves the MLTable's folder|outside") as info:
        load(fs, root)
    assert info.value.field is not None and info.value.field.startswith("paths[0].")


def test_absolute_paths_outside_need_an_allowed_root(fs: Any, tmp_path: Path) -> None:
    shared = put(tmp_path, "shared/data.csv", "n\n7\n")
    root = tmp_path / "asset"
    for value in (str(shared), f"file://{shared}", f"{tmp_path}/shared/*.csv"):
        kind = "pattern" if "*" in value else "file"
        table(root, f"paths:\n  - {kind}: '{value}'\ntransformations: [read_delimited]\n")
        with pytest.raises(InvalidInputError, match="outside the MLTable's folder"):
            load(fs, root)
        frame = load(fs, root, allowed_roots=[str(tmp_path / "shared")])
        assert frame["n"].tolist() == [7]


def test_other_schemes_are_refused(fs: Any, tmp_path: Path) -> None:
    for uri, message in [
        ("https://example.com/iris.csv", "https:// is not this data store's scheme"),
        ("azureml://datastores/x/paths/a.csv", "azureml:// URIs are not resolved here"),
        ("wasbs://c@acct.blob.core.windows.net/a.csv", "wasbs://"),
    ]:
        table(tmp_path, f"paths:\n  - file: '{uri}'\ntransformations: [read_delimited]\n")
        with pytest.raises(InvalidInputError, match=message):
            load(fs, tmp_path)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlinks_out_of_the_folder_are_refused(fs: Any, tmp_path: Path) -> None:
    outside = put(tmp_path, "outside.csv", "secret\n1\n")
    root = tmp_path / "asset"
    put(root, "ok.csv", "secret\n0\n")
    (root / "link.csv").symlink_to(outside)
    for entry in ("pattern: ./*.csv", "file: link.csv", "folder: ."):
        table(root, f"paths:\n  - {entry}\ntransformations: [read_delimited]\n")
        with pytest.raises(InvalidInputError, match="links to a file outside"):
            load(fs, root)
    (root / "inside.csv").symlink_to(root / "ok.csv")  # a link within the folder is fine
    (root / "link.csv").unlink()
    table(root, CSV_READ)
    assert load(fs, root)["secret"].tolist() == [0, 0]


def test_missing_mltable_file(fs: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no MLTable file") as info:
        load(fs, tmp_path)
    assert info.value.field == "MLTable"


def test_origin_names_the_table_in_messages(fs: Any, tmp_path: Path) -> None:
    table(tmp_path, "paths: [{file: a.csv}]\ntransformations: [{take: many}]\n")
    with pytest.raises(InvalidInputError, match=r"^azureml:sales:3: transformations\[0\]\.take: "):
        read_mltable(fs, str(tmp_path), origin="azureml:sales:3")


def test_without_a_read_transformation_the_table_lists_files(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "img/b.png", b"\x89PNG")
    put(tmp_path, "img/a.png", b"\x89PNG")
    table(tmp_path, "paths:\n  - pattern: img/*.png\ntransformations:\n  - take: 5\n")
    assert load(fs, tmp_path)["Path"].tolist() == ["img/a.png", "img/b.png"]


# -- read_delimited ---------------------------------------------------------------------------------


def test_header_modes(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "1.csv", "a,b\n1,2\n")
    put(tmp_path, "2.csv", "a,b\n3,4\n")

    def read(header: str) -> pd.DataFrame:
        table(
            tmp_path,
            f"paths: [{{pattern: '*.csv'}}]\ntransformations:\n  - read_delimited: {{header: {header}}}\n",
        )
        return load(fs, tmp_path)

    same = read("all_files_same_headers")
    assert same.to_dict("list") == {"a": [1, 3], "b": [2, 4]}
    no_header = read("no_header")
    assert list(no_header.columns) == ["Column1", "Column2"]
    assert no_header["Column1"].tolist() == ["a", "1", "a", "3"]
    first = read("from_first_file")  # the second file's "a,b" line is data
    assert first["a"].tolist() == ["1", "a", "3"]

    put(tmp_path, "2.csv", "b,c\n5,6\n")
    different = read("all_files_different_headers")
    assert list(different.columns) == ["a", "b", "c"]
    assert different["b"].tolist() == [2, 5]
    assert different["a"].isna().tolist() == [False, True]
    with pytest.raises(InvalidInputError, match=r"header .* differs from the first file") as info:
        read("all_files_same_headers")
    assert info.value.field == "transformations[0].read_delimited"


def test_delimited_options(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.txt", 'id;name;note\n007;"Ann";\n8;"B, ""quoted""\nline";x\n')
    table(
        tmp_path,
        """\
        paths: [{file: a.txt}]
        transformations:
          - read_delimited:
              delimiter: ';'
              empty_as_string: true
              support_multi_line: true
              include_path_column: true
        """,
    )
    frame = load(fs, tmp_path)
    assert frame["id"].tolist() == [7, 8]
    assert frame["name"].tolist() == ["Ann", 'B, "quoted"\nline']
    assert frame["note"].tolist() == ["", "x"]  # empty kept as "" in a string column
    assert frame["Path"].tolist() == ["a.txt", "a.txt"]

    put(tmp_path, "a.txt", "id||v\n1||\n2||3.5\n")
    table(tmp_path, "paths: [{file: a.txt}]\ntransformations: [{read_delimited: {delimiter: '||'}}]\n")
    frame = load(fs, tmp_path)
    assert frame["v"].isna().tolist() == [True, False]
    assert frame["v"].dtype == "float64"


def test_infer_column_types_off_keeps_text(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.csv", "n,flag\n1,true\n,false\n")
    table(
        tmp_path, "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {infer_column_types: false}}]\n"
    )
    frame = load(fs, tmp_path)
    assert frame["n"].tolist()[0] == "1" and pd.isna(frame["n"].tolist()[1])
    assert frame["flag"].tolist() == ["true", "false"]


def test_inferred_types(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.csv", "i,f,b,d,s,gap\n1,1.5,true,2024-01-31,x,1\n2,2,FALSE,2024-02-01T10:00:00,y,\n")
    table(tmp_path, "paths: [{file: a.csv}]\ntransformations: [read_delimited]\n")
    frame = load(fs, tmp_path)
    assert str(frame["i"].dtype) == "int64"
    assert str(frame["f"].dtype) == "float64"
    assert str(frame["b"].dtype) == "bool" and frame["b"].tolist() == [True, False]
    assert frame["d"].dtype.kind == "M"
    assert frame["s"].tolist() == ["x", "y"]
    assert str(frame["gap"].dtype) == "float64"  # integers with a null, as pandas reads them


def test_encodings(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.csv", "name\ncafé\n".encode("latin-1"))
    table(tmp_path, "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {encoding: latin1}}]\n")
    assert load(fs, tmp_path)["name"].tolist() == ["café"]
    table(tmp_path, "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {encoding: utf8}}]\n")
    with pytest.raises(InvalidInputError, match="not utf8 text"):
        load(fs, tmp_path)
    put(tmp_path, "a.csv", "\ufeffname\nx\n".encode())
    table(tmp_path, "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {encoding: utf8bom}}]\n")
    assert list(load(fs, tmp_path).columns) == ["name"]


def test_ragged_rows_are_an_error_naming_the_file(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.csv", "a,b\n1,2\n3,4,5\n")
    table(tmp_path, "paths: [{file: a.csv}]\ntransformations: [read_delimited]\n")
    with pytest.raises(InvalidInputError, match=r"a\.csv: not valid delimited text"):
        load(fs, tmp_path)


# -- read_parquet and read_json_lines --------------------------------------------------------------


def test_read_parquet(fs: Any, tmp_path: Path) -> None:
    for name, rows in (("p/1.parquet", [1, 2]), ("p/2.parquet", [3])):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        pq.write_table(pa.table({"x": rows, "y": [f"r{r}" for r in rows]}), tmp_path / name)
    table(
        tmp_path,
        "paths: [{pattern: 'p/*.parquet'}]\n"
        "transformations:\n  - read_parquet: {include_path_column: true}\n",
    )
    frame = load(fs, tmp_path)
    assert frame.to_dict("list") == {
        "x": [1, 2, 3],
        "y": ["r1", "r2", "r3"],
        "Path": ["p/1.parquet", "p/1.parquet", "p/2.parquet"],
    }
    put(tmp_path, "p/3.parquet", "not parquet")
    with pytest.raises(InvalidInputError, match=r"p/3\.parquet: not a readable Parquet file"):
        load(fs, tmp_path)


def test_read_json_lines(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.jsonl", '{"a": 1, "b": "x"}\n\n{"a": 2}\nnot json\n[1]\n{"a": 3, "c": [1, 2]}\n')
    body = "paths: [{file: a.jsonl}]\ntransformations:\n  - read_json_lines: {invalid_lines: %s}\n"
    table(tmp_path, body % "drop")
    frame = load(fs, tmp_path)
    assert frame["a"].tolist() == [1, 2, 3]
    assert frame["c"].tolist()[2] == [1, 2]
    table(tmp_path, body % "error")
    with pytest.raises(InvalidInputError, match=r"a\.jsonl: line 4 is not valid JSON") as info:
        load(fs, tmp_path)
    assert info.value.field == "transformations[0].read_json_lines"


def test_read_json_lines_encoding(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.jsonl", '{"name": "café"}\n'.encode("utf-16"))
    table(tmp_path, "paths: [{file: a.jsonl}]\ntransformations: [{read_json_lines: {encoding: utf16}}]\n")
    assert load(fs, tmp_path)["name"].tolist() == ["café"]


# -- row and column transformations -----------------------------------------------------------------


@pytest.fixture
def numbers(tmp_path: Path) -> Path:
    put(tmp_path, "a.csv", "n,sq,name\n" + "".join(f"{i},{i * i},n{i}\n" for i in range(10)))
    put(tmp_path, "b.csv", "n,sq,name\n" + "".join(f"{i},{i * i},n{i}\n" for i in range(10, 20)))
    return tmp_path


def steps_frame(fs: Any, root: Path, steps: str, **kwargs: Any) -> pd.DataFrame:
    table(root, f"paths: [{{pattern: '*.csv'}}]\ntransformations:\n  - read_delimited: {{}}\n{steps}")
    return load(fs, root, **kwargs)


def test_take_and_skip(fs: Any, numbers: Path) -> None:
    assert steps_frame(fs, numbers, "  - take: 3\n")["n"].tolist() == [0, 1, 2]
    assert steps_frame(fs, numbers, "  - skip: 8\n  - take: 4\n")["n"].tolist() == [8, 9, 10, 11]
    assert steps_frame(fs, numbers, "  - take: 4\n  - skip: 2\n")["n"].tolist() == [2, 3]
    assert steps_frame(fs, numbers, "  - skip: 30\n").empty
    assert steps_frame(fs, numbers, "  - take: 0\n").columns.tolist() == ["n", "sq", "name"]


def test_take_random_sample(fs: Any, numbers: Path) -> None:
    sample = "  - take_random_sample: {probability: 0.5, seed: 42}\n"
    first = steps_frame(fs, numbers, sample)["n"].tolist()
    assert first == steps_frame(fs, numbers, sample)["n"].tolist()  # the seed makes it repeatable
    assert 0 < len(first) < 20 and first == sorted(first)
    assert len(steps_frame(fs, numbers, "  - take_random_sample: {probability: 0}\n")) == 0
    assert len(steps_frame(fs, numbers, "  - take_random_sample: {probability: 1.0}\n")) == 20


def test_drop_and_keep_columns(fs: Any, numbers: Path) -> None:
    assert steps_frame(fs, numbers, "  - drop_columns: sq\n").columns.tolist() == ["n", "name"]
    assert steps_frame(fs, numbers, "  - drop_columns: [sq, n]\n").columns.tolist() == ["name"]
    assert steps_frame(fs, numbers, "  - keep_columns: [name, n]\n").columns.tolist() == ["name", "n"]
    with pytest.raises(InvalidInputError, match="no column named 'nope'") as info:
        steps_frame(fs, numbers, "  - keep_columns: [n]\n  - drop_columns: [nope]\n")
    assert info.value.field == "transformations[2].drop_columns"


def test_limit_reads_only_what_the_rows_need(fs: Any, numbers: Path) -> None:
    put(numbers, "c.csv", "n,sq,name\n1,2\n3,4,5,6,7\n")  # unreadable: must never be opened
    assert steps_frame(fs, numbers, "  - take: 3\n")["n"].tolist() == [0, 1, 2]
    assert steps_frame(fs, numbers, "  - skip: 5\n", limit=10)["n"].tolist() == list(range(5, 15))
    with pytest.raises(InvalidInputError, match=r"c\.csv"):
        steps_frame(fs, numbers, "  - take_random_sample: {probability: 0.5}\n", limit=1)


def test_convert_column_types(fs: Any, tmp_path: Path) -> None:
    put(
        tmp_path,
        "a.csv",
        "zip,age,score,day,ok,flag,when\n01234,31,1,31/01/2024,yes,Y,2024-01-31T10:00:00\n"
        "00042,,2.5,01/02/2024,no,N,\n",
    )
    table(
        tmp_path,
        """\
        paths: [{file: a.csv}]
        transformations:
          - read_delimited: {}
          - convert_column_types:
              - columns: [zip]
                column_type: string
              - columns: age
                column_type: int
              - columns: score
                column_type: float
              - columns: day
                column_type:
                  datetime:
                    formats: ['%d/%m/%Y']
              - columns: [ok]
                column_type: boolean
              - columns: flag
                column_type:
                  boolean: {true_values: ['Y'], false_values: ['N']}
              - columns: when
                column_type: datetime
        """,
    )
    frame = load(fs, tmp_path)
    assert frame["zip"].tolist() == ["01234", "00042"]  # the text as written, zeros kept
    assert str(frame["age"].dtype) == "Int64" and frame["age"].tolist()[0] == 31
    assert frame["age"].isna().tolist() == [False, True]
    assert frame["score"].tolist() == [1.0, 2.5]
    assert frame["day"].tolist() == [pd.Timestamp(2024, 1, 31), pd.Timestamp(2024, 2, 1)]
    assert frame["ok"].tolist() == [True, False]
    assert frame["flag"].tolist() == [True, False]
    assert frame["when"].tolist()[0] == pd.Timestamp(2024, 1, 31, 10)
    assert frame["when"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("column_type", "message"),
    [
        ("int", "'2.5', which is not an integer"),
        ("float", "'x', which is not a number"),
        ("{datetime: {formats: ['%Y-%m-%d']}}", "which is not a datetime in %Y-%m-%d"),
        ("{boolean: {true_values: ['1'], false_values: ['0'], mismatch_as: error}}", "true or false values"),
    ],
)
def test_conversion_failures_name_column_and_value(
    fs: Any, tmp_path: Path, column_type: str, message: str
) -> None:
    put(tmp_path, "a.csv", "v\n1\n2.5\nx\n")
    table(
        tmp_path,
        f"paths: [{{file: a.csv}}]\ntransformations:\n  - read_delimited: {{}}\n"
        f"  - convert_column_types:\n      - columns: v\n        column_type: {column_type}\n",
    )
    with pytest.raises(InvalidInputError, match=message) as info:
        load(fs, tmp_path)
    assert "column 'v'" in info.value.message
    assert info.value.field == "transformations[1].convert_column_types[0].column_type"


def test_boolean_mismatch_as(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.csv", "v\nyes\nmaybe\n\n")
    table(
        tmp_path,
        "paths: [{file: a.csv}]\ntransformations:\n  - read_delimited: {}\n  - convert_column_types:\n"
        "      - columns: v\n        column_type: {boolean: {true_values: ['yes'], false_values: ['no'], "
        "mismatch_as: 'false'}}\n",
    )
    assert load(fs, tmp_path)["v"].tolist() == [True, False]


def test_unquoted_yaml_booleans_mean_the_words_written(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "a.csv", "v\nyes\nNo\nON\n")
    table(
        tmp_path,
        "paths: [{file: a.csv}]\ntransformations:\n  - read_delimited: {infer_column_types: false}\n"
        "  - convert_column_types:\n      - columns: v\n"
        "        column_type: {boolean: {true_values: [yes, on], false_values: [no]}}\n",
    )
    assert load(fs, tmp_path)["v"].tolist() == [True, False, True]


def test_convert_typed_parquet_columns(fs: Any, tmp_path: Path) -> None:
    pq.write_table(pa.table({"f": [1.0, None], "i": [1, 0], "s": ["3", "4"]}), tmp_path / "a.parquet")
    table(
        tmp_path,
        "paths: [{file: a.parquet}]\ntransformations:\n  - read_parquet: {}\n  - convert_column_types:\n"
        "      - {columns: f, column_type: int}\n      - {columns: i, column_type: boolean}\n"
        "      - {columns: s, column_type: int}\n      - {columns: i, column_type: string}\n",
    )
    frame = load(fs, tmp_path)
    assert str(frame["f"].dtype) == "Int64" and frame["f"].tolist()[0] == 1
    assert frame["i"].tolist() == ["True", "False"]  # converted twice: to boolean, then to text
    assert frame["s"].tolist() == [3, 4]


def test_extract_columns_from_partition_format(fs: Any, tmp_path: Path) -> None:
    put(tmp_path, "data/puYear=2015/puMonth=1/a.csv", "v\n1\n")
    put(tmp_path, "data/puYear=2016/puMonth=12/a.csv", "v\n2\n")
    put(tmp_path, "logs/2024/03/05/a.csv", "v\n3\n")
    table(
        tmp_path,
        "paths: [{pattern: 'data/**/*.csv'}]\ntransformations:\n  - read_delimited: {}\n"
        "  - extract_columns_from_partition_format: /puYear={year}/puMonth={month}\n",
    )
    frame = load(fs, tmp_path)
    assert frame[["v", "year", "month"]].values.tolist() == [[1, "2015", "1"], [2, "2016", "12"]]
    table(
        tmp_path,
        "paths: [{pattern: 'logs/**/*.csv'}]\ntransformations:\n  - read_delimited: {}\n"
        "  - extract_columns_from_partition_format: {day:yyyy/MM/dd}\n",
    )
    assert load(fs, tmp_path)["day"].tolist() == [pd.Timestamp(2024, 3, 5)]
