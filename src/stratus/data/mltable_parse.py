"""Parsing and validating an ``MLTable`` file: its fields, as the step records ``stratus.data.mltable``
loads. Every field is checked here, so an unknown transformation or field, or a value of the wrong kind,
is an :class:`InvalidInputError` naming it before any data is read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from stratus.data.tabular import (
    COLUMN_TYPES,
    ENCODINGS,
    HEADER_MODES,
    ColumnConversion,
    ColumnType,
    DelimitedOptions,
    HeaderMode,
)
from stratus.errors import InvalidInputError
from stratus.parsing import InputLimitError, load_yaml

MLTABLE_FILE = "MLTable"
SCHEMA_FILE = "MLTable.schema.json"

_REFUSED = {
    "filter": "filter expressions are not supported; load the table and filter the DataFrame instead",
    "read_delta_lake": "Delta Lake tables are not supported; export the table to Parquet, use read_parquet",
}
_READ_STEPS = ("read_delimited", "read_parquet", "read_json_lines")
_PARTITION_FIELD = re.compile(r"\{([^{}:]+)(?::([^{}]+))?\}")
DATE_TOKENS = {"yyyy": ("year", r"\d{4}"), "MM": ("month", r"\d{2}"), "dd": ("day", r"\d{2}"),
                "HH": ("hour", r"\d{2}"), "mm": ("minute", r"\d{2}"), "ss": ("second", r"\d{2}")}  # fmt: skip
_DATE_TOKEN = re.compile("|".join(DATE_TOKENS))
_YAML_BOOLEAN_WORDS = {
    True: [w for word in ("yes", "true", "on") for w in (word, word.capitalize(), word.upper())],
    False: [w for word in ("no", "false", "off") for w in (word, word.capitalize(), word.upper())],
}


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
class ParsedFields:
    """What an MLTable file says, checked."""

    paths: tuple[PathEntry, ...]
    read: ReadStep | None
    steps: tuple[Step, ...]
    traits: dict[str, Any]
    metadata: dict[str, Any]


def mltable_error(message: str, field_name: str) -> InvalidInputError:
    return InvalidInputError(message, field=field_name)


# -- parsing ----------------------------------------------------------------------------------------


class Parser:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, field_name: str, message: str) -> InvalidInputError:
        return mltable_error(f"{self.origin}: {field_name}: {message}", field_name)

    def parse(self, text: str) -> ParsedFields:
        try:
            data = load_yaml(text)
        except (yaml.YAMLError, InputLimitError) as exc:
            raise mltable_error(f"{self.origin}: not valid YAML: {exc}", MLTABLE_FILE) from None
        if not isinstance(data, dict):
            raise mltable_error(f"{self.origin}: an MLTable file must be a YAML mapping", MLTABLE_FILE)
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
        return ParsedFields(paths, read, steps, traits, metadata)

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
            unit, digits = DATE_TOKENS[match.group(0)]
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
