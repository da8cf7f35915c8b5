from __future__ import annotations

from typing import Annotated

import typer

from stratus.cli._common import (
    EXIT_USAGE,
    OutputFormat,
    OutputOpt,
    ResourceGroupOpt,
    SubscriptionOpt,
    UrlOpt,
    WorkspaceOpt,
    client,
    emit,
    handle_errors,
    stderr,
)
from stratus.entities import Workspace

app = typer.Typer(help="Manage workspaces.", no_args_is_help=True)
COLUMNS = ("name", "display_name", "description", "mlflow_tracking_uri")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Workspace name: 3-33 of [A-Za-z0-9_-]")]
TagOpt = Annotated[list[str] | None, typer.Option("--tags", help="key=value, repeatable")]


def _tags(pairs: list[str] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r}: tags are key=value", param_hint="--tags")
        tags[key] = value
    return tags


@app.command("create")
@handle_errors
def create(
    name: NameOpt,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    tags: TagOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Create a workspace (server admin)."""
    ml = client(workspace_name, url, resource_group, subscription)
    ws = Workspace(name=name, display_name=display_name, description=description, tags=_tags(tags) or {})
    emit(ml.workspaces.begin_create(ws).result(), output, COLUMNS)


@app.command("list")
@handle_errors
def list_(
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List the workspaces you can read."""
    emit(list(client(workspace_name, url, resource_group, subscription).workspaces.list()), output, COLUMNS)


@app.command("show")
@handle_errors
def show(
    name: Annotated[str | None, typer.Option("--name", "-n", help="Default: the current workspace")] = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Show one workspace."""
    ml = client(workspace_name, url, resource_group, subscription)
    emit(ml.workspaces.get(name or ml.workspace_name), output, COLUMNS)


@app.command("update")
@handle_errors
def update(
    name: NameOpt,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    tags: TagOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Update a workspace's display name, description or tags."""
    ml = client(workspace_name, url, resource_group, subscription)
    ws = Workspace(name=name, display_name=display_name, description=description)
    if tags is not None:
        ws.tags = _tags(tags) or {}
    emit(ml.workspaces.begin_update(ws).result(), output, COLUMNS)


@app.command("delete")
@handle_errors
def delete(
    name: NameOpt,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Really delete")] = False,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Delete a workspace and everything in it. Without --yes, only says what would be removed."""
    ml = client(workspace_name, url, resource_group, subscription)
    summary = ml.workspaces.begin_delete(name, dry_run=not yes).result()
    what = (
        f"workspace {name!r}: {summary['role_assignments']} role assignment(s), {summary['tokens']} "
        f"workspace token(s), {summary['artifact_objects']} artifact object(s) "
        f"({summary['artifact_bytes']} bytes under {summary['artifact_uri']})"
    )
    if not yes:
        stderr.print(f"Would delete {what}.\nRun again with --yes to delete.", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    stderr.print(f"Deleted {what}.", soft_wrap=True)
    emit(summary, output)
