"""``stratus datastore``: where a workspace's data lives. Credentials go from the YAML to the workspace's key
vault; what the server answers (and so what is printed) names their kind, never their values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stratus.cli._common import (
    OutputFormat,
    OutputOpt,
    ResourceGroupOpt,
    SubscriptionOpt,
    UrlOpt,
    WorkspaceOpt,
    client,
    emit,
    handle_errors,
)
from stratus.specs import load_datastore

app = typer.Typer(
    help="Datastores: Azure Blob, ADLS Gen2, S3 and local folders (Azure ML datastore YAML).",
    no_args_is_help=True,
)
COLUMNS = ("name", "type", "is_default", "credentials_type")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Datastore name")]


@app.command("create")
@handle_errors
def create(
    file: Annotated[Path, typer.Option("--file", "-f", help="Azure ML datastore YAML (any type)")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Overrides the YAML's name")] = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Create or update a datastore from a YAML file; its credentials are stored in the key vault."""
    datastore = load_datastore(file, name=name)
    emit(
        client(workspace_name, url, resource_group, subscription).datastores.create_or_update(datastore),
        output,
        COLUMNS,
    )


@app.command("list")
@handle_errors
def list_(
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List the workspace's datastores, the built-in workspaceblobstore included."""
    emit(list(client(workspace_name, url, resource_group, subscription).datastores.list()), output, COLUMNS)


@app.command("show")
@handle_errors
def show(
    name: NameOpt,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Show a datastore (the kind of its credentials, never their values)."""
    emit(client(workspace_name, url, resource_group, subscription).datastores.get(name), output, COLUMNS)


@app.command("delete")
@handle_errors
def delete(
    name: NameOpt,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Delete a datastore and its stored credentials; the data it points at is left alone."""
    del output  # taken by every command, as az takes it; a delete prints nothing
    client(workspace_name, url, resource_group, subscription).datastores.delete(name)
