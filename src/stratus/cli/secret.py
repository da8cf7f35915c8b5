"""``stratus secret``: the workspace's key vault. Values are read from a file or stdin, never from a flag
(flags end up in shell history and process lists), and are never printed."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stratus.cli._common import workspace_command

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities.secrets import Secret

app = typer.Typer(help="Secrets of the workspace's key vault (values are write-only).", no_args_is_help=True)
COLUMNS = ("name", "creation_context.created_by", "creation_context.last_modified_at")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Secret name")]


def _read_value(value_file: Path | None) -> str:
    if value_file is not None:
        try:
            text = value_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot read {value_file}: {exc.strerror}", param_hint="--value-file"
            ) from None
        return text.removesuffix("\n").removesuffix("\r")
    if sys.stdin.isatty():
        return getpass.getpass("Secret value (hidden): ")
    return sys.stdin.read().removesuffix("\n").removesuffix("\r")


@app.command("set")
@workspace_command(COLUMNS)
def set_(
    ml: MLClient,
    name: NameOpt,
    value_file: Annotated[
        Path | None, typer.Option("--value-file", help="File holding the value; default: stdin")
    ] = None,
) -> Secret:
    """Create or replace a secret; the value comes from --value-file, stdin, or a hidden prompt."""
    value = _read_value(value_file)
    if not value:
        raise typer.BadParameter("the secret value is empty", param_hint="--value-file")
    return ml.secrets.set(name, value)


@app.command("list")
@workspace_command(COLUMNS)
def list_(ml: MLClient) -> list[Secret]:
    """List secret names (values are never shown)."""
    return list(ml.secrets.list())


@app.command("delete")
@workspace_command()  # takes --output, as az does; a delete prints nothing
def delete(ml: MLClient, name: NameOpt) -> None:
    """Delete a secret."""
    ml.secrets.delete(name)
