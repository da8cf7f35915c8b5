"""``stratus.data.load``: a data asset into pandas, wherever its datastore is.

The files come through the workspace's API (the server holds the datastore credentials), into a local
cache keyed by the version's content hash, so loading the same version again reads no network.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stratus.errors import InvalidInputError
from stratus.specs.references import parse_reference

if TYPE_CHECKING:
    import pandas as pd

    from stratus.client import MLClient
    from stratus.entities.assets import Data


def cache_root() -> Path:
    configured = os.environ.get("STRATUS_CACHE_DIR")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "stratus"
    return base.expanduser() / "data"


def load(reference: str | Data, ml_client: MLClient | None = None, **read_options: Any) -> pd.DataFrame:
    """Load a tabular data asset (``uri_file`` CSV/TSV/Parquet/JSON Lines, a ``uri_folder`` of such files,
    or an ``mltable``) into a DataFrame. ``ml_client`` defaults to ``MLClient()`` (STRATUS_URL or the
    ``stratus login`` profile)."""
    from stratus.client import MLClient
    from stratus.entities.assets import Data

    owned = ml_client is None
    client = MLClient(show_progress=False) if ml_client is None else ml_client
    try:
        if isinstance(reference, Data):
            data = reference
        else:
            name, version, label = parse_reference(reference)
            data = client.data.get(name, version=version, label=None if version else (label or "latest"))
        if data.sha256 and data.hash_kind == "content":
            return _read(_materialise(client, data, data.sha256), data, **read_options)
        # A listing hash does not name the bytes: read a fresh download, keep nothing.
        with tempfile.TemporaryDirectory(prefix="stratus-data-") as scratch:
            return _read(client.data.download_to(data, Path(scratch)), data, **read_options)
    finally:
        if owned:
            client.close()


def _materialise(client: MLClient, data: Data, key: str) -> Path:
    """The version's files in the local cache under their content hash (downloaded once, atomically by
    renaming a whole folder)."""
    target = cache_root() / key
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    try:
        client.data.download_to(data, scratch)
        try:
            os.replace(scratch, target)
        except OSError:  # another process finished the same download first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _read(folder: Path, data: Data, **read_options: Any) -> pd.DataFrame:
    import fsspec

    from stratus.data.mltable import load_mltable
    from stratus.data.tabular import read_folder, read_table

    fs = fsspec.filesystem("file")
    if data.type == "mltable":
        return load_mltable(fs, str(folder), **read_options)
    if data.type == "uri_file":
        files = [p for p in folder.iterdir() if p.is_file()]
        if len(files) != 1:
            raise InvalidInputError(
                f"uri_file asset {data.name}:{data.version} has {len(files)} files", field="path"
            )
        return read_table(fs, str(files[0]), **read_options)
    return read_folder(fs, str(folder), **read_options)
