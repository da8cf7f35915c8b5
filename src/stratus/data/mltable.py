"""Azure ML's ``MLTable`` file: parsed and validated up front, then loaded into pandas over fsspec.

An MLTable file is YAML beside the data: ``paths`` (``file``, ``folder`` or glob ``pattern``, relative
to the file's folder) and ``transformations`` applied in order, the first of which says how to read
the files (``read_delimited``, ``read_parquet``, ``read_json_lines``; without one the table lists the
files in a ``Path`` column). Every field is checked by :meth:`MLTable.parse`, so an unknown
transformation or field, or a value of the wrong kind, is an :class:`InvalidInputError` naming it
before any data is read; errors that depend on the data (a missing column, a value that does not
convert) are raised while loading and name the transformation too.

Paths never leave the MLTable's folder: ``..`` escapes are refused, and so are absolute paths and URIs
unless they fall below one of the ``allowed_roots`` the caller passes (on the same filesystem). On a
local filesystem symbolic links are resolved before that check.

Known Azure transformations refused here, with a message saying so: ``filter`` (an expression
language of its own) and ``read_delta_lake``.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd  # no stubs installed (pandas-stubs is not a dependency)
import yaml

from stratus.data.tabular import (
    COLUMN_TYPES,
    ENCODINGS,
    HEADER_MODES,
    ColumnConversion,
    ColumnType,
    DelimitedOptions,
    FileTable,
    HeaderMode,
    convert_column,
    read_delimited_files,
    read_json_lines_files,
    read_parquet_files,
)
from stratus.errors import InvalidInputError
from stratus.parsing import MAX_YAML_CHARS, InputLimitError, load_yaml

__all__ = [
    "MLTABLE_FILE",
    "PATH_COLUMN",
    "ColumnConversion",
    "ConvertColumnTypes",
    "DropColumns",
    "ExtractPartitionFormat",
    "KeepColumns",
    "MLTable",
    "PathEntry",
    "ReadDelimited",
    "ReadJsonLines",
    "ReadParquet",
    "Skip",
    "Take",
    "TakeRandomSample",
    "load_mltable",
    "read_mltable",
]

MLTABLE_FILE = "MLTable"
PATH_COLUMN = "Path"  # the column include_path_column adds, named as Azure ML names it
SCHEMA_FILE = "MLTable.schema.json"

_REFUSED = {
    "filter": "filter expressions are not supported; load the table and filter the DataFrame instead",
    "read_delta_lake": "Delta Lake tables are not supported; export the table to Parquet, use read_parquet",
}
_READ_STEPS = ("read_delimited", "read_parquet", "read_json_lines")
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_GLOB_MAGIC = re.compile(r"[*?\[]")
_PARTITION_FIELD = re.compile(r"\{([^{}:]+)(?::([^{}]+))?\}")
_DATE_TOKENS = {"yyyy": ("year", r"\d{4}"), "MM": ("month", r"\d{2}"), "dd": ("day", r"\d{2}"),
                "HH": ("hour", r"\d{2}"), "mm": ("minute", r"\d{2}"), "ss": ("second", r"\d{2}")}  # fmt: skip
_DATE_TOKEN = re.compile("|".join(_DATE_TOKENS))
_YAML_BOOLEAN_WORDS = {
    True: [w for word in ("yes", "true", "on") for w in (word, word.capitalize(), word.upper())],
    False: [w for word in ("no", "false", "off") for w in (word, word.capitalize(), word.upper())],
}


# -- the parsed file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathEntry:
    kind: Literal["file", "folder", "pattern"]
    value: str
    field: str  # e.g. "paths[0].pattern", for messages


@dataclass(frozen=True)
class ReadDelimited:
    options: DelimitedOptions
    include_path_column: bool = False
    support_multi_line: bool = False  # quoted line breaks are always honoured; kept for round trips
    field: str = "transformations[0].read_delimited"


@dataclass(frozen=True)
class ReadParquet:
    include_path_column: bool = False
    field: str = "transformations[0].read_parquet"


@dataclass(frozen=True)
class ReadJsonLines:
    encoding: str = "utf8"
    invalid_lines: Literal["error", "drop"] = "error"
    include_path_column: bool = False
    field: str = "transformations[0].read_json_lines"


@dataclass(frozen=True)
class Take:
    count: int
    field: str


@dataclass(frozen=True)
class Skip:
    count: int
    field: str


@dataclass(frozen=True)
class TakeRandomSample:
    probability: float
    seed: int | None
    field: str


@dataclass(frozen=True)
class DropColumns:
    columns: tuple[str, ...]
    field: str


@dataclass(frozen=True)
class KeepColumns:
    columns: tuple[str, ...]
    field: str


@dataclass(frozen=True)
class ConvertColumnTypes:
    conversions: tuple[ColumnConversion, ...]
    field: str


@dataclass(frozen=True)
class ExtractPartitionFormat:
    """``{name}`` takes a path segment's text; ``{name:yyyy/MM/dd/HH/mm/ss}`` builds a datetime."""

    format: str
    pattern: re.Pattern[str]
    columns: tuple[tuple[str, str | None], ...]  # (column, datetime format or None)
    field: str


