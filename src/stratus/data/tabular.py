"""Tabular files over any fsspec filesystem: CSV/TSV, Parquet, JSON Lines (and JSON arrays).

One reader per format, shared by ``uri_file``/``uri_folder`` assets and by MLTable's read
transformations, so a CSV reads the same way whichever asset type points at it. Delimited text is read
as strings first and typed afterwards (:func:`infer_column`), over all the rows at once: types never
depend on how the file happened to be chunked, and the text as written stays available for explicit
type conversions (a zip code ``"01234"`` converted to string keeps its zero).

Paths are what the filesystem understands (absolute local paths, ``container/prefix`` for adlfs,
``bucket/prefix`` for s3fs). Bad content raises :class:`InvalidInputError` naming the file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import numbers
import posixpath
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import pandas as pd  # no stubs installed (pandas-stubs is not a dependency)

from stratus.data.formats import _COMPRESSIONS, is_tabular, table_format
from stratus.errors import InvalidInputError

__all__ = [
    "COLUMN_TYPES",
    "ENCODINGS",
    "HEADER_MODES",
    "ColumnConversion",
    "DelimitedOptions",
    "FileTable",
    "convert_column",
    "count_rows",
    "folder_files",
    "infer_column",
    "is_tabular",
    "read_delimited_files",
    "read_folder",
    "read_json_lines_files",
    "read_parquet_files",
    "read_table",
    "table_format",
]

HeaderMode = Literal["all_files_same_headers", "all_files_different_headers", "from_first_file", "no_header"]

ColumnType = Literal["int", "float", "string", "boolean", "datetime"]
COLUMN_TYPES: tuple[ColumnType, ...] = ("int", "float", "string", "boolean", "datetime")
HEADER_MODES: tuple[HeaderMode, ...] = (
    "all_files_same_headers",
    "all_files_different_headers",
    "from_first_file",
    "no_header",
)
# Azure ML's encoding names and the Python codecs they mean.
ENCODINGS: dict[str, str] = {
    "utf8": "utf-8",
    "iso88591": "iso-8859-1",
    "latin1": "latin-1",
    "ascii": "ascii",
    "utf16": "utf-16",
    "utf32": "utf-32",
    "utf8bom": "utf-8-sig",
    "windows1252": "cp1252",
}

_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_DEFAULT_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_DEFAULT_FALSE = frozenset({"false", "0", "no", "n", "f"})
_ISO_DATE_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE_FALSE = {"true", "false"}


@dataclass(frozen=True)
class DelimitedOptions:
    """How delimited text is read (MLTable's ``read_delimited`` fields, with its defaults)."""

    delimiter: str = ","
    header: HeaderMode = "all_files_same_headers"
    encoding: str = "utf8"  # an Azure ML name, a key of ENCODINGS
    empty_as_string: bool = False
    infer_column_types: bool = True


@dataclass(frozen=True)
class ColumnConversion:
    columns: tuple[str, ...]
    column_type: ColumnType
    field: str
    formats: tuple[str, ...] = ()  # datetime: strftime formats tried in order (none: ISO 8601)
    true_values: tuple[str, ...] = ()  # boolean: exact texts (none: true/1/yes/y/t, any case)
    false_values: tuple[str, ...] = ()
    mismatch_as: Literal["true", "false", "error"] = "error"


@dataclass
class FileTable:
    """Rows read from files, with what later transformation steps need beside the typed frame.

    ``frame``, ``sources`` and every ``raw_text`` series share one index: row operations on the frame
    keep its labels, so ``raw_text[c].loc[frame.index]`` is still the text of the remaining rows.
    """

    frame: pd.DataFrame
    sources: pd.Series  # per row, the label of the file it came from
    raw_text: dict[str, pd.Series] = field(default_factory=dict)  # delimited text as written, per column


def _bad(message: str, field_name: str) -> InvalidInputError:
    return InvalidInputError(message, field=field_name)


def _open_binary(fs: Any, path: str) -> IO[bytes]:
    compression = _COMPRESSIONS.get(posixpath.splitext(path.lower())[1])
    handle: IO[bytes] = fs.open(path, "rb", compression=compression)
    return handle


def _codec(encoding: str, field_name: str) -> str:
    try:
        return ENCODINGS[encoding]
    except KeyError:
        raise _bad(
            f"{field_name}: unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}", field_name
        ) from None


def _check_budget(max_rows: int | None) -> None:
    if max_rows is not None and max_rows < 0:
        raise ValueError("max_rows must be None or at least 0")


# -- type inference ---------------------------------------------------------------------------------


def infer_column(text: pd.Series, *, empty_as_string: bool = False) -> pd.Series:
    """Type one column of delimited text: boolean, integer, float, ISO 8601 datetime, else string.

    Empty fields (and missing ones, NaN) are nulls and do not vote; integers with nulls become
    float64 (pandas' convention). ``empty_as_string`` keeps empty fields as ``""`` in string columns
    only: in typed columns an empty field is a null either way.
    """
    filled = text.notna() & (text != "")
    present = text[filled].astype(str).str.strip()
    if not present.empty:
        lower = present.str.lower()
        if lower.isin(_TRUE_FALSE).all():
            flags = lower == "true"
            if filled.all():
                return flags.reindex(text.index).astype(bool)
            return flags.reindex(text.index).astype("boolean")
        if present.str.fullmatch(_INTEGER_TEXT).all():
            numbers = pd.to_numeric(present, errors="coerce")
            if numbers.dtype.kind != "i":  # beyond int64 (ids, card numbers): text keeps every digit
                return text_column(text, empty_as_string=empty_as_string)
            return numbers if filled.all() else numbers.astype("float64").reindex(text.index)
        numbers = pd.to_numeric(present, errors="coerce")
        if numbers.notna().all() and numbers.dtype.kind in "if":
            return numbers.astype("float64").reindex(text.index)
        if present.str.match(_ISO_DATE_PREFIX).all():
            try:
                stamps = pd.to_datetime(present, format="ISO8601", errors="coerce")
            except (ValueError, TypeError):  # e.g. mixed UTC offsets
                stamps = None
            if stamps is not None and stamps.notna().all() and stamps.dtype.kind == "M":
                return stamps.reindex(text.index)
    return text_column(text, empty_as_string=empty_as_string)


def text_column(text: pd.Series, *, empty_as_string: bool = False) -> pd.Series:
    """Delimited text as a string column: missing fields are nulls, empty ones too unless kept."""
    keep = text.notna() if empty_as_string else text.notna() & (text != "")
    return text.astype("str").where(keep)


# -- delimited text ---------------------------------------------------------------------------------


def _read_delimited_raw(
    fs: Any, path: str, label: str, options: DelimitedOptions, nrows: int | None, field_name: str
) -> pd.DataFrame:
    """Every record of one file as strings (header row included), positional integer columns."""
    codec = _codec(options.encoding, field_name)
    kwargs: dict[str, Any] = {
        "header": None,
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "encoding": codec,
        "skip_blank_lines": True,
        "nrows": nrows,
    }
    if len(options.delimiter) == 1:
        kwargs["sep"] = options.delimiter
    else:  # pandas reads a longer separator as a regular expression, with the python engine
        kwargs["sep"] = re.escape(options.delimiter)
        kwargs["engine"] = "python"
    try:
        with _open_binary(fs, path) as handle:
            frame = pd.read_csv(handle, **kwargs)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError as exc:
        raise _bad(f"{label}: not valid delimited text ({exc})", field_name) from None
    except UnicodeDecodeError as exc:
        raise _bad(
            f"{label}: not {options.encoding} text (byte {exc.start}); set the encoding that was written",
            field_name,
        ) from None
    return frame


def _header_names(row: Sequence[Any]) -> list[str]:
    """Column names from a header row: blanks become ``ColumnN``, repeats get ``.1``, ``.2`` (as pandas)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, value in enumerate(row, start=1):
        name = str(value).strip() if isinstance(value, str) else ""
        name = name or f"Column{position}"
        base = name
        while name in seen:
            seen[base] += 1
            name = f"{base}.{seen[base]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


def _fit_width(frame: pd.DataFrame, names: list[str], label: str, field_name: str) -> pd.DataFrame:
    if frame.shape[1] > len(names):
        raise _bad(
            f"{label}: rows have {frame.shape[1]} fields but the header has {len(names)}; "
            "check the delimiter and the header setting",
            field_name,
        )
    for position in range(frame.shape[1], len(names)):
        frame[position] = ""
    frame.columns = names
    return frame


def read_delimited_files(
    fs: Any,
    files: Sequence[tuple[str, str]],
    options: DelimitedOptions | None = None,
    *,
    max_rows: int | None = None,
    field_name: str = "path",
) -> FileTable:
    """Read delimited text files (``(fs path, label)`` pairs, in order) as one table.

    Header modes are MLTable's: ``all_files_same_headers`` (every file starts with the same header
    row), ``from_first_file`` (only the first file has one), ``all_files_different_headers`` (each
    file has its own; columns are matched by name) and ``no_header`` (columns ``Column1``...).
    ``max_rows`` bounds the data rows read (files after the budget are not opened).
    """
    options = options or DelimitedOptions()
    _check_budget(max_rows)
    if not options.delimiter:
        raise _bad(f"{field_name}: the delimiter must not be empty", field_name)
    parts: list[pd.DataFrame] = []
    labels: list[str] = []
    header: list[str] | None = None
    remaining = max_rows
    for index, (path, label) in enumerate(files):
        if remaining is not None and remaining <= 0 and (header is not None or options.header == "no_header"):
            break
        has_header = options.header in ("all_files_same_headers", "all_files_different_headers") or (
            options.header == "from_first_file" and index == 0
        )
        nrows = None if remaining is None else remaining + (1 if has_header else 0)
        raw = _read_delimited_raw(fs, path, label, options, nrows, field_name)
        if raw.shape[0] == 0:
            continue
        if has_header:
            names = _header_names(raw.iloc[0].tolist())
            raw = raw.iloc[1:].reset_index(drop=True)
            if options.header == "all_files_same_headers" and header is not None and names != header:
                raise _bad(
                    f"{label}: its header {names} differs from the first file's {header}; "
                    "use header: all_files_different_headers to match columns by name",
                    field_name,
                )
            if header is None or options.header == "all_files_different_headers":
                header = names
            raw.columns = names
        elif options.header == "no_header":
            raw.columns = [f"Column{position}" for position in range(1, raw.shape[1] + 1)]
        else:  # from_first_file, a later file: the first file's header names its columns
            if header is None:
                raise _bad(f"{label}: the first file has no header row to name these columns", field_name)
            raw = _fit_width(raw, header, label, field_name)
        if remaining is not None:
            remaining -= len(raw)
        parts.append(raw)
        labels.extend([label] * len(raw))
    columns = header or []
    raw_all = _concat(parts, columns)
    raw_all.index = pd.RangeIndex(len(raw_all))
    sources = pd.Series(labels, index=raw_all.index, dtype="str")
    raw_text = {str(name): raw_all[name] for name in raw_all.columns}
    typed = {
        name: infer_column(text, empty_as_string=options.empty_as_string)
        if options.infer_column_types
        else text_column(text, empty_as_string=options.empty_as_string)
        for name, text in raw_text.items()
    }
    frame = pd.DataFrame(typed, index=raw_all.index, columns=list(raw_text))
    return FileTable(frame=frame, sources=sources, raw_text=raw_text)


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    non_empty = [p for p in parts if len(p)]
    if not non_empty:
        return pd.DataFrame({name: pd.Series([], dtype="str") for name in columns})
    if len(non_empty) == 1:
        return non_empty[0].reset_index(drop=True)
    return pd.concat(non_empty, ignore_index=True, sort=False)


# -- parquet ----------------------------------------------------------------------------------------


def read_parquet_files(
    fs: Any, files: Sequence[tuple[str, str]], *, max_rows: int | None = None, field_name: str = "path"
) -> FileTable:
    """Read Parquet files (``(fs path, label)`` pairs) as one table; columns are matched by name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_budget(max_rows)
    parts: list[pd.DataFrame] = []
    labels: list[str] = []
    remaining = max_rows
    for path, label in files:
        if remaining is not None and remaining <= 0 and parts:
            break
        try:
            with fs.open(path, "rb") as handle:
                parquet = pq.ParquetFile(handle)
                if remaining == 0:  # no rows wanted, but the columns still are
                    table = parquet.schema_arrow.empty_table()
                elif remaining is None:
                    table = parquet.read()
                else:  # only the row groups the budget needs
                    batches = []
                    taken = 0
                    for batch in parquet.iter_batches(batch_size=max(1, min(remaining, 65536))):
                        batches.append(batch)
                        taken += batch.num_rows
                        if taken >= remaining:
                            break
                    table = pa.Table.from_batches(batches, schema=parquet.schema_arrow).slice(0, remaining)
        except FileNotFoundError:
            raise
        except (pa.ArrowException, OSError) as exc:
            raise _bad(f"{label}: not a readable Parquet file ({exc})", field_name) from None
        frame = table.to_pandas()
        if remaining is not None:
            remaining -= len(frame)
        parts.append(frame)
        labels.extend([label] * len(frame))
    return _file_table(parts, labels)


