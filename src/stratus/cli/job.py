"""``stratus job``: jobs of a workspace (today, the MLflow runs logged to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stratus.cli._common import (
    DownloadPathOpt,
    OutputFormat,
    OutputOpt,
    ResourceGroupOpt,
    SubscriptionOpt,
    UrlOpt,
    WorkspaceOpt,
    client,
    emit,
    files_under,
    handle_errors,
)
from stratus.entities import Job

app = typer.Typer(help="Jobs: MLflow runs logged to the workspace (name = run id).", no_args_is_help=True)
COLUMNS = ("name", "display_name", "experiment_name", "status", "start_time")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Job name (the MLflow run id)")]


@app.command("list")
@handle_errors
def list_(
    experiment_name: Annotated[
        str | None, typer.Option("--experiment-name", help="Only this experiment")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="e.g. Running, Completed, Failed")] = None,
    include_archived: Annotated[bool, typer.Option("--include-archived", help="Also deleted runs")] = False,
    max_results: Annotated[int | None, typer.Option("--max-results", "-r", min=1)] = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List jobs, newest first."""
    jobs = client(workspace_name, url, resource_group, subscription).jobs.list(
        experiment_name=experiment_name, status=status, include_archived=include_archived
    )
    found: list[Job] = []
    for job in jobs:
        if max_results is not None and len(found) >= max_results:
            break
        found.append(job)
    emit(found, output, COLUMNS)


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
    """Show a job with its params, latest metrics and tags."""
    emit(client(workspace_name, url, resource_group, subscription).jobs.get(name), output, COLUMNS)


@app.command("download")
@handle_errors
def download(
    name: NameOpt,
    download_path: DownloadPathOpt = Path(),
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Download a job's artifacts into <download-path>/artifacts/."""
    target = client(workspace_name, url, resource_group, subscription).jobs.download(
        name, download_path=download_path
    )
    files = files_under(target)
    emit({"name": name, "download_path": str(target), "files": files}, output, ("name", "download_path"))