ReadStep = ReadDelimited | ReadParquet | ReadJsonLines
Step = (
    Take | Skip | TakeRandomSample | DropColumns | KeepColumns | ConvertColumnTypes | ExtractPartitionFormat
)


@dataclass(frozen=True)
class MLTable:
    """A parsed MLTable file: :meth:`parse` or :func:`read_mltable` builds one, :meth:`to_pandas` loads it."""

    paths: tuple[PathEntry, ...]
    read: ReadStep | None
    steps: tuple[Step, ...]
    origin: str
    traits: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, *, origin: str) -> MLTable:
        """Parse and validate MLTable YAML; ``origin`` (e.g. the file's URI) prefixes error messages."""
        return _Parser(origin).parse(text)

    def files(self, fs: Any, folder: str, *, allowed_roots: Sequence[str] = ()) -> list[str]:
        """The files ``paths`` names, in order (each folder and pattern sorted), as ``fs`` paths."""
        return [path for path, _ in _Resolver(self, fs, folder, allowed_roots).files()]

    def to_pandas(
        self, fs: Any, folder: str, *, limit: int | None = None, allowed_roots: Sequence[str] = ()
    ) -> pd.DataFrame:
        """Read the files and apply the transformations; ``folder`` holds this MLTable file.

        ``limit`` keeps the first rows of the result only, and reads no further than those rows need
        when the transformations allow it (``take``/``skip`` do, ``take_random_sample`` does not).
        """
        if limit is not None and limit < 0:
            raise ValueError("limit must be None or at least 0")
        files = _Resolver(self, fs, folder, allowed_roots).files()
        budget = _row_budget(self.steps, limit)
        table = self._read(fs, files, budget)
        frame = _apply(table, self.steps, self._empty_as_string())
        if limit is not None:
            frame = frame.iloc[:limit]
        return frame.reset_index(drop=True)

    def _empty_as_string(self) -> bool:
        return isinstance(self.read, ReadDelimited) and self.read.options.empty_as_string

    def _read(self, fs: Any, files: list[tuple[str, str]], budget: int | None) -> FileTable:
        read = self.read
        if read is None:  # a table of file paths, as Azure's from_paths
            labels = [label for _, label in files][:budget]
            frame = pd.DataFrame({PATH_COLUMN: pd.Series(labels, dtype="str")})
            return FileTable(frame=frame, sources=frame[PATH_COLUMN].copy())
        if isinstance(read, ReadDelimited):
            table = read_delimited_files(fs, files, read.options, max_rows=budget, field_name=read.field)
        elif isinstance(read, ReadParquet):
            table = read_parquet_files(fs, files, max_rows=budget, field_name=read.field)
        else:
            table = read_json_lines_files(
                fs,
                files,
                encoding=read.encoding,
                invalid_lines=read.invalid_lines,
                max_rows=budget,
                field_name=read.field,
            )
        if read.include_path_column:
            if PATH_COLUMN in table.frame.columns:
                raise _error(
                    f"{self.origin}: {read.field}.include_path_column: the data already has a "
                    f"{PATH_COLUMN!r} column",
                    f"{read.field}.include_path_column",
                )
            table.frame[PATH_COLUMN] = table.sources
        return table


