"""Tabular data: MLTable files, tabular files and folders, and profiles, over fsspec filesystems."""

from stratus.data.load import load
from stratus.data.mltable import MLTABLE_FILE, PATH_COLUMN, MLTable, load_mltable, read_mltable
from stratus.data.profile import profile_frame, profile_table
from stratus.data.tabular import count_rows, is_tabular, read_folder, read_table, table_format
from stratus.specs.references import parse_reference

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
