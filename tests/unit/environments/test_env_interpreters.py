"""Interpreter discovery: real interpreters on this machine, each confirmed by running it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stratus.environments import find_interpreters, require_interpreter
from stratus.environments.interpreters import SEARCH_PATH_ENV
from stratus.errors import InvalidInputError


def test_python_311_is_found_and_runs() -> None:
    found = find_interpreters()
    assert "3.11" in found
    assert os.access(found["3.11"], os.X_OK)
    assert require_interpreter("3.11").version.startswith("3.11.")
    assert list(found) == sorted(found, key=lambda v: tuple(int(p) for p in v.split(".")))


def test_missing_version_names_what_was_asked_and_what_was_found() -> None:
    with pytest.raises(InvalidInputError) as caught:
        require_interpreter("3.99")
    assert caught.value.field == "python"
    assert "3.99" in caught.value.message
    assert "3.11" in caught.value.message
    assert SEARCH_PATH_ENV in caught.value.message


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_search_path_variable_comes_first_and_each_candidate_is_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = require_interpreter("3.11").path
    (tmp_path / "python3.11").symlink_to(real)
    _script(tmp_path / "python3.42", "#!/bin/sh\nexit 1\n")  # not runnable: ignored
    _script(tmp_path / "python3.43", "#!/bin/sh\necho 3.11.0\necho /x\necho 0\n")  # lies about its version
    monkeypatch.setenv(SEARCH_PATH_ENV, str(tmp_path))

    found = find_interpreters(refresh=True)

    assert found["3.11"] == tmp_path / "python3.11"
    assert "3.42" not in found
    assert "3.43" not in found