def read_mltable(fs: Any, folder: str, *, origin: str = MLTABLE_FILE) -> MLTable:
    """Read and parse ``<folder>/MLTable``; ``origin`` names it in error messages (e.g. the asset)."""
    path = posixpath.join(folder.rstrip("/"), MLTABLE_FILE)
    try:
        with fs.open(path, "rb") as handle:
            data = handle.read(MAX_YAML_CHARS + 1)  # a text file of a few lines; never a whole blob
    except FileNotFoundError:
        raise _error(f"{origin}: the folder has no {MLTABLE_FILE} file", MLTABLE_FILE) from None
    if len(data) > MAX_YAML_CHARS:
        raise _error(f"{origin}: {MLTABLE_FILE} is larger than {MAX_YAML_CHARS} bytes", MLTABLE_FILE)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _error(f"{origin}: {MLTABLE_FILE} is not UTF-8 text", MLTABLE_FILE) from None
    return MLTable.parse(text, origin=origin)


def load_mltable(
    fs: Any, folder: str, *, limit: int | None = None, allowed_roots: Sequence[str] = ()
) -> pd.DataFrame:
    """Load the MLTable in ``folder`` (an ``fs`` path) into a DataFrame; see :meth:`MLTable.to_pandas`."""
    return read_mltable(fs, folder).to_pandas(fs, folder, limit=limit, allowed_roots=allowed_roots)


def _error(message: str, field_name: str) -> InvalidInputError:
    return InvalidInputError(message, field=field_name)


