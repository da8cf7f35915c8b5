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
from typing import Any

import numpy as np
import pandas as pd  # no stubs installed (pandas-stubs is not a dependency)

from stratus.data.mltable_parse import (
    DATE_TOKENS,
    MLTABLE_FILE,
    ConvertColumnTypes,
    DropColumns,
    ExtractPartitionFormat,
    KeepColumns,
    Parser,
    PathEntry,
    ReadDelimited,
    ReadJsonLines,
    ReadParquet,
    ReadStep,
    Skip,
    Step,
    Take,
    TakeRandomSample,
)
from stratus.data.mltable_parse import mltable_error as _error
from stratus.data.tabular import (
    ColumnConversion,
    FileTable,
    convert_column,
    read_delimited_files,
    read_json_lines_files,
    read_parquet_files,
)
from stratus.errors import InvalidInputError
from stratus.parsing import MAX_YAML_CHARS

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

PATH_COLUMN = "Path"  # the column include_path_column adds, named as Azure ML names it
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_GLOB_MAGIC = re.compile(r"[*?\[]")


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
        fields = Parser(origin).parse(text)
        return cls(fields.paths, fields.read, fields.steps, origin, fields.traits, fields.metadata)

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
    for unit, _ in DATE_TOKENS.values():
        value = match.groupdict().get(f"{unit}_{index}")
        if value is not None:
            units[unit] = int(value)
    try:
        return pd.Timestamp(**units)
    except ValueError:
        return None
