"""Which files are tables, by name alone: importable without pandas (the server checks names before it
decides to profile anything)."""

from __future__ import annotations

import posixpath
from typing import Literal

TableFormat = Literal["csv", "tsv", "parquet", "jsonl", "json"]

_EXTENSIONS: dict[str, TableFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
# Text formats may be compressed; fsspec decompresses while streaming.
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}


def table_format(path: str) -> TableFormat | None:
    """The tabular format a file name implies, or None: ``.csv``, ``.tsv``, ``.parquet``/``.pq``,
    ``.jsonl``/``.ndjson``, ``.json``; the text formats also compressed (``.gz``, ``.bz2``, ``.xz``)."""
    name = posixpath.basename(path).lower()
    stem, suffix = posixpath.splitext(name)
    if suffix in _COMPRESSIONS:
        stem, suffix = posixpath.splitext(stem)
        if _EXTENSIONS.get(suffix) == "parquet":
            return None  # Parquet compresses internally; a compressed Parquet file is not readable as one
    return _EXTENSIONS.get(suffix)


def is_tabular(path: str) -> bool:
    return table_format(path) is not None


__all__ = ["TableFormat", "is_tabular", "table_format"]