def _file_table(parts: list[pd.DataFrame], labels: list[str]) -> FileTable:
    if not parts:
        frame = pd.DataFrame()
    elif len(parts) == 1:
        frame = parts[0].reset_index(drop=True)
    else:
        # Empty parts would only lend their (possibly all-null) dtypes; keep their columns though.
        keep = [p for p in parts if len(p)] or parts[:1]
        frame = pd.concat(keep, ignore_index=True, sort=False)
        for part in parts:
            for name in part.columns:
                if name not in frame.columns:
                    frame[name] = pd.Series(pd.NA, index=frame.index, dtype=part[name].dtype)
    frame.index = pd.RangeIndex(len(frame))
    sources = pd.Series(labels, index=frame.index, dtype="str")
    return FileTable(frame=frame, sources=sources)


# -- JSON -------------------------------------------------------------------------------------------


def _json_lines(
    fs: Any, path: str, label: str, encoding: str, invalid_lines: Literal["error", "drop"], field_name: str
) -> Generator[dict[str, Any], None, None]:
    codec = _codec(encoding, field_name)
    with _open_binary(fs, path) as handle, io.TextIOWrapper(handle, encoding=codec) as text:
        line_number = 0
        try:
            for line_number, line in enumerate(text, start=1):  # the number names a line that does not decode
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    record = exc
                if isinstance(record, dict):
                    yield record
                elif invalid_lines == "error":
                    what = "not valid JSON" if isinstance(record, Exception) else "not a JSON object"
                    raise _bad(
                        f"{label}: line {line_number} is {what}; fix it or set invalid_lines: drop",
                        field_name,
                    )
        except UnicodeDecodeError:
            raise _bad(
                f"{label}: line {line_number + 1} is not {encoding} text; set the encoding that was written",
                field_name,
            ) from None


