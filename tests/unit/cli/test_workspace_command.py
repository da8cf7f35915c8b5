"""``workspace_command``: the az options after a command's own, the client it is made with, what it prints."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from stratus.cli import _common
from stratus.cli._common import OutputFormat, WorkspaceOpt, workspace_command
from stratus.client import MLClient
from stratus.errors import NotFoundError

AZ = ["workspace_name", "output", "query", "url", "resource_group", "subscription"]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="A name")]
app = typer.Typer()


@app.command("show")
@workspace_command(("name",))
def show(
    ml: MLClient, name: NameOpt, loud: Annotated[bool, typer.Option("--loud")] = False
) -> dict[str, Any]:
    """Show a name."""
    return {"name": name.upper() if loud else name, "workspace": ml.workspace_name, "url": ml.endpoint}


@app.command("quiet")
@workspace_command(output=False)
def quiet(ml: MLClient, name: NameOpt) -> None:
    """Print nothing on stdout."""
    _common.stderr.print(f"quiet {name} in {ml.workspace_name}")


@app.command("scoped")
@workspace_command()
def scoped(
    ml: MLClient,
    user: Annotated[str | None, typer.Option("--user", "-u")] = None,
    workspace_name: WorkspaceOpt = None,
    label: Annotated[str | None, typer.Option("--label")] = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o", help="Own help")] = OutputFormat.table,
) -> None:
    """Receives two of the az options itself."""
    print(json.dumps({"flag": workspace_name, "client": ml.workspace_name, "output": output.value}))


@app.command("missing")
@workspace_command()
def missing(ml: MLClient, name: NameOpt) -> None:
    """Always not found."""
    raise NotFoundError(f"no {name} in {ml.workspace_name}")


def _params(name: str) -> list[Any]:
    group = typer.main.get_command(app)
    return group.commands[name].params  # type: ignore[attr-defined]


def _invoke(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_the_az_options_follow_the_commands_own() -> None:
    assert [p.name for p in _params("show")] == ["name", "loud", *AZ]
    assert [p.name for p in _params("quiet")] == ["name", *(n for n in AZ if n not in ("output", "query"))]
    options = {opt for p in _params("show") for opt in p.opts}
    assert {"-w", "-o", "--url", "-g", "--subscription"} <= options
    assert _invoke("show", "--help").stdout.count("Show a name.") == 1


def test_the_client_is_made_from_the_options_and_the_result_printed() -> None:
    result = _invoke("show", "-n", "x", "--loud", "-w", "ws1", "--url", "http://127.0.0.1:9/")
    assert json.loads(result.stdout) == {"name": "X", "workspace": "ws1", "url": "http://127.0.0.1:9"}
    table = _invoke("show", "-n", "abc", "-o", "table").stdout
    assert "abc" in table and "workspace" not in table  # only the command's columns


def test_none_prints_nothing_and_azure_options_are_warned_about() -> None:
    result = _invoke("quiet", "-n", "x", "-w", "ws2", "-g", "rg", "--subscription", "s")
    assert result.stdout == ""
    assert "--resource-group is an Azure option" in result.stderr
    assert "--subscription is an Azure option" in result.stderr
    assert "quiet x in ws2" in result.stderr
    _invoke("quiet", "-n", "x", "-o", "json", code=2)  # no --output here


def test_an_az_option_the_command_declares_is_passed_and_keeps_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [p.name for p in _params("scoped")] == ["user", "workspace_name", "label", "output", *AZ[2:]]
    assert "query" in AZ[2:], "--query follows the command's own --output"
    output = next(p for p in _params("scoped") if p.name == "output")
    assert output.help == "Own help" and output.default is OutputFormat.table
    monkeypatch.setenv("STRATUS_WORKSPACE", "from-env")
    assert json.loads(_invoke("scoped").stdout) == {"flag": None, "client": "from-env", "output": "table"}
    flagged = json.loads(_invoke("scoped", "-w", "ws3", "-o", "json").stdout)
    assert flagged == {"flag": "ws3", "client": "ws3", "output": "json"}


def test_errors_exit_with_their_code_and_the_client_is_closed() -> None:
    result = _invoke("missing", "-n", "thing", "-w", "ws4", code=3)
    assert result.stdout == "" and "no thing in ws4" in result.stderr
    assert _common._open_clients == []
