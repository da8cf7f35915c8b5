from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stratus._files import write_private
from stratus.secrets import master_key


def test_generate_and_decode_roundtrip() -> None:
    text = master_key.generate()
    assert "\n" not in text and len(master_key.decode(text, source="t")) == 32
    assert master_key.decode(text.rstrip("="), source="t") == master_key.decode(text, source="t")


@pytest.mark.parametrize("bad", ["", "not base64 !!", "c2hvcnQ="])
def test_bad_keys_name_their_source(bad: str) -> None:
    with pytest.raises(master_key.MasterKeyError, match="STRATUS_MASTER_KEY"):
        master_key.decode(bad, source="STRATUS_MASTER_KEY")


def test_variable_wins_over_file(tmp_path: Path) -> None:
    file_key, env_key = master_key.generate(), master_key.generate()
    path = tmp_path / "master.key"
    write_private(path, file_key + "\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert master_key.read(env_key, path) == master_key.decode(env_key, source="x")
    assert master_key.read(None, path) == master_key.decode(file_key, source="x")
    assert master_key.read(None, tmp_path / "missing") is None


def test_check_value_distinguishes_keys() -> None:
    a, b = (master_key.decode(master_key.generate(), source="x") for _ in range(2))
    assert master_key.check_value(a) == master_key.check_value(a) != master_key.check_value(b)
