"""Output and exit codes shared by every command."""

from __future__ import annotations

import json

import pytest
import typer

from stratus.cli import _common
from stratus.cli._common import OutputFormat, emit, handle_errors
from stratus.entities import Workspace
from stratus.errors import ConflictError, InvalidInputError, NotFoundError


def test_json_is_the_body_as_received(capsys: pytest.CaptureFixture[str]) -> None:
    body = {"name": "w", "zzz": None, "extra_field": [1], "tags": {}}
    emit(Workspace.from_response(body), OutputFormat.json)
    assert json.loads(capsys.readouterr().out) == body
    emit([Workspace.from_response(body)] * 2, OutputFormat.json)
    assert json.loads(capsys.readouterr().out) == [body, body]


def test_table_shows_the_columns(capsys: pytest.CaptureFixture[str]) -> None:
    emit(
        [{"name": "alpha", "description": "first"}, {"name": "beta", "tags": {"k": "v"}}],
        OutputFormat.table,
        ("name", "tags"),
    )
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" in out and '{"k": "v"}' in out and "first" not in out


@pytest.mark.parametrize(
    ("error", "code"),
    [(NotFoundError("gone"), 3), (InvalidInputError("bad", field="name"), 2), (ConflictError("dup"), 1)],
)
def test_exit_codes(error: Exception, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    @handle_errors
    def command() -> None:
        raise error

    with pytest.raises(typer.Exit) as info:
        command()
    assert info.value.exit_code == code
    captured = capsys.readouterr()
    assert captured.out == "" and str(error) in captured.err


def test_clients_are_closed_after_each_command() -> None:
    closed: list[bool] = []

    class Fake:
        def close(self) -> None:
            closed.append(True)

    @handle_errors
    def command() -> None:
        _common._open_clients.append(Fake())  # type: ignore[arg-type]
        raise NotFoundError("x")

    with pytest.raises(typer.Exit):
        command()
    assert closed == [True] and _common._open_clients == []


def _commands():
    from stratus.cli.main import app

    root = typer.main.get_command(app)
    for group_name, group in root.commands.items():  # type: ignore[attr-defined]
        if hasattr(group, "commands"):  # a command group (typer vendors its own click)
            for name, command in group.commands.items():
                yield f"{group_name} {name}", command
        else:
            yield group_name, group


def test_every_command_takes_the_az_ml_options() -> None:
    checked = 0
    for name, command in _commands():
        if name == "server start":
            continue
        options = {opt for param in command.params for opt in param.opts}
        assert {"--workspace-name", "-w"} <= options, name
        if name != "role delete":  # prints nothing on stdout
            assert {"--output", "-o"} <= options, name
        if name != "login":
            assert {"--resource-group", "-g", "--subscription"} <= options, name
        checked += 1
    assert checked >= 15


def test_output_formats_and_query(capsys: pytest.CaptureFixture[str]) -> None:
    """az's -o json|jsonc|yaml|tsv|table|none and --query (JMESPath over the JSON result)."""
    import yaml

    from stratus.cli._common import OutputFormat, emit, querying

    rows = [
        {"name": "a", "version": 1, "tags": {"t": "x"}, "archived": False},
        {"name": "b", "version": 2, "tags": {}, "archived": True},
    ]
    emit(rows, OutputFormat.tsv)
    assert capsys.readouterr().out == "false\ta\t1\ntrue\tb\t2\n", "scalars in key order, nested left out"
    with querying("[].name"):
        emit(rows, OutputFormat.tsv)
    assert capsys.readouterr().out == "a\nb\n"
    with querying("[?archived].version | [0]"):
        emit(rows, OutputFormat.tsv)
    assert capsys.readouterr().out == "2\n"
    emit(rows, OutputFormat.yaml)
    assert yaml.safe_load(capsys.readouterr().out) == rows
    with querying("[0]"):
        emit(rows, OutputFormat.json)
    assert json.loads(capsys.readouterr().out) == rows[0]
    emit(rows, OutputFormat.none)
    assert capsys.readouterr().out == ""
    emit(rows, OutputFormat.jsonc)
    assert json.loads(capsys.readouterr().out) == rows
    with querying("[].name"):
        emit(rows, OutputFormat.table)
    table = capsys.readouterr().out
    assert "Result" in table and " a " in table and " b " in table


def test_a_bad_query_is_a_usage_error() -> None:
    from stratus.cli._common import OutputFormat, emit, querying
    from stratus.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="JMESPath"), querying("[?"):  # refused on entry
        emit([{"a": 1}], OutputFormat.json)


def test_every_command_takes_query() -> None:
    for name, command in _commands():
        if name in ("server start", "role delete"):  # prints a banner / nothing on stdout
            continue
        assert "--query" in {opt for param in command.params for opt in param.opts}, name


def test_tables_fit_the_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Times in local ISO to the second, sizes human-readable, long ids shortened, nested columns filled,
    lists joined; -o json keeps every value whole."""
    import time

    from stratus.cli._common import OutputFormat, _cell, emit, human_size

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert _cell("2026-12-08T01:02:03.456789+00:00") == "2026-12-08T06:32:03+05:30"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert (human_size(512), human_size(1536), human_size(5 * 1024**3)) == ("512 B", "1.5 KB", "5.0 GB")
    assert _cell(2048, "size") == "2.0 KB" and _cell(2048, "count") == "2048"
    assert _cell("cd64d332e8f371cb575d5727e03435c1f6533c9abd1d8b782243a6e8c15a0b18") == "cd64d332e8f3…"
    assert _cell(["champion", "prod"]) == "champion, prod" and _cell(True) == "yes"
    row = {"name": "s", "creation_context": {"created_by": "alice"}, "spec_hash": "ab" * 32}
    monkeypatch.setenv("COLUMNS", "200")
    emit([row], OutputFormat.table, ("name", "creation_context.created_by", "spec_hash"))
    table = capsys.readouterr().out
    assert "alice" in table and "abababababab…" in table and "ab" * 32 not in table
    emit([row], OutputFormat.json)
    assert json.loads(capsys.readouterr().out) == [row]
