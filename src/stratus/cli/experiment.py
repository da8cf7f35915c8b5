"""``stratus experiment``: the MLflow experiments of a workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stratus.cli._common import workspace_command

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities import Experiment

app = typer.Typer(help="Experiments: the MLflow experiments of the workspace.", no_args_is_help=True)
COLUMNS = ("name", "experiment_id", "lifecycle_stage", "artifact_location")


@app.command("list")
@workspace_command(COLUMNS)
def list_(
    ml: MLClient,
    include_archived: Annotated[bool, typer.Option("--include-archived", help="Also deleted ones")] = False,
) -> list[Experiment]:
    """List experiments by name."""
    return list(ml.experiments.list(include_archived=include_archived))


@app.command("show")
@workspace_command(COLUMNS)
def show(
    ml: MLClient, name: Annotated[str, typer.Option("--name", "-n", help="Experiment name")]
) -> Experiment:
    """Show an experiment."""
    return ml.experiments.get(name)
