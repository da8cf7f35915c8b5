"""``stratus experiment``: the MLflow experiments of a workspace."""

from __future__ import annotations

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

app = typer.Typer(help="Experiments: the MLflow experiments of the workspace.", no_args_is_help=True)
COLUMNS = ("name", "experiment_id", "lifecycle_stage", "artifact_location")


@app.command("list")
@handle_errors
def list_(
    include_archived: Annotated[bool, typer.Option("--include-archived", help="Also deleted ones")] = False,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List experiments by name."""
    ml = client(workspace_name, url, resource_group, subscription)
    emit(list(ml.experiments.list(include_archived=include_archived)), output, COLUMNS)


@app.command("show")
@handle_errors
def show(
    name: Annotated[str, typer.Option("--name", "-n", help="Experiment name")],
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Show an experiment."""
    emit(client(workspace_name, url, resource_group, subscription).experiments.get(name), output, COLUMNS)
