"""``stratus model``: model assets, which are MLflow model versions (one registry, two shapes)."""

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
from stratus.specs import load_model, model_from_fields

app = typer.Typer(help="Models: Azure ML model YAML over the MLflow model registry.", no_args_is_help=True)
COLUMNS = ("name", "version", "type", "aliases", "is_archived", "path")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Model name")]
VersionOpt = Annotated[str, typer.Option("--version", "-v", help="Version (MLflow's integer)")]


@app.command("create")
@handle_errors
def create(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Azure ML model YAML")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Overrides the YAML's name")] = None,
    version: Annotated[str | None, typer.Option("--version", "-v", help="Overrides the YAML's")] = None,
    path: Annotated[str | None, typer.Option("--path", "-p", help="Local file/folder or URI")] = None,
    model_type: Annotated[str | None, typer.Option("--type", help="mlflow_model or custom_model")] = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Register a model version from a YAML file (or --name and --path); local files are uploaded."""
    overrides = {"name": name, "version": version, "path": path, "type": model_type}
    if file is not None:
        model = load_model(file, **overrides)
    elif name and path:
        model = model_from_fields(name=name, version=version, path=path, type=model_type)
    else:
        raise typer.BadParameter("give --file, or --name and --path", param_hint="--file")
    emit(
        client(workspace_name, url, resource_group, subscription).models.create_or_update(model),
        output,
        COLUMNS,
    )


@app.command("list")
@handle_errors
def list_(
    name: Annotated[str | None, typer.Option("--name", "-n", help="Every version of this model")] = None,
    include_archived: Annotated[bool, typer.Option("--include-archived")] = False,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List the newest version of each model, or every version of one (--name)."""
    ml = client(workspace_name, url, resource_group, subscription)
    emit(list(ml.models.list(name, include_archived=include_archived)), output, COLUMNS)


@app.command("show")
@handle_errors
def show(
    name: NameOpt,
    version: Annotated[str | None, typer.Option("--version", "-v")] = None,
    label: Annotated[str | None, typer.Option("--label", "-l", help="latest, or an MLflow alias")] = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Show a model version (by --version or --label)."""
    ml = client(workspace_name, url, resource_group, subscription)
    emit(ml.models.get(name, version=version, label=label), output, COLUMNS)


@app.command("download")
@handle_errors
def download(
    name: NameOpt,
    version: VersionOpt,
    download_path: DownloadPathOpt = Path(),
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Download a model version's files into <download-path>/<name>/."""
    ml = client(workspace_name, url, resource_group, subscription)
    target = ml.models.download(name, version, download_path=download_path)
    files = files_under(target)
    emit(
        {"name": name, "version": version, "download_path": str(target), "files": files},
        output,
        ("name", "version", "download_path"),
    )


@app.command("archive")
@handle_errors
def archive(
    name: NameOpt,
    version: VersionOpt,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Archive a version: hidden from lists and from label=latest, still loadable by number."""
    emit(
        client(workspace_name, url, resource_group, subscription).models.archive(name, version),
        output,
        COLUMNS,
    )


@app.command("restore")
@handle_errors
def restore(
    name: NameOpt,
    version: VersionOpt,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Restore an archived version."""
    emit(
        client(workspace_name, url, resource_group, subscription).models.restore(name, version),
        output,
        COLUMNS,
    )
