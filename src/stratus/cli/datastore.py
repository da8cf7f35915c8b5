"""``stratus datastore``: where a workspace's data lives. Credentials go from the YAML to the workspace's key
vault; what the server answers (and so what is printed) names their kind, never their values."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stratus.cli._common import SetOpt, parse_sets, workspace_command

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities import Datastore

app = typer.Typer(
    help="Datastores: Azure Blob, ADLS Gen2, S3 and local folders (Azure ML datastore YAML).",
    no_args_is_help=True,
)
COLUMNS = ("name", "type", "is_default", "credentials_type")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Datastore name")]


@app.command("create")
@workspace_command(COLUMNS)
def create(
    ml: MLClient,
    file: Annotated[Path, typer.Option("--file", "-f", help="Azure ML datastore YAML (any type)")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Overrides the YAML's name")] = None,
    sets: SetOpt = None,
) -> Datastore:
    """Create or update a datastore from a YAML file; its credentials are stored in the key vault."""
    from stratus.specs import load_datastore

    datastore = load_datastore(file, params_override=parse_sets(sets, file), name=name)
    return ml.datastores.create_or_update(datastore)


@app.command("list")
@workspace_command(COLUMNS)
def list_(ml: MLClient) -> list[Datastore]:
    """List the workspace's datastores, the built-in workspaceblobstore included."""
    return list(ml.datastores.list())


@app.command("show")
@workspace_command(COLUMNS)
def show(ml: MLClient, name: NameOpt) -> Datastore:
    """Show a datastore (the kind of its credentials, never their values)."""
    return ml.datastores.get(name)


@app.command("delete")
@workspace_command()  # takes --output, as az does; a delete prints nothing
def delete(ml: MLClient, name: NameOpt) -> None:
    """Delete a datastore and its stored credentials; the data it points at is left alone."""
    ml.datastores.delete(name)
