"""Tabular data: MLTable files, tabular files and folders, profiles, and ``load`` into pandas.

Names load on first use (PEP 562), so ``stratus.data.formats`` and the package itself import without
pandas: the server imports pandas only when it profiles a table.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stratus.data.formats import is_tabular, table_format
    from stratus.data.loading import load
    from stratus.data.mltable import MLTABLE_FILE, PATH_COLUMN, MLTable, load_mltable, read_mltable
    from stratus.data.profile import profile_frame, profile_table
    from stratus.data.tabular import count_rows, read_folder, read_table
    from stratus.specs.references import parse_reference

_HOMES = {
    "MLTABLE_FILE": "stratus.data.mltable",
    "PATH_COLUMN": "stratus.data.mltable",
    "MLTable": "stratus.data.mltable",
    "load_mltable": "stratus.data.mltable",
    "read_mltable": "stratus.data.mltable",
    "count_rows": "stratus.data.tabular",
    "read_folder": "stratus.data.tabular",
    "read_table": "stratus.data.tabular",
    "is_tabular": "stratus.data.formats",
    "table_format": "stratus.data.formats",
    "profile_frame": "stratus.data.profile",
    "profile_table": "stratus.data.profile",
    "load": "stratus.data.loading",
    "parse_reference": "stratus.specs.references",
}
__all__ = [
    "MLTABLE_FILE",
    "PATH_COLUMN",
    "MLTable",
    "count_rows",
    "is_tabular",
    "load",
    "load_mltable",
    "parse_reference",
    "profile_frame",
    "profile_table",
    "read_folder",
    "read_mltable",
    "read_table",
    "table_format",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'stratus.data' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
