"""What the command line imports before it does anything: the import graph, checked in fresh processes
(never a timing). Heavy libraries stay out of the CLI, `stratus --version` is answered before Typer loads,
and commands that do not talk to a server load neither httpx nor the SDK."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "sqlalchemy", "fastapi", "mlflow")
SDK = ("httpx", "stratus.client", "stratus.specs", "pydantic_settings")


def modules_after(code: str, *argv: str) -> set[str]:
    """The modules a fresh interpreter has imported when ``code`` ends, also by ``SystemExit``."""
    harness = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + json.dumps(sorted(sys.modules))))\n"
        f"sys.argv[1:] = {list(argv)!r}\n" + code
    )
    done = subprocess.run([sys.executable, "-c", harness], capture_output=True, text=True, timeout=60)
    _, marker, listed = done.stderr.rpartition("\nMODULES ")
    assert marker, done.stdout + done.stderr
    return set(json.loads(listed))


def present(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in loaded or any(m.startswith(name + ".") for m in loaded)]


def test_the_cli_and_its_whole_command_tree_import_no_heavy_module() -> None:
    # Every group built, as `stratus --help` does.
    code = (
        "import typer\n"
        "from stratus.cli.main import app\n"
        "root = typer.main.get_command(app)\n"
        "groups = [root.commands[name] for name in root.commands]\n"
    )
    loaded = modules_after(code)
    assert {"stratus.cli.main", "stratus.cli.workspace", "stratus.cli.environment"} <= loaded
    assert present(loaded, HEAVY) == []
    assert present(loaded, SDK) == []


def test_version_is_answered_before_typer_loads() -> None:
    code = "from stratus.cli import run\nrun()\n"
    loaded = modules_after(code, "--version")
    assert "stratus.cli" in loaded
    assert present(loaded, ("typer", "rich", "click", "pydantic", *SDK)) == []


def test_the_early_version_is_what_typer_prints() -> None:
    from typer.testing import CliRunner

    from stratus.cli.main import app

    early = subprocess.run([sys.executable, "-m", "stratus", "--version"], capture_output=True, text=True)
    assert early.returncode == 0 and early.stderr == ""
    assert early.stdout == CliRunner().invoke(app, ["--version"]).stdout


@pytest.mark.parametrize("args", [("--help",), ("workspace", "--help"), ("data", "create", "--help")])
def test_help_imports_no_httpx_nor_the_sdk(args: tuple[str, ...]) -> None:
    code = "from stratus.cli import run\nrun()\n"
    loaded = modules_after(code, *args)
    assert "typer" in loaded  # the help was printed by Typer
    assert present(loaded, SDK) == []
    assert present(loaded, HEAVY) == []


def test_a_command_builds_only_its_own_group() -> None:
    code = "from stratus.cli import run\nrun()\n"
    loaded = modules_after(code, "workspace", "list", "--url", "http://127.0.0.1:9")  # nothing listens
    assert "stratus.cli.workspace" in loaded and "httpx" in loaded
    assert not loaded & {"stratus.cli.data", "stratus.cli.environment", "stratus.cli.mlflow"}
    assert present(loaded, ("stratus.specs", "stratus.environments", "pydantic_settings", *HEAVY)) == []


def test_the_server_group_loads_neither_rich_nor_the_sdk() -> None:
    # What `stratus server start` has imported before the server's own modules.
    code = "import typer\nfrom stratus.cli.main import app\ntyper.main.get_command(app).commands['server']\n"
    loaded = modules_after(code)
    assert "stratus.cli.server" in loaded
    assert present(loaded, ("rich", "stratus.server", "pydantic", *SDK, *HEAVY)) == []


def test_server_start_help_does_not_import_the_server() -> None:
    loaded = modules_after("from stratus.cli import run\nrun()\n", "server", "start", "--help")
    assert present(loaded, ("stratus.server", "uvicorn", *HEAVY, *SDK)) == []
