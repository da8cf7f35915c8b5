from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratus.cli._common import EXIT_USAGE, stderr, workspace_command

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities import Workspace

app = typer.Typer(help="Manage workspaces.", no_args_is_help=True)
COLUMNS = ("name", "display_name", "description", "mlflow_tracking_uri")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Workspace name: 3-33 of [A-Za-z0-9_-]")]
DisplayNameOpt = Annotated[str | None, typer.Option("--display-name")]
DescriptionOpt = Annotated[str | None, typer.Option("--description")]
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
@workspace_command(COLUMNS)
def create(
    ml: MLClient,
    name: NameOpt,
    display_name: DisplayNameOpt = None,
    description: DescriptionOpt = None,
    tags: TagOpt = None,
) -> Workspace:
    """Create a workspace (server admin)."""
    from stratus.entities import Workspace

    ws = Workspace(name=name, display_name=display_name, description=description, tags=_tags(tags) or {})
    return ml.workspaces.begin_create(ws).result()


@app.command("list")
@workspace_command(COLUMNS)
def list_(ml: MLClient) -> list[Workspace]:
    """List the workspaces you can read."""
    return list(ml.workspaces.list())


@app.command("show")
@workspace_command(COLUMNS)
def show(
    ml: MLClient,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Default: the current workspace")] = None,
) -> Workspace:
    """Show one workspace."""
    return ml.workspaces.get(name or ml.workspace_name)


@app.command("update")
@workspace_command(COLUMNS)
def update(
    ml: MLClient,
    name: NameOpt,
    display_name: DisplayNameOpt = None,
    description: DescriptionOpt = None,
    tags: TagOpt = None,
) -> Workspace:
    """Update a workspace's display name, description or tags."""
    from stratus.entities import Workspace

    ws = Workspace(name=name, display_name=display_name, description=description)
    if tags is not None:
        ws.tags = _tags(tags) or {}
    return ml.workspaces.begin_update(ws).result()


@app.command("delete")
@workspace_command()
def delete(
    ml: MLClient,
    name: NameOpt,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Really delete")] = False,
) -> dict[str, Any]:
    """Delete a workspace and everything in it. Without --yes, only says what would be removed."""
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
    return summary
