"""Data profiles: row and column counts, per-column missing and distinct counts, cheap statistics and
a sample of rows, as plain JSON (no NaN, NaT or numpy scalars anywhere).

Large tables are profiled on their first ``max_rows`` rows. The row count is still exact when that is
cheap: Parquet footers, one streaming count over delimited text or JSON Lines up to ``count_bytes``.
``rows_exact`` says which; when it is false, ``rows`` is a lower bound (the rows seen).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd  # no stubs installed (pandas-stubs is not a dependency)

from stratus.data.mltable import read_mltable
from stratus.data.tabular import count_rows, folder_files, read_folder, read_table, table_format
from stratus.errors import InvalidInputError

__all__ = ["DEFAULT_COUNT_BYTES", "DEFAULT_MAX_ROWS", "json_safe", "profile_frame", "profile_table"]

DataKind = Literal["uri_file", "uri_folder", "mltable"]
DATA_KINDS: tuple[DataKind, ...] = ("uri_file", "uri_folder", "mltable")
DEFAULT_MAX_ROWS = 100_000
# Counting rows means reading the text once; beyond this many bytes a profile stops at a lower bound.
DEFAULT_COUNT_BYTES = 1 << 30


def json_safe(value: Any) -> Any:
    """``value`` as JSON-ready Python: missing and non-finite numbers become None, numpy scalars
    Python ones, timestamps ISO 8601 text, bytes base64, containers are converted throughout."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):  # pd.Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else json_safe(pd.Timestamp(value))
    if isinstance(value, np.timedelta64):
        return None if np.isnat(value) else json_safe(pd.Timedelta(value))
    if isinstance(value, dt.timedelta):  # pd.Timedelta too
        return pd.Timedelta(value).isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Series):
        return [json_safe(v) for v in value]
    if isinstance(value, complex | np.complexfloating):
        return str(value)
    return str(value)


def _distinct(column: pd.Series) -> int:
    try:
        return int(column.nunique(dropna=True))
    except TypeError:  # lists or dicts (JSON Lines): compare their JSON form
        keys = column.dropna().map(lambda v: json.dumps(json_safe(v), sort_keys=True))
        return int(keys.nunique())


def _field(name: Any, column: pd.Series) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": str(name),
        "dtype": str(column.dtype),
        "missing": int(column.isna().sum()),
        "distinct": _distinct(column),
        "min": None,
        "max": None,
        "mean": None,
    }
    kind = column.dtype.kind
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) and kind != "c":
        present = column.dropna()
        if len(present):
            entry["min"] = json_safe(present.min())
            entry["max"] = json_safe(present.max())
            entry["mean"] = json_safe(present.astype("float64").mean())
    elif kind == "M":
        present = column.dropna()
        if len(present):
            entry["min"] = json_safe(present.min())
            entry["max"] = json_safe(present.max())
    return entry


def profile_frame(df: pd.DataFrame, *, sample_rows: int = 10) -> dict[str, Any]:
    """Profile a whole DataFrame.

    Returns ``rows``, ``rows_exact`` (true), ``profiled_rows``, ``columns`` (the count), ``fields`` (per
    column: ``name``, ``dtype``, ``missing``, ``distinct`` (non-null), ``min``/``max`` for numbers and
    datetimes and ``mean`` for numbers, else None) and ``sample`` (the first ``sample_rows`` rows as
    records keyed by column name).
    """
    if sample_rows < 0:
        raise ValueError("sample_rows must be at least 0")
    names = [str(name) for name in df.columns]
    fields = [_field(df.columns[i], df.iloc[:, i]) for i in range(df.shape[1])]
    head = df.iloc[:sample_rows]
    sample = [
        {names[i]: json_safe(row[i]) for i in range(len(names))}
        for row in head.itertuples(index=False, name=None)
    ]
    return {
        "rows": len(df),
        "rows_exact": True,
        "profiled_rows": len(df),
        "columns": df.shape[1],
        "fields": fields,
        "sample": sample,
    }


def profile_table(
    fs: Any,
    path: str,
    kind: str,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    sample_rows: int = 10,
    count_bytes: int = DEFAULT_COUNT_BYTES,
    allowed_roots: Sequence[str] = (),
) -> dict[str, Any]:
    """Read and profile a data asset's table: ``kind`` is its type, ``uri_file`` (one CSV, TSV, Parquet,
    JSON Lines or JSON file), ``uri_folder`` (a folder of one of those formats) or ``mltable`` (a folder
    with an MLTable file). At most ``max_rows`` rows are profiled.

    The result is :func:`profile_frame`'s plus ``kind`` and ``format``; ``rows_exact`` is false (and
    ``rows`` a lower bound) when the table had more rows than profiled and counting them was not cheap.
    """
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    if kind not in DATA_KINDS:
        raise InvalidInputError(
            f"cannot profile data of type {kind!r}; use one of {', '.join(DATA_KINDS)}", field="type"
        )
    files: list[str] = []
    fmt: str | None
    if kind == "uri_file":
        fmt = table_format(path)
        _check_links(fs, [path], allowed_roots)
        frame = read_table(fs, path, max_rows=max_rows + 1)
        files = [path]
    elif kind == "uri_folder":
        files = folder_files(fs, path)
        fmt = table_format(files[0])
        _check_links(fs, files, [path, *allowed_roots])
        frame = read_folder(fs, path, max_rows=max_rows + 1)
    else:
        fmt = "mltable"
        frame = read_mltable(fs, path).to_pandas(fs, path, limit=max_rows + 1, allowed_roots=allowed_roots)
    truncated = len(frame) > max_rows
    profile = profile_frame(frame.iloc[:max_rows], sample_rows=sample_rows)
    rows, exact = len(frame), not truncated
    if truncated and files:
        counted = _count(fs, files, count_bytes)
        if counted is not None:
            rows, exact = counted, True
    profile.update({"kind": kind, "format": fmt, "rows": rows, "rows_exact": exact})
    return profile


def _check_links(fs: Any, files: Sequence[str], roots: Sequence[str]) -> None:
    """On a local disk a file may be a symbolic link to anywhere: what it points at must lie under one of
    ``roots`` (the asset's folder, the datastore), or its contents would leak into the profile."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol not in ("file", "local") or not roots:
        return
    real_roots = [os.path.realpath(root) for root in roots]
    for path in files:
        real = os.path.realpath(path)
        if not any(real == root or real.startswith(root.rstrip("/") + "/") for root in real_roots):
            raise InvalidInputError(
                f"{os.path.basename(path)!r} links to a file outside the data's folder", field="path"
            )


def _count(fs: Any, files: list[str], count_bytes: int) -> int | None:
    """Exact rows over files; None when the text to stream passes ``count_bytes`` or cannot be counted."""
    text = [f for f in files if table_format(f) != "parquet"]
    if text and sum(int(fs.size(f) or 0) for f in text) > count_bytes:
        return None
    total = 0
    for name in files:
        counted = count_rows(fs, name)
        if counted is None:
            return None
        total += counted
    return total
