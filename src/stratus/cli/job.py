"""``stratus job``: jobs of a workspace (today, the MLflow runs logged to it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratus.cli._common import DownloadPathOpt, download_report, stderr, workspace_command

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities import Job

app = typer.Typer(help="Jobs: MLflow runs logged to the workspace (name = run id).", no_args_is_help=True)
COLUMNS = ("name", "display_name", "experiment_name", "status", "start_time")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Job name (the MLflow run id)")]


@app.command("list")
@workspace_command(COLUMNS)
def list_(
    ml: MLClient,
    experiment_name: Annotated[
        str | None, typer.Option("--experiment-name", help="Only this experiment")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="e.g. Running, Completed, Failed")] = None,
    include_archived: Annotated[bool, typer.Option("--include-archived", help="Also deleted runs")] = False,
    max_results: Annotated[int | None, typer.Option("--max-results", "-r", min=1)] = None,
) -> list[Job]:
    """List jobs, newest first."""
    jobs = ml.jobs.list(experiment_name=experiment_name, status=status, include_archived=include_archived)
    found: list[Job] = []
    for job in jobs:
        if max_results is not None and len(found) >= max_results:
            break
        found.append(job)
    return found


@app.command("show")
@workspace_command(COLUMNS)
def show(ml: MLClient, name: NameOpt) -> Job:
    """Show a job with its params, latest metrics and tags."""
    return ml.jobs.get(name)


@app.command("download")
@workspace_command(("name", "download_path"))
def download(ml: MLClient, name: NameOpt, download_path: DownloadPathOpt = Path()) -> dict[str, Any]:
    """Download a job's artifacts into <download-path>/artifacts/."""
    report = download_report(ml.jobs.download(name, download_path=download_path), name=name)
    if not report["files"]:
        stderr.print(f"job {name} logged no artifacts: {report['download_path']} is empty", soft_wrap=True)
    return report