# -- parsing ----------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, field_name: str, message: str) -> InvalidInputError:
        return _error(f"{self.origin}: {field_name}: {message}", field_name)

    def parse(self, text: str) -> MLTable:
        try:
            data = load_yaml(text)
        except (yaml.YAMLError, InputLimitError) as exc:
            raise _error(f"{self.origin}: not valid YAML: {exc}", MLTABLE_FILE) from None
        if not isinstance(data, dict):
            raise _error(f"{self.origin}: an MLTable file must be a YAML mapping", MLTABLE_FILE)
        self.keys(data, {"$schema", "type", "paths", "transformations", "traits", "metadata"}, "")
        schema = data.get("$schema")
        if schema is not None and str(schema).rstrip("/").rsplit("/", 1)[-1] != SCHEMA_FILE:
            raise self.fail("$schema", f"{schema!r} is not {SCHEMA_FILE}")
        if data.get("type", "mltable") != "mltable":
            raise self.fail("type", f"must be 'mltable' (got {data.get('type')!r})")
        paths = self.paths(data.get("paths"))
        read, steps = self.transformations(data.get("transformations"))
        traits = self.traits(data.get("traits"))
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise self.fail("metadata", "must be a mapping")
        return MLTable(paths, read, steps, self.origin, traits, metadata)

    # field checks

    def keys(self, mapping: dict[Any, Any], allowed: set[str], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                name = f"{where}.{key}" if where else str(key)
                raise self.fail(name, f"unknown field; allowed here: {', '.join(sorted(allowed))}")

    def mapping(self, value: Any, field_name: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(field_name, "must be a mapping of fields")
        return value

    def boolean(self, value: Any, field_name: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(field_name, f"must be true or false (got {value!r})")
        return value

    def count(self, value: Any, field_name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(field_name, f"must be a whole number of rows, 0 or more (got {value!r})")
        return value

    def string(self, value: Any, field_name: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(field_name, f"must be a non-empty string (got {value!r})")
        return value

    def names(self, value: Any, field_name: str) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        names: list[str] = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int) or item == "":
                raise self.fail(field_name, f"must be a column name or a list of them (got {item!r})")
            names.append(str(item))
        if not names:
            raise self.fail(field_name, "must name at least one column")
        return tuple(names)

    def texts(self, value: Any, field_name: str) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items or any(isinstance(item, dict | list) or item is None for item in items):
            raise self.fail(field_name, "must be a non-empty list of strings")
        texts: list[str] = []
        for item in items:
            # YAML reads unquoted yes/no/on/off/true/false as booleans: mean the words that were written
            texts.extend(_YAML_BOOLEAN_WORDS[item] if isinstance(item, bool) else [str(item)])
        return tuple(texts)

    # sections

    def paths(self, value: Any) -> tuple[PathEntry, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("paths", "must be a non-empty list of file:, folder: or pattern: entries")
        entries: list[PathEntry] = []
        for index, item in enumerate(value):
            where = f"paths[{index}]"
            if not isinstance(item, dict) or len(item) != 1:
                raise self.fail(where, "must be one of file: <path>, folder: <path> or pattern: <glob>")
            ((kind, path),) = item.items()
            if kind not in ("file", "folder", "pattern"):
                raise self.fail(f"{where}.{kind}", "unknown field; use file, folder or pattern")
            entries.append(PathEntry(kind, self.string(path, f"{where}.{kind}"), f"{where}.{kind}"))
        return tuple(entries)

    def traits(self, value: Any) -> dict[str, Any]:
        traits = self.mapping(value, "traits")
        self.keys(traits, {"index_columns", "timestamp_column"}, "traits")
        if "index_columns" in traits:
            traits["index_columns"] = list(self.names(traits["index_columns"], "traits.index_columns"))
        if "timestamp_column" in traits:
            traits["timestamp_column"] = self.string(traits["timestamp_column"], "traits.timestamp_column")
        return traits

    def transformations(self, value: Any) -> tuple[ReadStep | None, tuple[Step, ...]]:
        if value is None:
            return None, ()
        if not isinstance(value, list):
            raise self.fail("transformations", "must be a list of transformations")
        read: ReadStep | None = None
        steps: list[Step] = []
        for index, item in enumerate(value):
            where = f"transformations[{index}]"
            if isinstance(item, str):  # a read step with its defaults, written as a bare name
                name, body = item, None
            elif isinstance(item, dict) and len(item) == 1:
                ((name, body),) = item.items()
            else:
                raise self.fail(where, "must be a mapping with one transformation name")
            name = str(name)
            field_name = f"{where}.{name}"
            if name in _REFUSED:
                raise self.fail(field_name, _REFUSED[name])
            if name in _READ_STEPS:
                if index != 0:
                    raise self.fail(field_name, "the read transformation must be the first one, and only one")
                read = self.read_step(name, body, field_name)
            else:
                steps.append(self.step(name, body, field_name))
        return read, tuple(steps)

    def read_step(self, name: str, body: Any, where: str) -> ReadStep:
        fields = self.mapping(body, where)
        path_column = self.boolean(fields.get("include_path_column"), f"{where}.include_path_column", False)
        if name == "read_delimited":
            allowed = {"delimiter", "header", "encoding", "empty_as_string", "include_path_column",
                       "infer_column_types", "support_multi_line"}  # fmt: skip
            self.keys(fields, allowed, where)
            header = fields.get("header", "all_files_same_headers")
            if header not in HEADER_MODES:
                raise self.fail(
                    f"{where}.header", f"must be one of {', '.join(HEADER_MODES)} (got {header!r})"
                )
            header_mode: HeaderMode = header
            options = DelimitedOptions(
                delimiter=self.string(fields.get("delimiter", ","), f"{where}.delimiter"),
                header=header_mode,
                encoding=self.encoding(fields.get("encoding"), f"{where}.encoding"),
                empty_as_string=self.boolean(
                    fields.get("empty_as_string"), f"{where}.empty_as_string", False
                ),
                infer_column_types=self.boolean(
                    fields.get("infer_column_types"), f"{where}.infer_column_types", True
                ),
            )
            multi_line = self.boolean(fields.get("support_multi_line"), f"{where}.support_multi_line", False)
            return ReadDelimited(options, path_column, multi_line, where)
        if name == "read_parquet":
            self.keys(fields, {"include_path_column"}, where)
            return ReadParquet(path_column, where)
        # read_json_lines, the last of _READ_STEPS
        self.keys(fields, {"encoding", "include_path_column", "invalid_lines"}, where)
        invalid = fields.get("invalid_lines", "error")
        if invalid not in ("error", "drop"):
            raise self.fail(f"{where}.invalid_lines", f"must be error or drop (got {invalid!r})")
        encoding = self.encoding(fields.get("encoding"), f"{where}.encoding")
        return ReadJsonLines(encoding, invalid, path_column, where)

    def encoding(self, value: Any, field_name: str) -> str:
        if value is None:
            return "utf8"
        if value not in ENCODINGS:
            raise self.fail(field_name, f"must be one of {', '.join(ENCODINGS)} (got {value!r})")
        return str(value)

    def step(self, name: str, body: Any, where: str) -> Step:
        if name == "take":
            return Take(self.count(body, where), where)
        if name == "skip":
            return Skip(self.count(body, where), where)
        if name == "take_random_sample":
            fields = self.mapping(body, where)
            self.keys(fields, {"probability", "seed"}, where)
            probability = fields.get("probability")
            if (
                isinstance(probability, bool)
                or not isinstance(probability, int | float)
                or not (0 <= probability <= 1)
            ):
                raise self.fail(f"{where}.probability", f"must be a number from 0 to 1 (got {probability!r})")
            seed = fields.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
                raise self.fail(f"{where}.seed", f"must be a whole number, 0 or more (got {seed!r})")
            return TakeRandomSample(float(probability), seed, where)
        if name == "drop_columns":
            return DropColumns(self.names(body, where), where)
        if name == "keep_columns":
            return KeepColumns(self.names(body, where), where)
        if name == "convert_column_types":
            items = body if isinstance(body, list) else [body]
            conversions = tuple(self.conversion(item, f"{where}[{i}]") for i, item in enumerate(items))
            return ConvertColumnTypes(conversions, where)
        if name == "extract_columns_from_partition_format":
            return self.partition_format(body, where)
        known = "read_delimited, read_parquet, read_json_lines, take, skip, take_random_sample, " + (
            "drop_columns, keep_columns, convert_column_types, extract_columns_from_partition_format"
        )
        raise self.fail(where, f"unknown transformation {name!r}; use one of {known}")

    def conversion(self, item: Any, where: str) -> ColumnConversion:
        fields = self.mapping(item, where)
        self.keys(fields, {"columns", "column_type"}, where)
        if "columns" not in fields or "column_type" not in fields:
            raise self.fail(where, "needs both columns and column_type")
        columns = self.names(fields["columns"], f"{where}.columns")
        spec = fields["column_type"]
        type_field = f"{where}.column_type"
        if isinstance(spec, str):
            name, options = spec, {}
        elif isinstance(spec, dict) and len(spec) == 1:
            ((name, body),) = spec.items()
            options = self.mapping(body, f"{type_field}.{name}")
        else:
            raise self.fail(
                type_field, f"must be one of {', '.join(COLUMN_TYPES)}, or e.g. datetime: {{formats: [...]}}"
            )
        if name not in COLUMN_TYPES:
            raise self.fail(type_field, f"unknown type {name!r}; use one of {', '.join(COLUMN_TYPES)}")
        column_type: ColumnType = name
        option_field = f"{type_field}.{name}"
        if column_type == "datetime":
            self.keys(options, {"formats", "date_constant"}, option_field)
            if "date_constant" in options:
                raise self.fail(f"{option_field}.date_constant", "is not supported; give formats with a date")
            formats = (
                self.texts(options["formats"], f"{option_field}.formats") if "formats" in options else ()
            )
            return ColumnConversion(columns, column_type, where, formats=formats)
        if column_type == "boolean":
            self.keys(options, {"true_values", "false_values", "mismatch_as"}, option_field)
            true_values = (
                self.texts(options["true_values"], f"{option_field}.true_values")
                if ("true_values" in options)
                else ()
            )
            false_values = (
                self.texts(options["false_values"], f"{option_field}.false_values")
                if ("false_values" in options)
                else ()
            )
            if bool(true_values) != bool(false_values):
                raise self.fail(option_field, "give both true_values and false_values, or neither")
            mismatch = options.get("mismatch_as", "error")
            mismatch = "error" if mismatch is None else str(mismatch).lower()
            if mismatch not in ("true", "false", "error"):
                raise self.fail(
                    f"{option_field}.mismatch_as", f"must be true, false or error (got {mismatch!r})"
                )
            return ColumnConversion(
                columns, column_type, where, true_values=true_values, false_values=false_values,
                mismatch_as=mismatch,  # type: ignore[arg-type]  # checked just above
            )  # fmt: skip
        self.keys(options, set(), option_field)
        return ColumnConversion(columns, column_type, where)

    def partition_format(self, body: Any, where: str) -> ExtractPartitionFormat:
        if isinstance(body, dict) and len(body) == 1:
            # YAML reads "{timestamp:yyyy/MM/dd}" unquoted as a one-key flow mapping
            ((key, value),) = body.items()
            body = "{" + str(key) + ("" if value is None else f":{value}") + "}"
        fmt = self.string(body, where)
        pattern: list[str] = []
        columns: list[tuple[str, str | None]] = []
        position = 0
        for match in _PARTITION_FIELD.finditer(fmt):
            literal = fmt[position : match.start()]
            if "{" in literal or "}" in literal:
                break
            pattern.append(re.escape(literal))
            name, date_format = match.group(1).strip(), match.group(2)
            if not name or any(name == c for c, _ in columns):
                raise self.fail(where, f"column names in {fmt!r} must be non-empty and distinct")
            index = len(columns)
            value = "[^/]+" if date_format is None else self.date_pattern(date_format, index, where)
            pattern.append(f"(?P<g{index}>{value})")
            columns.append((name, date_format))
            position = match.end()
        rest = fmt[position:]
        if not columns or "{" in rest or "}" in rest:
            raise self.fail(where, f"{fmt!r} must name columns as {{name}} or {{name:yyyy/MM/dd}}")
        pattern.append(re.escape(rest))
        regex = re.compile("".join(pattern) + "(?=/|$)")
        return ExtractPartitionFormat(fmt, regex, tuple(columns), where)

    def date_pattern(self, date_format: str, index: int, where: str) -> str:
        parts: list[str] = []
        units: list[str] = []
        position = 0
        for match in _DATE_TOKEN.finditer(date_format):
            parts.append(re.escape(date_format[position : match.start()]))
            unit, digits = _DATE_TOKENS[match.group(0)]
            if unit in units:
                raise self.fail(where, f"date format {date_format!r} repeats {match.group(0)}")
            units.append(unit)
            parts.append(f"(?P<{unit}_{index}>{digits})")
            position = match.end()
        parts.append(re.escape(date_format[position:]))
        if "year" not in units:
            raise self.fail(
                where, f"date format {date_format!r} needs at least yyyy (then MM, dd, HH, mm, ss)"
            )
        return "".join(parts)


# -- paths ------------------------------------------------------------------------------------------


def _within(path: str, root: str) -> bool:
    return root in ("", "/") or path == root or path.startswith(root + "/")


class _Resolver:
    """Expands ``paths`` into (fs path, label) pairs, refusing anything outside the permitted roots."""

    def __init__(self, table: MLTable, fs: Any, folder: str, allowed_roots: Sequence[str]) -> None:
        self.table = table
        self.fs = fs
        if not folder or any(not root for root in allowed_roots):
            raise ValueError("the MLTable folder and every allowed root must be non-empty paths")
        self.base = self.normal(folder)
        self.roots = [self.base, *(self.normal(root) for root in allowed_roots)]
        self.own_file = posixpath.join(self.base, MLTABLE_FILE)
        protocol = fs.protocol
        self.protocols = {protocol} if isinstance(protocol, str) else set(protocol)
        self.local = "file" in self.protocols

    def normal(self, path: str) -> str:
        stripped = str(self.fs._strip_protocol(path))
        normal = posixpath.normpath(stripped) if stripped else stripped
        return "/" if normal == "/" else normal.rstrip("/")

    def fail(self, entry: PathEntry, message: str) -> InvalidInputError:
        return _error(f"{self.table.origin}: {entry.field} {entry.value!r}: {message}", entry.field)

    def label(self, path: str) -> str:
        if _within(path, self.base) and self.base not in ("", "/"):
            return path[len(self.base) + 1 :]
        return str(self.fs.unstrip_protocol(path))

    def files(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for entry in self.table.paths:
            for path in self.expand(entry):
                self.check_real(entry, path)
                found.append((path, self.label(path)))
        return found

    def target(self, entry: PathEntry) -> str:
        """The entry as a normalised fs path (a glob for patterns), checked against the roots."""
        value = entry.value
        match = _URI.match(value)
        if match or value.startswith("/"):
            if match:
                scheme = match.group(1).lower()
                if scheme not in self.protocols:
                    hint = " (azureml:// URIs are not resolved here)" if scheme == "azureml" else ""
                    raise self.fail(
                        entry,
                        f"{scheme}:// is not this data store's scheme{hint}; use a path relative to the "
                        "MLTable file",
                    )
                if "@" in value[match.end() :].split("/", 1)[0]:
                    raise self.fail(entry, "URIs naming another account are not readable here")
            path = self.normal(value)
            if not any(_within(self.literal_prefix(path), root) for root in self.roots):
                raise self.fail(entry, "is outside the MLTable's folder and the locations allowed for it")
            return path
        if "\\" in value:
            raise self.fail(entry, "use / to separate folders")
        joined = posixpath.normpath(posixpath.join(self.base or ".", value))
        if not _within(joined, self.base) and self.base:
            raise self.fail(entry, "leaves the MLTable's folder ('..'); paths must stay inside it")
        return joined

    @staticmethod
    def literal_prefix(path: str) -> str:
        """The folders of a glob before its first wildcard (the whole path when there is none)."""
        parts = path.split("/")
        for index, part in enumerate(parts):
            if _GLOB_MAGIC.search(part):
                return "/".join(parts[:index])
        return path

    def expand(self, entry: PathEntry) -> list[str]:
        fs = self.fs
        target = self.target(entry)
        if entry.kind == "file":
            if not fs.isfile(target):
                what = "is a folder; use folder: for it" if fs.isdir(target) else "no such file"
                raise self.fail(entry, what)
            return [target]
        if entry.kind == "folder":
            if not fs.isdir(target):
                raise self.fail(entry, "no such folder")
            below, found = target, fs.find(target, detail=True)
        else:
            below = self.literal_prefix(target)
            escaped = _GLOB_MAGIC.sub(lambda m: f"[{m.group(0)}]", below)
            found = fs.glob(escaped + target[len(below) :], detail=True)
        listed = sorted(
            self.normal(name)
            for name, info in found.items()
            if self.is_file(info) and not _skipped(self.normal(name), below)
        )
        listed = [p for p in listed if p != self.own_file]
        for path in listed:
            if not any(_within(path, root) for root in self.roots):
                raise self.fail(entry, "matched a file outside the permitted locations")
        if not listed:
            raise self.fail(entry, "matched no files")
        return listed

    def is_file(self, info: dict[str, Any]) -> bool:
        """Files, and on local disks links to files (:meth:`check_real` then checks where they lead)."""
        if info.get("type") == "file":
            return True
        return self.local and bool(info.get("islink")) and os.path.isfile(str(info.get("name")))

    def check_real(self, entry: PathEntry, path: str) -> None:
        """On local disks a symbolic link could point anywhere: its target must be permitted too."""
        if not self.local:
            return
        real = os.path.realpath(path)
        if not any(_within(real, os.path.realpath(root)) for root in self.roots):
            raise self.fail(entry, "links to a file outside the permitted locations")


def _skipped(path: str, below: str) -> bool:
    """Hidden files and Spark's bookkeeping (``_SUCCESS``, ``_committed_*``) in listed folders."""
    relative = path[len(below) + 1 :] if _within(path, below) and below not in ("", "/") else path
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)


# -- transformations --------------------------------------------------------------------------------


def _row_budget(steps: Sequence[Step], limit: int | None) -> int | None:
    """How many rows the read must deliver for ``limit`` result rows (None: all of them)."""
    need = limit
    for step in reversed(steps):
        if isinstance(step, Take):
            need = step.count if need is None else min(need, step.count)
        elif isinstance(step, Skip):
            need = None if need is None else need + step.count
        elif isinstance(step, TakeRandomSample):
            need = None
    return need


def _apply(table: FileTable, steps: Sequence[Step], empty_as_string: bool) -> pd.DataFrame:
    frame = table.frame
    raw_text = dict(table.raw_text)
    for step in steps:
        if isinstance(step, Take):
            frame = frame.iloc[: step.count]
        elif isinstance(step, Skip):
            frame = frame.iloc[step.count :]
        elif isinstance(step, TakeRandomSample):
            draws = np.random.default_rng(step.seed).random(len(frame))
            frame = frame[draws < step.probability]
        elif isinstance(step, DropColumns):
            _require_columns(frame, step.columns, step.field)
            frame = frame.drop(columns=list(step.columns))
            raw_text = {c: text for c, text in raw_text.items() if c in frame.columns}
        elif isinstance(step, KeepColumns):
            _require_columns(frame, step.columns, step.field)
            frame = frame[list(step.columns)]
            raw_text = {c: text for c, text in raw_text.items() if c in frame.columns}
        elif isinstance(step, ConvertColumnTypes):
            frame = frame.copy()
            for conversion in step.conversions:
                _require_columns(frame, conversion.columns, f"{conversion.field}.columns")
                for column in conversion.columns:
                    raw = raw_text.pop(column, None)
                    source = frame[column] if raw is None else raw.loc[frame.index]
                    frame[column] = convert_column(
                        source,
                        conversion,
                        column=column,
                        is_raw=raw is not None,
                        empty_as_string=empty_as_string,
                    )
        else:
            frame = _extract_partitions(frame, table.sources.loc[frame.index], step)
    return frame


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], field_name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(str(c) for c in frame.columns[:20])
        raise _error(
            f"{field_name}: no column named {', '.join(map(repr, missing))} (columns: {have})", field_name
        )


def _extract_partitions(
    frame: pd.DataFrame, sources: pd.Series, step: ExtractPartitionFormat
) -> pd.DataFrame:
    clash = [name for name, _ in step.columns if name in frame.columns]
    if clash:
        raise _error(f"{step.field}: the data already has a column named {clash[0]!r}", step.field)
    frame = frame.copy()
    matches = ["/" + str(s) for s in sources]  # a format may start with "/", a relative path does not
    found = [step.pattern.search(path) for path in matches]
    for index, (name, date_format) in enumerate(step.columns):
        group = f"g{index}"
        if date_format is None:
            values: list[Any] = [m.group(group) if m else None for m in found]
            frame[name] = pd.Series(values, index=frame.index, dtype="str")
        else:
            stamps = [_partition_stamp(m, index) if m else None for m in found]
            frame[name] = pd.to_datetime(pd.Series(stamps, index=frame.index, dtype="object"))
    return frame


def _partition_stamp(match: re.Match[str], index: int) -> pd.Timestamp | None:
    units = dict.fromkeys(("hour", "minute", "second"), 0) | {"month": 1, "day": 1}
    for unit, _ in _DATE_TOKENS.values():
        value = match.groupdict().get(f"{unit}_{index}")
        if value is not None:
            units[unit] = int(value)
    try:
        return pd.Timestamp(**units)
    except ValueError:
        return None
