"""``stratus mlflow import``: copy an MLflow tracking server into a workspace, resumably."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from stratus.cli._common import (
    OutputFormat,
    QueryOpt,
    ResourceGroupOpt,
    SubscriptionOpt,
    UrlOpt,
    WorkspaceOpt,
    current_query,
    emit,
    handle_errors,
    querying,
    stderr,
    workspace_command,
)
from stratus.errors import StratusError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID
    from rich.table import Table

    from stratus.client import MLClient
    from stratus.migrate import ImportProgress, ImportSummary

app = typer.Typer(
    help="Use the stock MLflow client with Stratus, and bring MLflow data in.", no_args_is_help=True
)
EXIT_INTERRUPTED = 130


@app.command("env")
@handle_errors
def env(
    workspace_name: WorkspaceOpt = None,
    output: Annotated[
        OutputFormat | None,
        typer.Option("--output", "-o", help="Default: shell 'export' lines; or json, yaml, tsv, table…"),
    ] = None,
    query: QueryOpt = None,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Print the variables the stock mlflow client reads, for your profile: eval "$(stratus mlflow env)"."""
    import shlex

    from stratus.client import profile

    for flag, value in (("--resource-group", resource_group), ("--subscription", subscription)):
        if value:
            stderr.print(f"warning: {flag} is an Azure option; Stratus ignores it")
    connection = profile.resolve(url, None, workspace_name)
    variables = {"MLFLOW_TRACKING_URI": f"{connection.url}/workspaces/{connection.workspace or 'default'}"}
    if connection.token:
        variables["MLFLOW_TRACKING_TOKEN"] = connection.token
    else:
        stderr.print(
            "warning: no token found (STRATUS_TOKEN, 'stratus login' or the local server's admin token): "
            "MLFLOW_TRACKING_TOKEN left out"
        )
    if output is not None or query:
        with querying(query):
            emit(variables, output or OutputFormat.json, tuple(variables))
        return
    print("\n".join(f"export {name}={shlex.quote(value)}" for name, value in variables.items()), flush=True)


@app.command("import")
@workspace_command()  # prints the summary itself
def import_(
    ml: MLClient,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="Tracking URI of the MLflow server to copy, e.g. http://mlflow:5000. Its credentials, if "
            "any, come from MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/_PASSWORD.",
            show_default=False,
        ),
    ],
    include_deleted: Annotated[
        bool,
        typer.Option("--include-deleted", help="Also copy deleted experiments and runs (they stay deleted)"),
    ] = False,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="table (a summary) or json (the summary as JSON)")
    ] = OutputFormat.table,
) -> None:
    """Copy experiments, runs, logged models and registered models from an MLflow server.

    New ids are made here, the source's kept in stratus.import.* tags. Run it again to resume.
    """
    from rich.console import Console
    from rich.markup import escape

    # The stock client would otherwise report usage to MLflow's servers from inside this command.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        from stratus.migrate import ImportOptions, MlflowImportError, import_mlflow_into
    except ImportError as exc:
        raise StratusError(f"{exc}", code="MISSING_DEPENDENCY") from None
    stderr.print(f"Importing {source} into workspace {ml.workspace_name!r} at {ml.endpoint}", soft_wrap=True)
    bars = _ProgressBars(stderr.console)
    try:
        summary = import_mlflow_into(
            ml, source, options=ImportOptions(include_deleted=include_deleted), progress=bars.update
        )
    except MlflowImportError as exc:
        bars.stop()
        stderr.print("Copied before it stopped:")
        stderr.print(_table(exc.summary))
        raise
    except KeyboardInterrupt:
        bars.stop()
        stderr.print("Interrupted. Run the same command again to resume.")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        bars.stop()
    if output is OutputFormat.table and current_query() is None:
        Console().print(_table(summary))
    else:
        emit(summary.as_dict(), output)
    for warning in summary.warnings:
        stderr.print(f"[yellow]warning[/yellow] {escape(warning)}", markup=True, soft_wrap=True)


class _ProgressBars:
    """One bar per phase of the import (runs, then registered models), on stderr; shown from the first
    event, so that an import refused at once prints its error alone."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description:<17}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[item]}", markup=False),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}

    def update(self, event: ImportProgress) -> None:
        if not self.tasks:
            self.progress.start()
        task = self.tasks.get(event.phase)
        if task is None:
            task = self.tasks[event.phase] = self.progress.add_task(event.phase, total=event.total, item="")
        self.progress.update(task, completed=event.completed, total=event.total, item=event.description[:60])

    def stop(self) -> None:
        self.progress.stop()  # idempotent; the bars stay on screen as they ended


def _table(summary: ImportSummary) -> Table:
    from rich.table import Table

    rows = (
        ("experiments", summary.experiments, f"{summary.experiments_created} created"),
        ("runs copied", summary.runs, f"{summary.runs_resumed} resumed from an earlier attempt"),
        ("runs skipped", summary.runs_skipped, "copied completely before"),
        ("metric points", summary.metric_points, ""),
        ("params", summary.params, ""),
        ("tags", summary.tags, ""),
        ("dataset inputs", summary.datasets, ""),
        ("artifact files", summary.artifact_files, f"{summary.artifact_bytes:,} bytes"),
        ("logged models", summary.logged_models, f"{summary.logged_models_skipped} skipped (copied before)"),
        ("registered models", summary.registered_models, f"{summary.registered_models_created} created"),
        (
            "model versions",
            summary.model_versions,
            f"{summary.model_versions_skipped} skipped (copied before)",
        ),
        ("aliases", summary.aliases, ""),
        ("warnings", len(summary.warnings), ""),
    )
    table = Table(title=f"{summary.source_uri} -> {summary.target_uri}")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("")
    for what, count, note in rows:
        table.add_row(what, str(count), note)
    return table