def read_json_lines_files(
    fs: Any,
    files: Sequence[tuple[str, str]],
    *,
    encoding: str = "utf8",
    invalid_lines: Literal["error", "drop"] = "error",
    max_rows: int | None = None,
    field_name: str = "path",
) -> FileTable:
    """Read JSON Lines files (one JSON object per line; blank lines skipped) as one table."""
    _check_budget(max_rows)
    records: list[dict[str, Any]] = []
    labels: list[str] = []
    for path, label in files:
        if max_rows is not None and len(records) >= max_rows:
            break
        with contextlib.closing(_json_lines(fs, path, label, encoding, invalid_lines, field_name)) as lines:
            for record in lines:
                if max_rows is not None and len(records) >= max_rows:
                    break
                records.append(record)
                labels.append(label)
    frame = pd.DataFrame(records) if records else pd.DataFrame()
    return _file_table([frame], labels)


def _read_json_document(fs: Any, path: str, max_rows: int | None) -> pd.DataFrame:
    """A ``.json`` file: an array of objects, or (when it is not an array) JSON Lines."""
    with _open_binary(fs, path) as handle:
        head = handle.read(4096).lstrip()
    if not head.startswith(b"["):
        return read_json_lines_files(fs, [(path, path)], max_rows=max_rows).frame
    with _open_binary(fs, path) as handle, io.TextIOWrapper(handle, encoding="utf-8") as text:
        try:
            document = json.load(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _bad(f"{path}: not valid UTF-8 JSON ({exc})", "path") from None
    if not all(isinstance(item, dict) for item in document):
        raise _bad(f"{path}: a JSON array must hold one object per row", "path")
    rows = document if max_rows is None else document[:max_rows]
    return pd.DataFrame(rows) if rows else pd.DataFrame()


# -- files and folders ------------------------------------------------------------------------------


def read_table(fs: Any, path: str, *, max_rows: int | None = None) -> pd.DataFrame:
    """Read one tabular file by its extension (see :func:`table_format`); at most ``max_rows`` rows.

    CSV/TSV files have a header row and are typed by :func:`infer_column`.
    """
    fmt = table_format(path)
    files = [(path, path)]
    if fmt in ("csv", "tsv"):
        options = DelimitedOptions(delimiter="\t" if fmt == "tsv" else ",")
        return read_delimited_files(fs, files, options, max_rows=max_rows).frame
    if fmt == "parquet":
        return read_parquet_files(fs, files, max_rows=max_rows).frame
    if fmt == "jsonl":
        return read_json_lines_files(fs, files, max_rows=max_rows).frame
    if fmt == "json":
        return _read_json_document(fs, path, max_rows)
    raise _bad(
        f"{posixpath.basename(path)!r} is not a tabular file; use .csv, .tsv, .parquet, .pq, .jsonl or .json",
        "path",
    )


def _hidden(relative: str) -> bool:
    """Files Spark and friends write beside the data (``_SUCCESS``, ``_committed_*``, ``.crc``)."""
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def folder_files(fs: Any, folder: str) -> list[str]:
    """The tabular files below ``folder`` (recursively), sorted by relative path, all of one format.

    Hidden files and those starting with ``_`` are skipped, as are files that are not tabular.
    """
    base = folder.rstrip("/")
    if not fs.isdir(base):
        raise _bad(f"{posixpath.basename(base) or base!r} is not a folder", "path")
    found = sorted(
        (p for p in fs.find(base) if is_tabular(p) and not _hidden(_relative(p, base))),
        key=lambda p: _relative(p, base),
    )
    if not found:
        raise _bad("the folder holds no tabular files (.csv, .tsv, .parquet, .pq, .jsonl, .json)", "path")
    formats = sorted({_folder_format(p) for p in found})
    if len(formats) > 1:
        raise _bad(
            f"the folder mixes tabular formats ({', '.join(formats)}); keep one format per folder "
            "or describe the table with an MLTable file",
            "path",
        )
    return found


def _folder_format(path: str) -> str:
    fmt = table_format(path)
    return "jsonl" if fmt == "json" else str(fmt)


def _relative(path: str, base: str) -> str:
    path = path.rstrip("/")
    return path[len(base) + 1 :] if path.startswith(base + "/") else posixpath.basename(path)


def read_folder(fs: Any, folder: str, *, max_rows: int | None = None) -> pd.DataFrame:
    """All tabular files of one format below ``folder``, concatenated in name order.

    CSV/TSV files each have their own header (columns are matched by name); ``.json`` files in a
    folder are read as JSON Lines.
    """
    files = folder_files(fs, folder)
    base = folder.rstrip("/")
    labelled = [(p, _relative(p, base)) for p in files]
    fmt = _folder_format(files[0])
    if fmt in ("csv", "tsv"):
        options = DelimitedOptions(
            delimiter="\t" if fmt == "tsv" else ",", header="all_files_different_headers"
        )
        return read_delimited_files(fs, labelled, options, max_rows=max_rows).frame
    if fmt == "parquet":
        return read_parquet_files(fs, labelled, max_rows=max_rows).frame
    return read_json_lines_files(fs, labelled, max_rows=max_rows).frame


def count_rows(fs: Any, path: str) -> int | None:
    """The exact number of data rows in one tabular file, or None when it cannot be counted.

    Parquet answers from its footer; CSV/TSV are counted record by record in one streaming pass (quoted
    line breaks and blank lines handled as the reader does); JSON Lines counts non-blank lines.
    """
    fmt = table_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with fs.open(path, "rb") as handle:
            return int(pq.ParquetFile(handle).metadata.num_rows)
    if fmt in ("csv", "tsv"):
        delimiter = "\t" if fmt == "tsv" else ","
        records = 0
        try:
            with (
                _open_binary(fs, path) as handle,
                io.TextIOWrapper(handle, encoding="utf-8", newline="") as text,
            ):
                records = sum(1 for row in csv.reader(text, delimiter=delimiter) if row)
        except (csv.Error, UnicodeDecodeError):
            return None
        return max(records - 1, 0)
    if fmt == "jsonl":
        with _open_binary(fs, path) as handle:
            return sum(1 for line in handle if line.strip())
    if fmt == "json":
        return len(_read_json_document(fs, path, None))
    return None


# -- explicit column types -------------------------------------------------------------------------


def _texts(values: pd.Series, is_raw: bool) -> pd.Series:
    """Values as trimmed text with nulls for missing (and, for delimited text, empty) fields."""
    if is_raw:
        text = values.astype("str").str.strip()
        return text.where(values.notna() & (text != ""))
    present = values.notna()
    out = pd.Series(None, index=values.index, dtype="object")
    out[present] = [_text_of(v) for v in values[present]]
    return out


def _text_of(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return str(value.isoformat())
    return value.strip() if isinstance(value, str) else str(value)


def _bad_value(conversion: ColumnConversion, column: str, value: Any, wanted: str) -> InvalidInputError:
    field_name = f"{conversion.field}.column_type"
    return _bad(f"{conversion.field}: column {column!r} has {value!r}, which is not {wanted}", field_name)


def convert_column(
    values: pd.Series,
    conversion: ColumnConversion,
    *,
    column: str,
    is_raw: bool = False,
    empty_as_string: bool = False,
) -> pd.Series:
    """Convert one column as ``conversion`` says; a value that does not convert is an error naming the
    column, the value and ``conversion.field``. ``is_raw`` marks delimited text as written (empty
    fields are nulls, kept as ``""`` by a string conversion when ``empty_as_string``)."""
    kind = conversion.column_type
    if kind == "string":
        if is_raw:
            keep = values.notna() if empty_as_string else values.notna() & (values != "")
            return values.astype("str").where(keep)
        return _texts(values, False).astype("str")
    if kind == "boolean":
        return _to_boolean(values, is_raw, conversion, column)
    if kind == "datetime":
        if not is_raw and values.dtype.kind == "M":
            return values
        return _to_datetime(_texts(values, is_raw), conversion, column)
    if not is_raw and values.dtype.kind in "iufb":
        numbers = values.astype("float64") if values.dtype.kind == "b" else values
    else:
        text = _texts(values, is_raw)
        numbers = pd.to_numeric(text, errors="coerce")
        failed = text.notna() & numbers.isna()
        if kind == "int":  # "2.5" and "1e3" are numbers but not integers as written
            written = text[text.notna()].astype("str").str.fullmatch(_INTEGER_TEXT)
            failed |= ~written.reindex(text.index, fill_value=True).astype(bool)
        if failed.any():
            wanted = "an integer" if kind == "int" else "a number"
            raise _bad_value(conversion, column, text[failed].iloc[0], wanted)
    if kind == "float":
        return numbers.astype("float64")
    present = numbers.dropna()
    fractional = present[(present % 1) != 0]
    if len(fractional):
        raise _bad_value(conversion, column, fractional.iloc[0], "an integer")
    return numbers.astype("int64" if numbers.notna().all() else "Int64")


def _to_boolean(values: pd.Series, is_raw: bool, conversion: ColumnConversion, column: str) -> pd.Series:
    if not is_raw and values.dtype.kind == "b":
        return values
    text = _texts(values, is_raw)
    if conversion.true_values:
        truthy, falsy, compare = set(conversion.true_values), set(conversion.false_values), text
    else:
        truthy, falsy = set(_DEFAULT_TRUE), set(_DEFAULT_FALSE)
        compare = text.str.lower() if is_raw else values.map(_boolean_word)
    result = pd.Series(pd.NA, index=values.index, dtype="boolean")
    result[compare.isin(truthy)] = True
    result[compare.isin(falsy)] = False
    mismatched = text.notna() & ~compare.isin(truthy) & ~compare.isin(falsy)
    if mismatched.any():
        if conversion.mismatch_as == "error":
            raise _bad_value(conversion, column, text[mismatched].iloc[0], "one of the true or false values")
        result[mismatched] = conversion.mismatch_as == "true"
    return result.astype(bool) if result.notna().all() else result


def _boolean_word(value: Any) -> str | None:
    """How a typed value reads against the default true/false words (numbers 1 and 0 included)."""
    if value is None or (pd.api.types.is_scalar(value) and not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Real) and value in (0, 1):
        return "1" if value == 1 else "0"
    return str(value).strip().lower()


def _to_datetime(text: pd.Series, conversion: ColumnConversion, column: str) -> pd.Series:
    present = text.notna()
    if not conversion.formats:
        try:
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        except (ValueError, TypeError):
            parsed = pd.Series(pd.NaT, index=text.index)
    else:
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        for fmt in conversion.formats:
            todo = present & parsed.isna()
            if not todo.any():
                break
            try:
                attempt = pd.to_datetime(text[todo], format=fmt, errors="coerce")
            except (ValueError, TypeError):
                continue
            if attempt.dtype.kind != "M" or attempt.isna().all():
                continue
            if parsed.dtype != attempt.dtype:
                if parsed.isna().all():
                    parsed = pd.Series(pd.NaT, index=text.index, dtype=attempt.dtype)
                else:
                    try:  # another resolution converts; naive and zoned times do not mix
                        parsed = parsed.astype(attempt.dtype)
                    except TypeError:
                        raise _bad_value(
                            conversion, column, text[todo].iloc[0], "zoned like the rows before"
                        ) from None
            parsed[todo] = attempt
    failed = present & parsed.isna()
    if failed.any():
        wanted = (
            f"a datetime in {', '.join(conversion.formats)}" if conversion.formats else "an ISO 8601 datetime"
        )
        raise _bad_value(conversion, column, text[failed].iloc[0], wanted)
    return parsed
