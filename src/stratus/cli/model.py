"""``stratus model``: model assets, which are MLflow model versions (one registry, two shapes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratus.cli._common import DownloadPathOpt, SetOpt, download_report, parse_sets, workspace_command

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities import Model

app = typer.Typer(help="Models: Azure ML model YAML over the MLflow model registry.", no_args_is_help=True)
COLUMNS = ("name", "version", "type", "aliases", "is_archived", "path")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Model name")]
VersionOpt = Annotated[str, typer.Option("--version", "-v", help="Version (MLflow's integer)")]


@app.command("create")
@workspace_command(COLUMNS)
def create(
    ml: MLClient,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Azure ML model YAML")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Overrides the YAML's name")] = None,
    version: Annotated[str | None, typer.Option("--version", "-v", help="Overrides the YAML's")] = None,
    path: Annotated[str | None, typer.Option("--path", "-p", help="Local file/folder or URI")] = None,
    model_type: Annotated[str | None, typer.Option("--type", help="mlflow_model or custom_model")] = None,
    sets: SetOpt = None,
) -> Model:
    """Register a model version from a YAML file (or --name and --path); local files are uploaded."""
    from stratus.specs import load_model, model_from_fields

    overrides = {"name": name, "version": version, "path": path, "type": model_type}
    params_override = parse_sets(sets, file)  # --set without --file is a usage error
    if file is not None:
        model = load_model(file, params_override=params_override, **overrides)
    elif name and path:
        model = model_from_fields(name=name, version=version, path=path, type=model_type)
    else:
        raise typer.BadParameter("give --file, or --name and --path", param_hint="--file")
    return ml.models.create_or_update(model)


@app.command("list")
@workspace_command(COLUMNS)
def list_(
    ml: MLClient,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Every version of this model")] = None,
    include_archived: Annotated[bool, typer.Option("--include-archived")] = False,
) -> list[Model]:
    """List the newest version of each model, or every version of one (--name)."""
    return list(ml.models.list(name, include_archived=include_archived))


@app.command("show")
@workspace_command(COLUMNS)
def show(
    ml: MLClient,
    name: NameOpt,
    version: Annotated[str | None, typer.Option("--version", "-v")] = None,
    label: Annotated[str | None, typer.Option("--label", "-l", help="latest, or an MLflow alias")] = None,
) -> Model:
    """Show a model version (by --version or --label)."""
    return ml.models.get(name, version=version, label=label)


@app.command("download")
@workspace_command(("name", "version", "download_path"))
def download(
    ml: MLClient, name: NameOpt, version: VersionOpt, download_path: DownloadPathOpt = Path()
) -> dict[str, Any]:
    """Download a model version's files into <download-path>/<name>/."""
    target = ml.models.download(name, version, download_path=download_path)
    return download_report(target, name=name, version=version)


@app.command("archive")
@workspace_command(COLUMNS)
def archive(ml: MLClient, name: NameOpt, version: VersionOpt) -> Model:
    """Archive a version: hidden from lists and from label=latest, still loadable by number."""
    return ml.models.archive(name, version)


@app.command("restore")
@workspace_command(COLUMNS)
def restore(ml: MLClient, name: NameOpt, version: VersionOpt) -> Model:
    """Restore an archived version."""
    return ml.models.restore(name, version)
