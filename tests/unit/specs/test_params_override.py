"""``params_override`` (azure-ai-ml's) and the CLI's ``--set``: fields changed before validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from stratus.cli._common import parse_sets
from stratus.specs import load_data, load_environment
from stratus.specs.loader import SpecError, set_path


def test_set_path_walks_mappings_and_list_items() -> None:
    data = {"tags": {"a": "1"}, "items": [{"name": "x"}, {"name": "y"}]}
    set_path(data, "tags.team", "vision", "f.yml")
    set_path(data, "items[1].name", "z", "f.yml")
    set_path(data, "new.deep.key", 3, "f.yml")
    assert data == {
        "tags": {"a": "1", "team": "vision"},
        "items": [{"name": "x"}, {"name": "z"}],
        "new": {"deep": {"key": 3}},
    }
    for key, words in [
        ("items[5].name", "has no item [5]"),
        ("tags[0]", "has no item [0]"),
        ("missing[0]", "missing is not a list"),
        ("tags.a.b", "tags.a is not a mapping"),
        ("tags..b", "dotted path"),
    ]:
        with pytest.raises(SpecError, match=words.replace("[", r"\[").replace("]", r"\]")):
            set_path(data, key, "v", "f.yml")


def test_loaders_apply_overrides_before_validation(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("a\n1\n")
    spec = tmp_path / "data.yml"
    spec.write_text("name: iris\ntype: uri_file\npath: train.csv\ntags: {team: a}\n")
    data = load_data(spec, params_override=[{"tags.team": "b", "description": "from --set"}], name="other")
    assert (data.name, data.tags, data.description) == ("other", {"team": "b"}, "from --set")
    with pytest.raises(SpecError, match="colour"):  # still validated: an unknown field is refused
        load_data(spec, params_override=[{"colour": "red"}])
    env = tmp_path / "env.yml"
    env.write_text("name: e\npython: '3.11'\npip: [six, numpy]\n")
    assert load_environment(env, params_override=[{"pip[1]": "pandas"}]).pip == ["six", "pandas"]


def test_cli_set_values() -> None:
    file = Path("x.yml")
    assert parse_sets(["tags.team=a", "n=3", "flag=true", 'obj={"k": [1]}', "text=a=b"], file) == [
        {"tags.team": "a"},
        {"n": 3},
        {"flag": True},
        {"obj": {"k": [1]}},
        {"text": "a=b"},
    ]
    assert parse_sets(None, None) == []
    with pytest.raises(typer.BadParameter, match="--file"):
        parse_sets(["a=1"], None)
    with pytest.raises(typer.BadParameter, match=r"key\.path=value"):
        parse_sets(["novalue"], file)
