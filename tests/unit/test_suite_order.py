"""The slow-files-first list names files that exist: a renamed file would silently drop back in the order."""

from __future__ import annotations

from pathlib import Path

from conftest import SLOW_FILES_FIRST

ROOT = Path(__file__).resolve().parents[2]


def test_every_slow_file_listed_exists() -> None:
    missing = [name for name in SLOW_FILES_FIRST if not (ROOT / name).is_file()]
    assert not missing, f"tests/conftest.py SLOW_FILES_FIRST names files that do not exist: {missing}"
    assert len(set(SLOW_FILES_FIRST)) == len(SLOW_FILES_FIRST)
